package clustertest_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/clustertest"
)

// BenchmarkGet measures a GET round trip through a node's rules, the cost
// every command of a test against the fake pays.
func BenchmarkGet(b *testing.B) {
	c := clustertest.New(b, clustertest.Config{Shards: 3})
	ctx := context.Background()
	key := "{b}bench"
	cl := redis.NewClient(&redis.Options{Addr: c.SlotOwner(3300), DisableIndentity: true})
	defer cl.Close()
	if err := cl.Set(ctx, key, "v", 0).Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := cl.Get(ctx, key).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMoved measures a GET answered with MOVED.
func BenchmarkMoved(b *testing.B) {
	c := clustertest.New(b, clustertest.Config{Shards: 3})
	ctx := context.Background()
	cl := redis.NewClient(&redis.Options{Addr: c.Primary(1), DisableIndentity: true, MaxRetries: -1})
	defer cl.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := cl.Get(ctx, "{b}bench").Err(); err == nil {
			b.Fatal("want MOVED")
		}
	}
}
