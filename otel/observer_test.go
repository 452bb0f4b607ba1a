package otel_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	hopotel "github.com/clusterhop/clusterhop/otel"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

// collect returns the metrics the reader holds, by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, hopotel.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// sums returns a counter's values by the attributes named by keys,
// formatted "v1|v2".
func sums(t *testing.T, m metricdata.Metrics, keys ...attribute.Key) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out[attrs(p.Attributes, keys)] += p.Value
		}
	default:
		t.Fatalf("%s: not an int64 sum: %T", m.Name, m.Data)
	}
	return out
}

func attrs(set attribute.Set, keys []attribute.Key) string {
	s := ""
	for i, k := range keys {
		v, _ := set.Value(k)
		if i > 0 {
			s += "|"
		}
		s += v.String()
	}
	return s
}

func newObserver(t *testing.T, extra ...attribute.KeyValue) (redirect.Observer, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	obs, err := hopotel.NewObserver(hopotel.Config{MeterProvider: mp, Attributes: extra})
	require.NoError(t, err)
	return obs, reader
}

func TestObserverRecordsEveryEvent(t *testing.T) {
	obs, reader := newObserver(t, attribute.String("cluster", "main"))
	a, b := "10.0.0.1:6379", "10.0.0.2:6379"
	obs.Redirect(redirect.RedirectEvent{Kind: classify.KindMoved, Command: "get", Slot: 1, From: a, To: b})
	obs.Redirect(redirect.RedirectEvent{Kind: classify.KindMoved, Command: "set", Slot: 2, From: a, To: b})
	obs.Redirect(redirect.RedirectEvent{Kind: classify.KindAsk, Command: "get", Slot: 3, From: b, To: a})
	obs.Retry(redirect.RetryEvent{Kind: classify.KindTryAgain, Command: "mget", Addr: a, Attempt: 1, Delay: 3 * time.Millisecond})
	obs.Retry(redirect.RetryEvent{Kind: classify.KindClusterDown, Command: "set", Addr: b, Attempt: 1, Delay: 300 * time.Millisecond})
	obs.Refresh(slotmap.RefreshEvent{Reason: slotmap.ReasonInitial, Addr: a, Duration: 2 * time.Millisecond, Changed: true})
	obs.Refresh(slotmap.RefreshEvent{Reason: slotmap.ReasonMoved, Addr: a, Duration: time.Millisecond})
	obs.Refresh(slotmap.RefreshEvent{Reason: slotmap.ReasonMoved, Addr: b, Duration: time.Millisecond, Discarded: true})
	obs.Refresh(slotmap.RefreshEvent{Reason: slotmap.ReasonConnError, Addr: b, Duration: time.Second, Err: errors.New("refused")})
	obs.GiveUp(redirect.GiveUpEvent{Kind: classify.KindClusterDown, Command: "set", Addr: b,
		Err: fmt.Errorf("%w: %w", retry.ErrRetryBudget, classify.Parse("CLUSTERDOWN The cluster is down"))})
	obs.GiveUp(redirect.GiveUpEvent{Kind: classify.KindTimeout, Command: "incr", Addr: a, Err: fmt.Errorf("%w: i/o timeout", retry.ErrInDoubt)})
	obs.GiveUp(redirect.GiveUpEvent{Kind: classify.KindConnection, Command: "get", Addr: a, Err: errors.New("something else")})
	obs.GiveUp(redirect.GiveUpEvent{Kind: classify.KindMoved, Command: "get", Addr: a, Err: fmt.Errorf("%w: MOVED 1 10.9.9.9:1", redirect.ErrAddrNotAllowed)})
	obs.Breaker(redirect.BreakerEvent{Addr: a, Open: true})
	obs.Breaker(redirect.BreakerEvent{Addr: b, Open: true})
	obs.Breaker(redirect.BreakerEvent{Addr: a})

	m := collect(t, reader)
	assert.Equal(t, map[string]int64{"MOVED|" + a: 2, "ASK|" + b: 1},
		sums(t, m["clusterhop.redirects"], hopotel.KeyKind, hopotel.KeyNode))
	assert.Equal(t, map[string]int64{"TRYAGAIN|" + a: 1, "CLUSTERDOWN|" + b: 1},
		sums(t, m["clusterhop.retries"], hopotel.KeyKind, hopotel.KeyNode))
	assert.Equal(t, map[string]int64{"initial|changed": 1, "moved|unchanged": 1, "moved|discarded": 1, "connection error|error": 1},
		sums(t, m["clusterhop.refreshes"], hopotel.KeyRefreshReason, hopotel.KeyOutcome))
	assert.Equal(t, map[string]int64{
		"CLUSTERDOWN|" + b + "|retry_budget": 1,
		"timeout|" + a + "|in_doubt":         1,
		"connection|" + a + "|other":         1,
		"MOVED|" + a + "|addr_not_allowed":   1,
	}, sums(t, m["clusterhop.give_ups"], hopotel.KeyKind, hopotel.KeyNode, hopotel.KeyGiveUpReason))
	assert.Equal(t, map[string]int64{a: 0, b: 1}, sums(t, m["clusterhop.breaker.open"], hopotel.KeyNode), "one node still ejected")
	assert.Equal(t, map[string]int64{"main": 3}, sums(t, m["clusterhop.redirects"], "cluster"), "the configured attributes on every point")

	delay, ok := m["clusterhop.retry.delay"].Data.(metricdata.Histogram[float64])
	require.True(t, ok)
	assert.Equal(t, "s", m["clusterhop.retry.delay"].Unit)
	byKind := map[string]metricdata.HistogramDataPoint[float64]{}
	for _, p := range delay.DataPoints {
		byKind[attrs(p.Attributes, []attribute.Key{hopotel.KeyKind})] = p
	}
	require.Len(t, byKind, 2)
	assert.Equal(t, uint64(1), byKind["TRYAGAIN"].Count)
	assert.InDelta(t, 0.003, byKind["TRYAGAIN"].Sum, 1e-9)
	assert.InDelta(t, 0.3, byKind["CLUSTERDOWN"].Sum, 1e-9)
	assert.Equal(t, []uint64{0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, byKind["TRYAGAIN"].BucketCounts, "3ms falls in (2.5ms, 5ms]")

	dur, ok := m["clusterhop.refresh.duration"].Data.(metricdata.Histogram[float64])
	require.True(t, ok)
	var n uint64
	for _, p := range dur.DataPoints {
		n += p.Count
	}
	assert.Equal(t, uint64(4), n)
}

// On a Client, a migrated slot counts as a MOVED from its old owner and a
// TRYAGAIN as a retry on the node that answered it.
func TestObserverOnClient(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	obs, reader := newObserver(t)
	cl, err := redirect.NewClient(redirect.Options{
		Seeds:    []string{c.Primary(0)},
		Observer: obs,
		Policy:   retry.Policy{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Close()) })
	ctx := t.Context()
	key := "{user}:1"
	slot := slotmap.Slot(key)
	from := c.SlotOwner(slot)
	require.NoError(t, cl.Set(ctx, key, "v", 0).Err())
	to := c.Primary((c.ShardOf(from) + 1) % 3)
	require.NoError(t, c.MigrateSlot(slot, to))
	require.NoError(t, c.InjectError(to, clustertest.FaultSpec{Reply: "TRYAGAIN Multiple keys request during rehashing of slot", Count: 1}))
	require.NoError(t, cl.Get(ctx, key).Err())

	m := collect(t, reader)
	assert.Equal(t, map[string]int64{"MOVED|" + from: 1}, sums(t, m["clusterhop.redirects"], hopotel.KeyKind, hopotel.KeyNode))
	assert.Equal(t, map[string]int64{"TRYAGAIN|" + to: 1}, sums(t, m["clusterhop.retries"], hopotel.KeyKind, hopotel.KeyNode))
	assert.GreaterOrEqual(t, sums(t, m["clusterhop.refreshes"], hopotel.KeyRefreshReason)["initial"], int64(1))
}
