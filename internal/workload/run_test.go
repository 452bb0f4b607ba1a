package workload_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/internal/workload"
	"github.com/clusterhop/clusterhop/slotmap"
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

// MixSetIncrGet runs single SETs, INCRs and GETs only; a pinned worker
// keeps to its tag; the summary counts each worker's errors.
func TestMixPinnedAndErrorsPerWorker(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cl.Close() })
	ctx := context.Background()
	const prefix = "mix:"
	// A tag on shard 1, whose node refuses every SET: only the pinned
	// worker (id 3, after the 3 free ones) is sure to meet it each time.
	pin := -1
	for n := 0; pin < 0; n++ {
		if c.SlotOwner(slotmap.Slot(workload.TagKey(prefix, n))) == c.Primary(1) {
			pin = n
		}
	}
	require.NoError(t, c.InjectError(c.Primary(1), clustertest.FaultSpec{Reply: "ERR refused",
		Match: func(args []string) bool { return strings.EqualFold(args[0], "set") }}))
	var mu sync.Mutex
	ops := map[string]int{}
	var pinnedKeys []string
	r := workload.Start(ctx, cl, workload.Config{Workers: 3, Seed: 1, Ops: 300, Prefix: prefix,
		Mix: workload.MixSetIncrGet, Pinned: []int{pin},
		Observe: func(res workload.Result) {
			mu.Lock()
			defer mu.Unlock()
			ops[res.Op]++
			if strings.HasSuffix(res.Key, ":3") {
				pinnedKeys = append(pinnedKeys, res.Key)
			}
		}})
	sum := r.Wait()
	assert.Equal(t, int64(4*300), sum.Operations, "3 workers and the pinned one")
	assert.Equal(t, []string{"get", "incr", "set"}, slices.Sorted(maps.Keys(ops)))
	assert.Equal(t, int64(300), int64(len(pinnedKeys)))
	for _, k := range pinnedKeys {
		assert.True(t, strings.HasPrefix(k, workload.TagKey(prefix, pin)), k)
	}
	// The pinned worker's SETs all fail: about 40% of its 300 operations,
	// more than any free worker's share of shard 1.
	assert.Greater(t, sum.MaxWorkerErrors, sum.SurfacedErrors/4, "one worker had most of the errors")
	assert.GreaterOrEqual(t, sum.MaxWorkerErrors, int64(100))
	assert.Zero(t, sum.MaxWorkerInDoubt, "error replies are not in doubt")
}
