package redirect_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

func TestAttachRefusesClientRetries(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // MaxRetries 0 means go-redis's 3
	defer rdb.Close()
	_, err := redirect.Attach(rdb, redirect.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "MaxRetries is 3")
}

func TestNewHookValidatesOptions(t *testing.T) {
	_, err := redirect.NewHook(redirect.Options{Seeds: []string{"no-port"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Options.Seeds[0]")

	_, err = redirect.NewHook(redirect.Options{Policy: retry.Policy{MaxRedirects: -1}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Options.Policy")
}

func TestHookReadsAndWritesEverySlotRange(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	var rec recorder
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Observer: rec.observer()})
	ctx := context.Background()

	for i := 0; i < 300; i++ {
		k := "key:" + strconv.Itoa(i)
		require.NoError(t, rdb.Set(ctx, k, i, 0).Err(), k)
	}
	for i := 0; i < 300; i++ {
		k := "key:" + strconv.Itoa(i)
		v, err := rdb.Get(ctx, k).Int()
		require.NoError(t, err, k)
		assert.Equal(t, i, v)
	}
	_, err := rdb.Get(ctx, "missing-key").Result()
	assert.True(t, errors.Is(err, redis.Nil), "a missing key stays redis.Nil: %v", err)
	assert.Equal(t, redis.Nil, err, "callers compare redis.Nil with ==")

	// The first MOVED loads the topology; from then on commands go straight
	// to their slot's owner: far fewer MOVEDs than the two thirds of 600
	// commands a plain client would meet.
	moved := c.Counters().Redirects["MOVED"]
	assert.Positive(t, moved)
	assert.Less(t, moved, int64(20), "the hook keeps following MOVED instead of routing")
	redirects, _, giveUps := rec.counts()
	assert.Equal(t, int(moved), redirects, "every MOVED was observed")
	assert.Zero(t, giveUps, "%+v", rec.giveUps)
}

func TestHookWithoutTopologyAddsNothing(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{})
	ctx := context.Background()
	k := keyOn(t, c, 0, "local")
	require.NoError(t, rdb.Set(ctx, k, "v", 0).Err())
	assert.Zero(t, c.Counters().TopologyFetches, "a node's own keys need no topology")
}

func TestHookPipelineMixingSlots(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	var rec recorder
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Observer: rec.observer()})
	ctx := context.Background()

	const n = 60
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < n; i++ {
			p.Set(ctx, "p:"+strconv.Itoa(i), i, 0)
			p.Incr(ctx, "ctr:"+strconv.Itoa(i))
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, cmds, 2*n)
	for i := 0; i < n; i++ {
		assert.Equal(t, "OK", cmds[2*i].(*redis.StatusCmd).Val())
		assert.Equal(t, int64(1), cmds[2*i+1].(*redis.IntCmd).Val(), "INCR ran exactly once")
	}
	redirects, _, _ := rec.counts()
	assert.Positive(t, redirects, "pipelined redirects are observed too")

	gets, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < n; i++ {
			p.Get(ctx, "p:"+strconv.Itoa(i))
		}
		p.Get(ctx, "missing")
		return nil
	})
	assert.Equal(t, redis.Nil, err, "as go-redis: the first command error, redis.Nil included")
	for i := 0; i < n; i++ {
		assert.Equal(t, strconv.Itoa(i), gets[i].(*redis.StringCmd).Val(), "results keep the caller's order")
	}
}

func TestHookTransactionOnAnotherNode(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{})
	ctx := context.Background()
	k := keyOn(t, c, 1, "tx")

	cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, k)
		p.Incr(ctx, k)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, int64(2), cmds[1].(*redis.IntCmd).Val())
	v, err := rdb.Get(ctx, k).Int()
	require.NoError(t, err)
	assert.Equal(t, 2, v, "the transaction ran once, on the right node")
}

func TestHookTransactionNotResentUnderWatch(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{})
	ctx := context.Background()
	local := keyOn(t, c, 0, "w")
	remote := keyOn(t, c, 1, "r")

	err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, remote, "x", 0)
			return nil
		})
		return err
	}, local)
	require.Error(t, err)
	assert.Equal(t, classify.KindExecAbort, classify.KindOf(err))
	var moved *classify.MovedError
	assert.True(t, errors.As(err, &moved), "the error says why: %v", err)
	n, err := rdb.Exists(ctx, remote).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "a transaction under WATCH is not re-sent elsewhere")
}

