package redirect_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
)

// A Client routes each command to the node serving its slot and splits
// multi-key commands by slot.
func ExampleNewClient() {
	c, err := clustertest.Start(clustertest.Config{Shards: 3})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()

	cl, err := redirect.NewClient(redirect.Options{Seeds: []string{c.Primary(0)}})
	if err != nil {
		panic(err)
	}
	defer cl.Close()

	_ = cl.Set(ctx, "user:1000", "ada", 0).Err()
	name, _ := cl.Get(ctx, "user:1000").Result()
	_ = cl.MSet(ctx, "a", "1", "b", "2", "c", "3").Err() // three slots, one call
	vals, _ := cl.MGet(ctx, "a", "b", "c").Result()
	fmt.Println(name, vals)
	// Output: ada [1 2 3]
}

// Attach makes a plain go-redis client, pointed at any node, follow the
// cluster.
func ExampleAttach() {
	c, err := clustertest.Start(clustertest.Config{Shards: 3})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()

	// MaxRetries -1: go-redis must not re-send a command whose reply was
	// lost; the hook decides what may be retried.
	rdb := redis.NewClient(&redis.Options{Addr: c.Primary(0), MaxRetries: -1})
	defer rdb.Close()
	hook, err := redirect.Attach(rdb, redirect.Options{})
	if err != nil {
		panic(err)
	}
	defer hook.Close()

	for _, k := range []string{"a", "b", "c"} { // slots on three nodes
		_ = rdb.Incr(ctx, k).Err()
	}
	n, _ := rdb.Get(ctx, "c").Int()
	fmt.Println(n)
	// Output: 1
}

// The policy is plain data: in code, JSON or URL parameters.
func ExampleOptions_policy() {
	p, err := retry.ParseURL("redis://127.0.0.1:7000?max_redirects=8&in_doubt=idempotent")
	if err != nil {
		panic(err)
	}
	cl, err := redirect.NewClient(redirect.Options{Seeds: []string{"127.0.0.1:7000"}, Policy: p})
	if err != nil {
		panic(err)
	}
	defer cl.Close() // NewClient dials nothing: the topology loads on first use
	fmt.Println(p.MaxRedirects, p.InDoubt)

	_, err = retry.ParseURL("redis://127.0.0.1:7000?max_redirect=8")
	fmt.Println(err != nil)
	// Output:
	// 8 idempotent
	// true
}

// Errors are typed: a command whose reply was lost says it may have run,
// and is not re-sent.
func ExampleClient_errors() {
	c, err := clustertest.Start(clustertest.Config{Shards: 1})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()
	cl, err := redirect.NewClient(redirect.Options{Seeds: []string{c.Primary(0)}})
	if err != nil {
		panic(err)
	}
	defer cl.Close()

	_ = cl.Set(ctx, "n", 1, 0).Err()
	_ = c.DropAfterRead(c.Primary(0), 1, clustertest.ExecuteThenDrop)
	err = cl.Incr(ctx, "n").Err()
	fmt.Println(classify.InDoubt(err), errors.Is(err, retry.ErrInDoubt))

	_ = cl.LPush(ctx, "list", "x").Err()
	err = cl.Incr(ctx, "list").Err()
	fmt.Println(classify.KindOf(err), err)
	// Output:
	// true true
	// WRONGTYPE WRONGTYPE Operation against a key holding the wrong kind of value
}

// On go-redis's own ClusterClient, OnNewNode hooks every node's client: it
// reports what the nodes return and stops ClusterClient from re-sending a
// command that may have run.
func ExampleOnNewNode() {
	c, err := clustertest.Start(clustertest.Config{Shards: 2})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()

	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Primary(0)}, MaxRetries: -1})
	defer rdb.Close()
	moved := 0
	rdb.OnNewNode(redirect.OnNewNode(redirect.NodeOptions{Report: func(e redirect.NodeEvent) {
		if e.Kind == classify.KindMoved {
			moved++
		}
	}}))

	_ = rdb.Set(ctx, "k", "v", 0).Err()
	slot := 7629 // CLUSTER KEYSLOT k
	_ = c.MigrateSlot(slot, c.Primary(1-c.ShardOf(c.SlotOwner(slot))))
	v, _ := rdb.Get(ctx, "k").Result()
	fmt.Println(v, moved)
	// Output: v 1
}
