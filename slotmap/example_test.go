package slotmap_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/slotmap"
	"github.com/redis/go-redis/v9"
)

func ExampleSlot() {
	fmt.Println(slotmap.Slot("foo"))
	fmt.Println(slotmap.Slot("{user1000}.following") == slotmap.Slot("{user1000}.followers"))
	// Output:
	// 12182
	// true
}

// exampleShards is a two-shard CLUSTER SHARDS result, as go-redis decodes it.
var exampleShards = []redis.ClusterShard{
	{
		Slots: []redis.SlotRange{{Start: 0, End: 8191}},
		Nodes: []redis.Node{
			{ID: "e1", Endpoint: "10.0.0.1", Port: 6379, Role: "master", Health: "online"},
			{ID: "e2", Endpoint: "10.0.0.2", Port: 6379, Role: "replica", Health: "online"},
		},
	},
	{
		Slots: []redis.SlotRange{{Start: 8192, End: 16383}},
		Nodes: []redis.Node{
			{ID: "f1", Endpoint: "?", Port: 6380, Role: "master", Health: "online"},
			{ID: "f2", Endpoint: "10.0.0.4", Port: 6379, Role: "replica", Health: "loading"},
		},
	},
}

func ExampleParseShards() {
	top, err := slotmap.ParseShards(exampleShards, "10.0.0.1:6379", false)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range top.Shards() {
		fmt.Println(s.Ranges, s.Primary.Addr, len(s.Replicas), "readable replica(s)")
	}
	addr, _ := top.PrimaryAddr(slotmap.Slot("foo"))
	fmt.Println("foo:", addr)
	// Output:
	// [0-8191] 10.0.0.1:6379 1 readable replica(s)
	// [8192-16383] 10.0.0.1:6380 0 readable replica(s)
	// foo: 10.0.0.1:6380
}

func ExampleMap() {
	m, err := slotmap.NewMap(slotmap.Config{
		Seeds: []string{"10.0.0.1:6379"},
		Fetch: func(ctx context.Context, addr string) (*slotmap.Topology, error) {
			// Usually: slotmap.Fetch(ctx, clientOf(addr), addr, false).
			return slotmap.ParseShards(exampleShards, addr, false)
		},
		Observer: func(ev slotmap.RefreshEvent) {
			fmt.Println("refresh:", ev.Reason, "from", ev.Addr, "changed:", ev.Changed)
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	_, err = m.Load().Shard(0)
	fmt.Println(classify.KindOf(err), errors.As(err, new(*slotmap.UncoveredError)))

	if err := m.Refresh(context.Background(), slotmap.ReasonInitial); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Load().PrimaryAddr(100))

	// MOVED 100 10.0.0.9:6379: visible at once, before any refresh.
	m.Patch(100, "10.0.0.9:6379")
	fmt.Println(m.Load().PrimaryAddr(100))
	// Output:
	// slot not covered true
	// refresh: initial from 10.0.0.1:6379 changed: true
	// 10.0.0.1:6379 <nil>
	// 10.0.0.9:6379 <nil>
}
