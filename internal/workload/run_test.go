package workload_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/internal/workload"
)

// A workload run against a cluster that keeps its data (the demo's
// --addr) writes only under its own prefix, sets a TTL on everything it
// writes, and deletes it all at the end: a re-run reports no false
// duplicate, and the cluster's other keys stay as they were.
func TestRunsKeepToTheirOwnKeys(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cl.Close() })
	ctx := context.Background()
	// Someone else's key, named as a workload without a prefix names its
	// first counter.
	other := workload.TagKey("", 0) + ":c:0"
	require.NoError(t, cl.Set(ctx, other, "41", 0).Err())

	run := func(prefix string) (*workload.Run, workload.Verdict) {
		t.Helper()
		r := workload.Start(ctx, cl, workload.Config{Workers: 2, Seed: 1, Ops: 200, Prefix: prefix, TTL: time.Hour})
		sum := r.Wait()
		require.Zero(t, sum.SurfacedErrors, "%v", sum.ErrorSamples)
		v, err := r.Verify(ctx, cl)
		require.NoError(t, err)
		return r, v
	}

	first := workload.UniquePrefix("test")
	r1, v := run(first)
	assert.Zero(t, v.Lost+v.Duplicated, "%v", v.Problems)
	// Every key written has a TTL, counters included.
	var keys atomic.Int64 // ForEachMaster visits the primaries at once
	require.NoError(t, cl.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		ks, err := n.Keys(ctx, "*").Result()
		if err != nil {
			return err
		}
		for _, k := range ks {
			if k == other {
				continue
			}
			keys.Add(1)
			ttl, err := n.PTTL(ctx, k).Result()
			if err != nil {
				return err
			}
			assert.Positive(t, ttl, "%s has no TTL", k)
		}
		return nil
	}))
	assert.Equal(t, int64(v.Checked), keys.Load(), "every key the run wrote, and only those")

	// The run ended without its clean-up: a second run on the same keys
	// meets its counters — the false duplicates a per-run prefix avoids.
	r2, v := run(first)
	assert.Positive(t, v.Duplicated, "a re-run on the same keys sees the first run's increments")

	r3, v := run(workload.UniquePrefix("test"))
	assert.Zero(t, v.Lost+v.Duplicated, "a re-run with its own prefix: %v", v.Problems)

	for _, r := range []*workload.Run{r1, r2, r3} {
		_, err := r.Cleanup(ctx, cl)
		require.NoError(t, err)
	}
	got, err := cl.Get(ctx, other).Result()
	require.NoError(t, err)
	assert.Equal(t, "41", got, "a key the workload does not own is untouched")
	n, err := cl.DBSize(ctx).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "the runs deleted every key they wrote")
}

func TestUniquePrefix(t *testing.T) {
	a, b := workload.UniquePrefix("demo"), workload.UniquePrefix("demo")
	assert.NotEqual(t, a, b)
	assert.True(t, strings.HasPrefix(a, "demo-"), a)
	assert.NotContains(t, a, "{", "the prefix goes inside a hash tag")
	assert.NotContains(t, a, "}")
}