func TestHookFollowsAskDuringMigration(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	var rec recorder
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Observer: rec.observer()})
	ctx := context.Background()
	k := keyOn(t, c, 0, "mig")
	k2 := k + "other"
	slot := slotmap.Slot(k)
	require.NoError(t, rdb.Set(ctx, k, "v1", 0).Err())
	require.NoError(t, rdb.Set(ctx, k2, "v2", 0).Err())

	require.NoError(t, c.BeginMigration(slot, c.Primary(1)))
	moved, err := c.MigrateKeys(slot, 1) // one of the two keys leaves
	require.NoError(t, err)
	require.Equal(t, 1, moved)

	for _, key := range []string{k, k2} {
		v, err := rdb.Get(ctx, key).Result()
		require.NoError(t, err, key)
		assert.NotEmpty(t, v)
	}
	assert.Positive(t, c.Counters().Redirects["ASK"], "a migrated key was asked for")

	// A new key of the slot is created on the target, through ASK.
	require.NoError(t, rdb.Set(ctx, k+"new", "v3", 0).Err())
	// The ASK did not move the slot in the map: keys still on the source
	// are still read there.
	for _, key := range []string{k, k2, k + "new"} {
		require.NoError(t, rdb.Get(ctx, key).Err(), key)
	}

	// A transaction on the slot's keys while they are split between the
	// nodes: TRYAGAIN until the migration ends.
	done := make(chan error, 1)
	go func() {
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, k+"n")
			return nil
		})
		done <- err
	}()
	_, err = c.MigrateKeys(slot, 100)
	require.NoError(t, err)
	require.NoError(t, c.FinishMigration(slot))
	require.NoError(t, <-done)
	v, err := rdb.Get(ctx, k+"n").Int()
	require.NoError(t, err)
	assert.Equal(t, 1, v, "the transaction ran exactly once")
}

func TestHookSelfMovedReconnects(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{})
	ctx := context.Background()
	k := keyOn(t, c, 1, "self")
	require.NoError(t, rdb.Set(ctx, k, "v", 0).Err()) // learns the topology
	owner := c.Primary(1)
	require.NoError(t, c.InjectError(owner, clustertest.FaultSpec{
		Reply: fmt.Sprintf("MOVED %d %s", slotmap.Slot(k), owner), Count: 1,
	}))
	v, err := rdb.Get(ctx, k).Result()
	require.NoError(t, err)
	assert.Equal(t, "v", v)
}

func TestHookEmptyHostMoved(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{})
	ctx := context.Background()
	k := keyOn(t, c, 1, "empty")
	_, port, err := net.SplitHostPort(c.Primary(1))
	require.NoError(t, err)
	require.NoError(t, c.InjectError(c.Primary(0), clustertest.FaultSpec{
		Reply: fmt.Sprintf("MOVED %d :%s", slotmap.Slot(k), port), Count: 1,
	}))
	require.NoError(t, rdb.Set(ctx, k, "v", 0).Err())
	st, err := c.Stats(c.Primary(1))
	require.NoError(t, err)
	assert.Positive(t, st.Commands["SET"], "the SET reached the replying node's host at the named port")
}

func TestHookRefusesMovedToStranger(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	var rec recorder
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Observer: rec.observer()})
	ctx := context.Background()
	stranger, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer stranger.Close()
	dialled := make(chan struct{}, 1)
	go func() {
		if cn, err := stranger.Accept(); err == nil {
			dialled <- struct{}{}
			cn.Close()
		}
	}()
	require.NoError(t, c.InjectError(c.Primary(0), clustertest.FaultSpec{
		Reply: "MOVED 42 " + stranger.Addr().String(), Count: 1,
	}))
	err = rdb.Get(ctx, "any").Err()
	require.Error(t, err)
	assert.ErrorIs(t, err, redirect.ErrAddrNotAllowed)
	var moved *classify.MovedError
	assert.True(t, errors.As(err, &moved))
	select {
	case <-dialled:
		t.Fatal("the stranger was dialled")
	case <-time.After(50 * time.Millisecond):
	}
	_, _, giveUps := rec.counts()
	assert.Equal(t, 1, giveUps)
}

func TestHookRetriesTryLaterReplies(t *testing.T) {
	for _, reply := range []string{
		"TRYAGAIN Multiple keys request during rehashing of slot",
		"CLUSTERDOWN The cluster is down",
		"LOADING Redis is loading the dataset in memory",
		"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
	} {
		t.Run(reply[:8], func(t *testing.T) {
			c := clustertest.New(t, clustertest.Config{Shards: 1})
			var rec recorder
			rdb, _ := attach(t, c.Primary(0), redirect.Options{Policy: fastPolicy(), Observer: rec.observer()})
			ctx := context.Background()
			require.NoError(t, c.InjectError(c.Primary(0), clustertest.FaultSpec{Reply: reply, Count: 3,
				Match: func(args []string) bool { return strings.EqualFold(args[0], "incr") }}))
			n, err := rdb.Incr(ctx, "counter").Result()
			require.NoError(t, err)
			assert.Equal(t, int64(1), n, "the refusals did not run the INCR; the retry ran it once")
			_, retries, _ := rec.counts()
			assert.Equal(t, 3, retries)
		})
	}
}

