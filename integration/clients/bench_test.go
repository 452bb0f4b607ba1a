package clients_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// The hook's overhead on a plain client against one real node, on keys that
// node serves (no redirection): run with and without the hook, side by
// side, e.g.
//
//	CLUSTERHOP_INTEGRATION=1 go test -run '^$' -bench 'Node' -benchmem -count 6 ./integration/clients/
//
// routed first makes the hook learn the topology (a MOVED from a key of
// another node), so that every command then pays for its slot lookup: the
// hook's steady state.
func benchNode(b *testing.B, withHook, routed, parallel bool) {
	c := shared.Get(b)
	addr := c.Primaries()[0]
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 80})
	defer rdb.Close()
	if withHook {
		h, err := redirect.Attach(rdb, redirect.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
	}
	ctx := context.Background()
	if routed {
		for i := 0; ; i++ {
			k := "elsewhere:" + strconv.Itoa(i)
			if c.Owner(slotmap.Slot(k)) != addr {
				if err := rdb.Get(ctx, k).Err(); err != nil && err != redis.Nil { //nolint:errorlint // go-redis returns redis.Nil unwrapped
					b.Fatal(err)
				}
				break
			}
		}
	}
	var keys []string
	for i := 0; len(keys) < 64; i++ {
		k := "node:" + strconv.Itoa(i)
		if c.Owner(slotmap.Slot(k)) == addr {
			keys = append(keys, k)
			if err := rdb.Set(ctx, k, "v", 0).Err(); err != nil {
				b.Fatal(err)
			}
		}
	}
	op := func(i int) error {
		k := keys[i%len(keys)]
		if i%2 == 0 {
			return rdb.Get(ctx, k).Err()
		}
		return rdb.Set(ctx, k, "v", 0).Err()
	}
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for i := 0; i < b.N; i++ {
			if err := op(i); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism(32) // 64 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if err := op(i); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkNode(b *testing.B) {
	for _, bc := range []struct {
		name                   string
		hook, routed, parallel bool
	}{
		{"plain", false, false, false},
		{"hook", true, false, false},
		{"hook-routing", true, true, false},
		{"plain-64", false, false, true},
		{"hook-64", true, false, true},
		{"hook-routing-64", true, true, true},
	} {
		b.Run(bc.name, func(b *testing.B) { benchNode(b, bc.hook, bc.routed, bc.parallel) })
	}
}

// BenchmarkClusterClients compares redirect.Client with go-redis's
// ClusterClient on GET/SET across every slot range, 64 goroutines, like
// with like: the keys are written by a third client, each client warms up
// with the same pass over every key (connections, topology), and both run
// the same key sequence. go test runs each sub-benchmark -count times in a
// row, so machine noise can still favour one; clusterhop bench interleaves
// its rounds for side-by-side figures. Like every real-cluster benchmark it
// runs only with CLUSTERHOP_INTEGRATION=1:
//
//	CLUSTERHOP_INTEGRATION=1 go test -run '^$' -bench ClusterClients -benchmem -count 6 ./integration/clients/
func BenchmarkClusterClients(b *testing.B) {
	c := shared.Get(b)
	ctx := context.Background()
	seed := []string{c.Primaries()[0]}
	hop, err := redirect.NewClient(redirect.Options{Seeds: seed, Template: &redis.Options{PoolSize: 80}})
	if err != nil {
		b.Fatal(err)
	}
	defer hop.Close()
	gr := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seed, PoolSize: 80})
	defer gr.Close()
	filler := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seed})
	defer filler.Close()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "cc:" + strconv.Itoa(i)
		if err := filler.Set(ctx, keys[i], "v", 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	clients := []struct {
		name string
		c    redis.UniversalClient
	}{{"clusterhop", hop}, {"go-redis", gr}}
	for _, cl := range clients {
		for _, k := range keys {
			if err := cl.c.Get(ctx, k).Err(); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, cl := range clients {
		b.Run(cl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					k := keys[(i*7919)%len(keys)]
					var err error
					if i%2 == 0 {
						err = cl.c.Get(ctx, k).Err()
					} else {
						err = cl.c.Set(ctx, k, "v", 0).Err()
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
