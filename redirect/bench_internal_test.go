package redirect

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/slotmap"
)

// benchKey returns a key the fake cluster's shard serves.
func benchKey(b *testing.B, c *clustertest.Cluster, shard int) string {
	for i := 0; ; i++ {
		k := "bench" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		if c.SlotOwner(slotmap.Slot(k)) == c.Primary(shard) {
			return k
		}
	}
}

// benchClient returns a two-shard fake cluster, a Client of it and a key
// the given shard serves, set to "v".
func benchClient(b *testing.B, opts Options, shard int) (*clustertest.Cluster, *Client, string) {
	c := clustertest.New(b, clustertest.Config{Shards: 2})
	opts.Seeds = []string{c.Primary(0)}
	cl, err := NewClient(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cl.Close() })
	k := benchKey(b, c, shard)
	if err := cl.Set(context.Background(), k, "v", 0).Err(); err != nil {
		b.Fatal(err)
	}
	return c, cl, k
}

// BenchmarkGetDirect is the baseline of the redirect benchmarks: a GET
// that goes straight to its node through a Client.
func BenchmarkGetDirect(b *testing.B) {
	_, cl, k := benchClient(b, Options{}, 1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := cl.Get(ctx, k).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMovedRoundTrip measures a GET that meets one MOVED: the slot map
// is pointed at the wrong node before each GET (not timed), so each GET
// goes there, is redirected, patches the map and is re-sent.
func BenchmarkMovedRoundTrip(b *testing.B) {
	c, cl, k := benchClient(b, Options{RefreshInterval: 1 << 62}, 1)
	ctx := context.Background()
	slot, wrong := slotmap.Slot(k), c.Primary(0)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		cl.e.slots.Patch(slot, wrong)
		b.StartTimer()
		if err := cl.Get(ctx, k).Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := c.Counters().Redirects["MOVED"]; n < int64(b.N) {
		b.Fatalf("%d MOVED for %d GETs", n, b.N)
	}
}

// BenchmarkAskRoundTrip measures a GET of a key already migrated out of a
// migrating slot: the source answers ASK, and ASKING plus the GET go to the
// target in one round trip. ASK does not change the map, so every GET
// meets it.
func BenchmarkAskRoundTrip(b *testing.B) {
	c, cl, k := benchClient(b, Options{}, 0)
	ctx := context.Background()
	slot := slotmap.Slot(k)
	if err := c.BeginMigration(slot, c.Primary(1)); err != nil {
		b.Fatal(err)
	}
	if _, err := c.MigrateKeys(slot, 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := cl.Get(ctx, k).Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := c.Counters().Redirects["ASK"]; n < int64(b.N) {
		b.Fatalf("%d ASK for %d GETs", n, b.N)
	}
}

// BenchmarkHookOverhead measures what the hook adds to a command that needs
// no redirection: its ProcessHook around a next that does nothing, against
// next alone. "learned" has a topology loaded, so each command's slot is
// computed and looked up (the hook's steady state); "fresh" has none yet.
func BenchmarkHookOverhead(b *testing.B) {
	c := clustertest.New(b, clustertest.Config{Shards: 3})
	ctx := context.Background()
	next := func(context.Context, redis.Cmder) error { return nil }
	k := benchKey(b, c, 0)
	cmd := redis.NewStringCmd(ctx, "get", k)
	b.Run("none", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = next(ctx, cmd)
		}
	})
	for _, learned := range []bool{false, true} {
		name := "fresh"
		if learned {
			name = "learned"
		}
		b.Run(name, func(b *testing.B) {
			h, err := NewHook(Options{Seeds: []string{c.Primary(0)}})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			addr := c.Primary(0)
			h.e.hooked.Store(&addr)
			if learned {
				if err := h.e.slots.Refresh(ctx, slotmap.ReasonManual); err != nil {
					b.Fatal(err)
				}
			}
			process := h.ProcessHook(next)
			b.ReportAllocs()
			for b.Loop() {
				if err := process(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