func TestHookDeadlineShorterThanBackoff(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{
		Policy: retry.Policy{MinBackoff: time.Second, MaxBackoff: time.Second},
	})
	require.NoError(t, c.InjectError(c.Primary(0), clustertest.FaultSpec{Reply: "CLUSTERDOWN The cluster is down"}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := rdb.Get(ctx, "k").Err()
	require.Error(t, err)
	assert.ErrorIs(t, err, classify.ErrTryLater, "the last failure is kept")
	assert.Less(t, time.Since(start), 900*time.Millisecond, "no wait past the deadline was started")
}

func TestHookNeverResendsInDoubtWrite(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Policy: fastPolicy()})
	ctx := context.Background()
	require.NoError(t, rdb.Set(ctx, "n", 0, 0).Err())
	require.NoError(t, c.DropAfterRead(c.Primary(0), 1, clustertest.ExecuteThenDrop))

	err := rdb.Incr(ctx, "n").Err()
	require.Error(t, err)
	assert.True(t, classify.InDoubt(err), "the error says the INCR may have run: %v", err)
	assert.ErrorIs(t, err, retry.ErrInDoubt)
	v, err := rdb.Get(ctx, "n").Int()
	require.NoError(t, err)
	assert.Equal(t, 1, v, "the INCR ran once and was not re-sent")
}

func TestHookResendsInDoubtReadWhenIdempotentAllowed(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{
		Policy: retry.Policy{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, InDoubt: retry.InDoubtIdempotent},
	})
	ctx := context.Background()
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, c.DropAfterRead(c.Primary(0), 1, clustertest.ExecuteThenDrop))
	v, err := rdb.Get(ctx, "k").Result()
	require.NoError(t, err, "a GET may run twice")
	assert.Equal(t, "v", v)
}

func TestHookPipelineKeepsInDoubtErrors(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Policy: fastPolicy()})
	ctx := context.Background()
	require.NoError(t, c.DropAfterRead(c.Primary(0), 1, clustertest.ExecuteThenDrop))
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "a")
		p.Incr(ctx, "b")
		return nil
	})
	require.Error(t, err)
	var perr *redirect.PipelineError
	require.True(t, errors.As(err, &perr), "%T %v", err, err)
	assert.Equal(t, 2, perr.Total)
	assert.NotEmpty(t, perr.Failed)
	assert.Contains(t, err.Error(), "in doubt")
	for _, cmd := range perr.Failed {
		assert.True(t, classify.InDoubt(cmd.Err()))
	}
	_ = cmds
}

func TestHookConnectionRefusedRefreshes(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2, ReplicasPerShard: 1})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Policy: retry.Policy{
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k := keyOn(t, c, 1, "fo")
	require.NoError(t, rdb.Set(ctx, k, "before", 0).Err())

	// The primary of shard 1 crashes; its replica takes over after a
	// CLUSTERDOWN window.
	require.NoError(t, c.Failover(1, clustertest.FailoverOptions{DownFor: 200 * time.Millisecond, RefuseConns: true}))
	require.NoError(t, rdb.Set(ctx, k, "after", 0).Err())
	v, err := rdb.Get(ctx, k).Result()
	require.NoError(t, err)
	assert.Equal(t, "after", v)
}

// breakerEvents collects what an Observer hears of breakers.
type breakerEvents struct {
	mu             sync.Mutex
	opened, closed []string
}

func (b *breakerEvents) hear(e redirect.BreakerEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.Open {
		b.opened = append(b.opened, e.Addr)
	} else {
		b.closed = append(b.closed, e.Addr)
	}
}

func (b *breakerEvents) get() (opened, closed []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.opened...), append([]string(nil), b.closed...)
}

