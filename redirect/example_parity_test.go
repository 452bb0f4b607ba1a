package redirect_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
)

// One connection string configures the seeds, the node clients and the
// retry policy.
func ExampleParseURL() {
	o, err := redirect.ParseURL("rediss://app:secret@10.0.0.1:7000?addr=10.0.0.2:7001" +
		"&dial_timeout=2s&pool_size=20&read_only=true&max_retries=20&in_doubt=idempotent&timeout=5s")
	if err != nil {
		panic(err)
	}
	fmt.Println(o.Seeds, o.ReadFromReplicas)
	fmt.Println(o.Template.Username, o.Template.DialTimeout, o.Template.PoolSize, o.Template.TLSConfig != nil)
	fmt.Println(o.Policy.MaxRetries, o.Policy.InDoubt, o.Policy.Timeout)

	_, err = redirect.ParseURL("redis://10.0.0.1:7000?min_retry_backoff=8ms")
	fmt.Println(err)
	// Output:
	// [10.0.0.1:7000 10.0.0.2:7001] true
	// app 2s 20 true
	// 20 idempotent 5s
	// redirect: invalid min_retry_backoff=8ms: go-redis's wait between a node client's own re-sends, which a Client never makes; min_backoff sets the retry policy's
}

// ScanAll goes through every primary; Scan sees one.
func ExampleClient_ScanAll() {
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
	_ = cl.MSet(ctx, "user:1", "ada", "user:2", "alan", "user:3", "grace", "order:1", "tea").Err()

	var keys []string
	for k, err := range cl.ScanAll(ctx, "user:*", 100) {
		if err != nil {
			panic(err)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Println(keys)
	// Output: [user:1 user:2 user:3]
}

// A ClusterClient's options convert in one line; the node clients are
// reached as with ClusterClient.
func ExampleNewFromClusterOptions() {
	c, err := clustertest.Start(clustertest.Config{Shards: 3})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()

	opts := &redis.ClusterOptions{Addrs: c.Addrs(), PoolSize: 10}
	cl, err := redirect.NewFromClusterOptions(opts, retry.Policy{})
	if err != nil {
		panic(err)
	}
	defer cl.Close()

	_ = cl.Set(ctx, "user:1", "ada", 0).Err()
	var total atomic.Int64 // fn runs on every primary at once
	_ = cl.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		n, err := node.DBSize(ctx).Result()
		total.Add(n)
		return err
	})
	fmt.Println("keys:", total.Load())

	_, err = redirect.NewFromClusterOptions(&redis.ClusterOptions{Addrs: c.Addrs(), NewClient: redis.NewClient}, retry.Policy{})
	fmt.Println(err)
	// Output:
	// keys: 1
	// redirect: ClusterOptions fields a Client cannot honour: NewClient (node clients are made from Options.Template; Options.OnNewNode is called with each)
}
