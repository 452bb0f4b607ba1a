package redirect_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// nineKeys writes three keys on each of three shards and returns them
// sorted.
func nineKeys(t *testing.T, c *clustertest.Cluster, cl *redirect.Client) []string {
	t.Helper()
	var keys []string
	for shard := range 3 {
		base := keyOn(t, c, shard, "scan")
		for _, suffix := range []string{":a", ":b", ":c"} {
			k := base + suffix
			require.NoError(t, cl.Set(t.Context(), k, shard, 0).Err())
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func TestScanAllCoversEveryPrimary(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	cl := newClient(t, c, redirect.Options{})
	want := nineKeys(t, c, cl)
	require.NoError(t, cl.Set(t.Context(), "other", 1, 0).Err())

	var got []string
	for k, err := range cl.ScanAll(t.Context(), "{scan*", 2) {
		require.NoError(t, err)
		got = append(got, k)
	}
	slices.Sort(got)
	assert.Equal(t, want, got, "every key of every shard, once; replicas not scanned twice")

	got = got[:0]
	for k, err := range cl.ScanAll(t.Context(), "", 0) {
		require.NoError(t, err)
		got = append(got, k)
	}
	assert.Len(t, got, 10, "an empty match is every key")

	n := 0
	for range cl.ScanAll(t.Context(), "", 1) {
		n++
		if n == 4 {
			break
		}
	}
	assert.Equal(t, 4, n, "break stops the iteration")
}

// Plain Scan goes to one node: the reason ScanAll exists.
func TestScanIsOneNode(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{})
	all := nineKeys(t, c, cl)
	keys, _, err := cl.Scan(t.Context(), 0, "", 100).Result()
	require.NoError(t, err)
	require.Len(t, keys, 3, "one primary's three keys")
	owner := c.SlotOwner(slotmap.Slot(keys[0]))
	for _, k := range keys {
		assert.Contains(t, all, k)
		assert.Equal(t, owner, c.SlotOwner(slotmap.Slot(k)))
	}
}

func TestScanAllError(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl, err := redirect.NewClient(redirect.Options{Seeds: []string{c.Primary(0)}})
	require.NoError(t, err)
	require.NoError(t, cl.Ping(t.Context()).Err())
	require.NoError(t, cl.Close())
	var errs []error
	for k, err := range cl.ScanAll(t.Context(), "", 0) {
		assert.Empty(t, k)
		errs = append(errs, err)
	}
	require.Len(t, errs, 1, "an error ends the iteration")
	assert.ErrorIs(t, errs[0], redirect.ErrClosed)
}

// collect records the address of each node client fn is called with.
type collect struct {
	mu    sync.Mutex
	addrs []string
}

func (c *collect) fn(_ context.Context, node *redis.Client) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addrs = append(c.addrs, node.Options().Addr)
	return nil
}

func (c *collect) sorted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(slices.Values(c.addrs))
}

func TestForEachNode(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	cl := newClient(t, c, redirect.Options{ReadFromReplicas: true})
	ctx := t.Context()
	var primaries, replicas []string
	for i := range 3 {
		primaries = append(primaries, c.Primary(i))
		replicas = append(replicas, c.Replicas(i)...)
	}
	slices.Sort(primaries)
	slices.Sort(replicas)

	var m, s, all collect
	require.NoError(t, cl.ForEachMaster(ctx, m.fn))
	require.NoError(t, cl.ForEachSlave(ctx, s.fn))
	require.NoError(t, cl.ForEachShard(ctx, all.fn))
	assert.Equal(t, primaries, m.sorted())
	assert.Equal(t, replicas, s.sorted())
	assert.Equal(t, slices.Sorted(slices.Values(append(primaries, replicas...))), all.sorted())

	// The node clients run commands on their node: the keys of the nine
	// add up, primaries and replicas alike.
	nineKeys(t, c, cl)
	for _, each := range []func(context.Context, func(context.Context, *redis.Client) error) error{cl.ForEachMaster, cl.ForEachSlave} {
		var mu sync.Mutex
		var total int64
		require.NoError(t, each(ctx, func(ctx context.Context, node *redis.Client) error {
			n, err := node.DBSize(ctx).Result()
			mu.Lock()
			total += n
			mu.Unlock()
			return err
		}))
		assert.Equal(t, int64(9), total)
	}
}

