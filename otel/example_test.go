package otel_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/clusterhop/clusterhop/clustertest"
	hopotel "github.com/clusterhop/clusterhop/otel"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// redisotel instruments each node's client through Options.OnNewNode, as
// with go-redis's ClusterClient.OnNewNode: every command and every dial is
// traced and measured on the node it goes to. NewObserver adds what the
// engine does (redirects, retries, refreshes, give-ups).
func Example_redisotel() {
	c, err := clustertest.Start(clustertest.Config{Shards: 3})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := hopotel.NewObserver(hopotel.Config{MeterProvider: mp})
	if err != nil {
		panic(err)
	}

	cl, err := redirect.NewClient(redirect.Options{
		Seeds:    []string{c.Primary(0)},
		Observer: obs,
		OnNewNode: func(node *redis.Client) {
			if err := redisotel.InstrumentTracing(node, redisotel.WithTracerProvider(tp)); err != nil {
				panic(err)
			}
			if err := redisotel.InstrumentMetrics(node, redisotel.WithMeterProvider(mp)); err != nil {
				panic(err)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	ctx := context.Background()
	_ = cl.Set(ctx, "user:1", "ada", 0).Err()
	_ = cl.Get(ctx, "user:1").Err()

	// Each command's span comes from the client of the node serving its
	// slot.
	owner := c.SlotOwner(slotmap.Slot("user:1"))
	for _, s := range spans.Ended() {
		if s.Name() != "set" && s.Name() != "get" {
			continue // connection set-up and topology fetches are traced too
		}
		for _, kv := range s.Attributes() {
			if kv.Key == "server.port" {
				fmt.Printf("%s traced on the node of user:1: %t\n", s.Name(), strconv.FormatInt(kv.Value.AsInt64(), 10) == owner[strings.LastIndex(owner, ":")+1:])
			}
		}
	}

	// redisotel's pool metrics per node, clusterhop's engine metrics.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if strings.HasPrefix(m.Name, "clusterhop.") || m.Name == "db.client.connections.use_time" {
				names = append(names, m.Name)
			}
		}
	}
	slices.Sort(names)
	fmt.Println(strings.Join(names, "\n"))
	// Output:
	// set traced on the node of user:1: true
	// get traced on the node of user:1: true
	// clusterhop.refresh.duration
	// clusterhop.refreshes
	// db.client.connections.use_time
}
