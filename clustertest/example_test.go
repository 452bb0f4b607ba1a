package clustertest_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/slotmap"
)

func Example() {
	c, err := clustertest.Start(clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()

	// A client of one node meets the cluster's rules: "foo" lives in
	// slot 12182, which the third shard serves.
	node := redis.NewClient(&redis.Options{Addr: c.Primary(0), DisableIndentity: true})
	defer node.Close()
	err = node.Set(ctx, "foo", "bar", 0).Err()
	fmt.Println(strings.Replace(err.Error(), c.Primary(2), "<shard 2>", 1))

	// A cluster client routes by itself, and follows the slot when it moves.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DisableIndentity: true})
	defer cc.Close()
	fmt.Println(cc.Set(ctx, "foo", "bar", 0).Err())
	if err := c.MigrateSlot(slotmap.Slot("foo"), c.Primary(0)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cc.Get(ctx, "foo").Val())
	fmt.Println("MOVED answered:", c.Counters().Redirects["MOVED"])
	// Output:
	// MOVED 12182 <shard 2>
	// <nil>
	// bar
	// MOVED answered: 2
}

func ExampleCluster_InjectError() {
	c, err := clustertest.Start(clustertest.Config{Shards: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()
	node := redis.NewClient(&redis.Options{Addr: c.Primary(0), DisableIndentity: true, MaxRetries: -1})
	defer node.Close()

	// The node answers as one still loading its data, twice.
	if err := c.InjectError(c.Primary(0), clustertest.FaultSpec{Reply: clustertest.ReplyLoading, Count: 2}); err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		fmt.Println(node.Ping(ctx).Err())
	}
	// Output:
	// LOADING Redis is loading the dataset in memory
	// LOADING Redis is loading the dataset in memory
	// <nil>
}