func TestForEachMasterWaitsAndReturnsAnError(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{})
	boom := errors.New("boom")
	var mu sync.Mutex
	finished := 0
	err := cl.ForEachMaster(t.Context(), func(_ context.Context, node *redis.Client) error {
		if node.Options().Addr == c.Primary(1) {
			mu.Lock()
			finished++
			mu.Unlock()
			return boom
		}
		time.Sleep(10 * time.Millisecond) // the others finish after the error
		mu.Lock()
		finished++
		mu.Unlock()
		return nil
	})
	assert.ErrorIs(t, err, boom)
	mu.Lock()
	assert.Equal(t, 3, finished, "every node is called, and every call has ended when it returns")
	mu.Unlock()

	require.NoError(t, cl.Close())
	assert.ErrorIs(t, cl.ForEachMaster(t.Context(), func(context.Context, *redis.Client) error { return nil }), redirect.ErrClosed)
}

func TestMasterAndSlaveForKey(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 2})
	cl := newClient(t, c, redirect.Options{ReadFromReplicas: true})
	ctx := t.Context()
	key := keyOn(t, c, 2, "user")
	require.NoError(t, cl.Set(ctx, key, "v", 0).Err())

	m, err := cl.MasterForKey(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, c.Primary(2), m.Options().Addr)
	assert.Equal(t, "v", m.Get(ctx, key).Val(), "the node client runs commands on that node")

	seen := map[string]bool{}
	for range 50 {
		r, err := cl.SlaveForKey(ctx, key)
		require.NoError(t, err)
		require.Contains(t, c.Replicas(2), r.Options().Addr)
		seen[r.Options().Addr] = true
		assert.Equal(t, "v", r.Get(ctx, key).Val(), "a replica reads with READONLY")
	}
	assert.Len(t, seen, 2, "a random online replica each time")
}

func TestSlaveForKeyWithoutReplicas(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{})
	key := keyOn(t, c, 1, "user")
	r, err := cl.SlaveForKey(t.Context(), key)
	require.NoError(t, err)
	assert.Equal(t, c.Primary(1), r.Options().Addr, "no replica: the primary")
}

func TestForKeyErrors(t *testing.T) {
	cl, err := redirect.NewClient(redirect.Options{Seeds: []string{"127.0.0.1:1"}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Close()) })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = cl.MasterForKey(ctx, "k")
	assert.ErrorContains(t, err, "redirect: loading the cluster topology")
	_, err = cl.SlaveForKey(ctx, "k")
	assert.ErrorContains(t, err, "redirect: loading the cluster topology")
	assert.Error(t, cl.ForEachShard(ctx, func(context.Context, *redis.Client) error { return nil }))
}

func TestMasterForKeyUncoveredSlot(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{RefreshInterval: time.Millisecond})
	require.NoError(t, cl.Ping(t.Context()).Err())
	key := keyOn(t, c, 0, "lost")
	require.NoError(t, c.DelSlots(slotmap.Slot(key), slotmap.Slot(key)))
	require.NoError(t, cl.Refresh(t.Context()))
	_, err := cl.MasterForKey(t.Context(), key)
	assert.Equal(t, classify.KindSlotNotCovered, classify.KindOf(err))
}

func TestReloadState(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	var rec recorder
	cl := newClient(t, c, redirect.Options{Observer: rec.observer(), RefreshInterval: time.Millisecond})
	require.NoError(t, cl.Ping(t.Context()).Err())
	before := c.Counters().TopologyFetches
	cl.ReloadState(t.Context())
	require.Eventually(t, func() bool { return c.Counters().TopologyFetches > before }, 5*time.Second, 5*time.Millisecond,
		"ReloadState fetches the topology, without waiting for it")
}