// ejected attaches a hook with policy to a client of a two-shard fake
// cluster, kills the node serving key k, and sends GETs for k until the
// node's breaker opens, however slow the machine. Each retry after a
// refused connection waits for a refresh: quick ones keep the test short.
func ejected(t *testing.T, policy retry.Policy) (c *clustertest.Cluster, rdb *redis.Client, k, dead string, ev *breakerEvents) {
	t.Helper()
	c = clustertest.New(t, clustertest.Config{Shards: 2})
	ev = &breakerEvents{}
	rdb, _ = attach(t, c.Primary(0), redirect.Options{
		Policy: policy, RefreshInterval: 5 * time.Millisecond,
		Observer: redirect.Observer{Breaker: ev.hear},
	})
	ctx := context.Background()
	k = keyOn(t, c, 1, "brk")
	require.NoError(t, rdb.Set(ctx, k, "v", 0).Err()) // learns the topology
	dead = c.Primary(1)
	require.NoError(t, c.KillNode(dead))
	require.Eventually(t, func() bool {
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_ = rdb.Get(tctx, k).Err()
		opened, _ := ev.get()
		return len(opened) > 0
	}, 10*time.Second, time.Millisecond, "the breaker opened")
	return c, rdb, k, dead, ev
}

// A node that refuses connections is ejected after a few failures: the
// breaker fails commands for it fast (the hook hears it open), and the
// error says why once the command's time is up.
func TestHookBreakerOpens(t *testing.T) {
	_, rdb, k, dead, ev := ejected(t, fastPolicy())
	// The node is ejected for the default 2s pause: a command for it fails
	// fast, and says why.
	tctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := rdb.Get(tctx, k).Err()
	require.Error(t, err)
	assert.ErrorIs(t, err, retry.ErrBreakerOpen, "%v", err)
	assert.False(t, classify.InDoubt(err), "nothing reached the dead node: %v", err)
	opened, closed := ev.get()
	assert.Equal(t, []string{dead}, opened)
	assert.Empty(t, closed)
}

// A node back from the dead is let through again: after the breaker's
// pause a probe gets through, and the breaker closes (the hook hears it).
func TestHookBreakerCloses(t *testing.T) {
	policy := fastPolicy()
	policy.Breaker.Pause = 50 * time.Millisecond
	c, rdb, k, dead, ev := ejected(t, policy)
	require.NoError(t, c.RestartNode(dead))
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	require.NoError(t, rdb.Get(rctx, k).Err())
	opened, closed := ev.get()
	for _, a := range opened { // once, and again after each failed probe
		assert.Equal(t, dead, a)
	}
	assert.Equal(t, []string{dead}, closed, "the breaker closed again")
}

// An INCR whose reply times out may have run: it is not re-sent, and the
// error says so.
func TestHookReadTimeoutIsInDoubt(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	rdb := redis.NewClient(&redis.Options{Addr: c.Primary(0), MaxRetries: -1, ReadTimeout: 50 * time.Millisecond})
	defer rdb.Close()
	h, err := redirect.Attach(rdb, redirect.Options{Policy: fastPolicy()})
	require.NoError(t, err)
	defer h.Close()
	ctx := context.Background()
	require.NoError(t, rdb.Set(ctx, "n", 0, 0).Err())
	require.NoError(t, c.SetLatency(c.Primary(0), 150*time.Millisecond))

	err = rdb.Incr(ctx, "n").Err()
	require.Error(t, err)
	assert.True(t, classify.InDoubt(err), "%v", err)
	assert.ErrorIs(t, err, classify.ErrTimeout)
	assert.ErrorIs(t, err, retry.ErrInDoubt)

	require.NoError(t, c.SetLatency(c.Primary(0), 0))
	count := func() int {
		n, err := rdb.Get(ctx, "n").Int()
		require.NoError(t, err)
		return n
	}
	require.Eventually(t, func() bool { return count() == 1 }, 5*time.Second, 5*time.Millisecond, "the slow INCR lands")
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, 1, count(), "the INCR ran once: it was not re-sent")
}

// "MOVED 3999 ?:6380" (cluster-preferred-endpoint-type unknown-endpoint):
// the server does not know where the slot's node is reachable; a fresh
// topology tells, and the command goes there.
func TestHookUnknownEndpointMoved(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Policy: fastPolicy(), RefreshInterval: 5 * time.Millisecond})
	ctx := context.Background()
	k := keyOn(t, c, 1, "unknown")
	_, port, err := net.SplitHostPort(c.Primary(1))
	require.NoError(t, err)
	require.NoError(t, c.InjectError(c.Primary(0), clustertest.FaultSpec{
		Reply: fmt.Sprintf("MOVED %d ?:%s", slotmap.Slot(k), port), Count: 1,
	}))
	require.NoError(t, rdb.Set(ctx, k, "v", 0).Err())
	st, err := c.Stats(c.Primary(1))
	require.NoError(t, err)
	assert.Positive(t, st.Commands["SET"], "the SET reached the slot's owner")
}
