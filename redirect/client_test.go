package redirect_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

func newClient(t testing.TB, c *clustertest.Cluster, opts redirect.Options) *redirect.Client {
	t.Helper()
	if len(opts.Seeds) == 0 {
		opts.Seeds = []string{c.Primary(0)}
	}
	cl, err := redirect.NewClient(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Close()) })
	return cl
}

func TestNewClientNeedsSeeds(t *testing.T) {
	_, err := redirect.NewClient(redirect.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Options.Seeds")
}

func TestClientRoutesBeforeSending(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{})
	ctx := context.Background()

	for i := 0; i < 200; i++ {
		k := "k" + strconv.Itoa(i)
		require.NoError(t, cl.Set(ctx, k, i, 0).Err())
		require.NoError(t, cl.HSet(ctx, "h"+k, "f", i).Err())
		require.NoError(t, cl.LPush(ctx, "l"+k, i).Err())
		require.NoError(t, cl.SAdd(ctx, "s"+k, i).Err())
		require.NoError(t, cl.ZAdd(ctx, "z"+k, redis.Z{Score: float64(i), Member: "m"}).Err())
		require.NoError(t, cl.XAdd(ctx, &redis.XAddArgs{Stream: "x" + k, Values: []any{"f", i}}).Err())
	}
	for i := 0; i < 200; i++ {
		k := "k" + strconv.Itoa(i)
		v, err := cl.Get(ctx, k).Int()
		require.NoError(t, err)
		assert.Equal(t, i, v)
		hv, err := cl.HGet(ctx, "h"+k, "f").Int()
		require.NoError(t, err)
		assert.Equal(t, i, hv)
		n, err := cl.XLen(ctx, "x"+k).Result()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
	}
	assert.Zero(t, c.Counters().Redirects["MOVED"], "every command went straight to its slot's owner")
	assert.Equal(t, int64(1), c.Counters().TopologyFetches, "one topology load")
}

func TestClientSplitsMultiKeyCommands(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{})
	ctx := context.Background()
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	pairs := make([]any, 0, 2*len(keys))
	for i, k := range keys {
		pairs = append(pairs, k, strconv.Itoa(i))
	}
	require.NoError(t, cl.MSet(ctx, pairs...).Err())
	vals, err := cl.MGet(ctx, append(keys, "missing")...).Result()
	require.NoError(t, err)
	require.Len(t, vals, len(keys)+1)
	for i := range keys {
		assert.Equal(t, strconv.Itoa(i), vals[i], "MGET keeps the caller's key order")
	}
	assert.Nil(t, vals[len(keys)])

	n, err := cl.Exists(ctx, keys...).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(len(keys)), n)
	n, err = cl.Del(ctx, "a", "b", "c", "nope").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(3), n)
	n, err = cl.Unlink(ctx, "d", "e").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
}

func TestClientRefusesCrossSlotBeforeSending(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{})
	ctx := context.Background()
	require.NoError(t, cl.Ping(ctx).Err())
	before := c.Counters().Commands["SUNIONSTORE"]

	err := cl.SUnionStore(ctx, "dest", "src1", "src2").Err()
	require.Error(t, err)
	assert.Equal(t, classify.KindCrossSlot, classify.KindOf(err))
	assert.Equal(t, "CROSSSLOT Keys in request don't hash to the same slot", err.Error())
	assert.Equal(t, before, c.Counters().Commands["SUNIONSTORE"], "nothing was sent")

	require.NoError(t, cl.SAdd(ctx, "{s}1", "x").Err())
	require.NoError(t, cl.SUnionStore(ctx, "{s}dest", "{s}1", "{s}2").Err(), "hash tags share a slot")
}

func TestClientBroadcastsKeyspaceCommands(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{})
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		require.NoError(t, cl.Set(ctx, "b"+strconv.Itoa(i), i, 0).Err())
	}
	n, err := cl.DBSize(ctx).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(30), n, "DBSIZE adds up every primary")
	keys, err := cl.Keys(ctx, "b*").Result()
	require.NoError(t, err)
	assert.Len(t, keys, 30, "KEYS concatenates every primary's keys")
	require.NoError(t, cl.FlushAll(ctx).Err())
	n, err = cl.DBSize(ctx).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "FLUSHALL reached every primary")
}

func TestClientPipelineAcrossSlotsDuringMigration(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	var rec recorder
	cl := newClient(t, c, redirect.Options{Observer: rec.observer()})
	ctx := context.Background()
	const n = 100
	for i := 0; i < n; i++ {
		require.NoError(t, cl.Set(ctx, "m"+strconv.Itoa(i), i, 0).Err())
	}
	// Move the slot of m0 away while the client still believes the old map.
	slot := slotmap.Slot("m0")
	require.NoError(t, c.BeginMigration(slot, c.Primary(1)))
	_, err := c.MigrateKeys(slot, 1000)
	require.NoError(t, err)
	require.NoError(t, c.FinishMigration(slot))

	cmds, err := cl.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < n; i++ {
			p.Get(ctx, "m"+strconv.Itoa(i))
		}
		return nil
	})
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		assert.Equal(t, strconv.Itoa(i), cmds[i].(*redis.StringCmd).Val())
	}
	redirects, _, _ := rec.counts()
	assert.Positive(t, redirects, "the moved slot was followed inside the pipeline")
}

func TestClientTxPipeline(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{})
	ctx := context.Background()
	cmds, err := cl.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "{acct}1")
		p.IncrBy(ctx, "{acct}2", 10)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, int64(10), cmds[1].(*redis.IntCmd).Val())

	_, err = cl.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "x")
		p.Incr(ctx, "y")
		return nil
	})
	require.Error(t, err)
	assert.Equal(t, classify.KindCrossSlot, classify.KindOf(err))
	assert.Contains(t, err.Error(), "transaction")
}

func TestClientWatchUnderAsk(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	cl := newClient(t, c, redirect.Options{})
	ctx := context.Background()
	k := keyOn(t, c, 0, "w")
	slot := slotmap.Slot(k)
	require.NoError(t, cl.Set(ctx, k, 5, 0).Err())
	require.NoError(t, c.BeginMigration(slot, c.Primary(1)))
	_, err := c.MigrateKeys(slot, 10) // k now lives on the importing node
	require.NoError(t, err)

	err = cl.Watch(ctx, func(tx *redis.Tx) error {
		v, err := tx.Get(ctx, k).Int()
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, k, v+1, 0)
			return nil
		})
		return err
	}, k)
	require.NoError(t, err)
	require.NoError(t, c.FinishMigration(slot))
	v, err := cl.Get(ctx, k).Int()
	require.NoError(t, err)
	assert.Equal(t, 6, v)
}

func TestClientWatchConflictIsTxFailed(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	cl := newClient(t, c, redirect.Options{})
	ctx := context.Background()
	err := cl.Watch(ctx, func(tx *redis.Tx) error {
		require.NoError(t, cl.Set(ctx, "{c}k", "changed", 0).Err())
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "{c}k", "mine", 0)
			return nil
		})
		return err
	}, "{c}k")
	assert.Equal(t, redis.TxFailedErr, err)
}

// A primary crashes while writes to its slots are in flight. The client
// rides it out: no error reaches the application, every acknowledged write
// is kept, and writes that were in flight at the crash are acknowledged
// after it — the test checks that they were, rather than hoping a sleep
// lined them up.
func TestClientRidesOutFailover(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	// A SET cut off by the crash may have run; running it again is harmless,
	// so the policy may re-send it (an INCR would not be).
	cl := newClient(t, c, redirect.Options{Policy: retry.Policy{
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, InDoubt: retry.InDoubtIdempotent,
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, cl.Ping(ctx).Err())

	const writers, keysPerWriter = 8, 50
	victim := c.Primary(1)
	onVictim := map[string]bool{}
	key := func(w, i int) string { return "fo:" + strconv.Itoa(w) + ":" + strconv.Itoa(i%keysPerWriter) }
	for w := 0; w < writers; w++ {
		for i := 0; i < keysPerWriter; i++ {
			onVictim[key(w, i)] = c.SlotOwner(slotmap.Slot(key(w, i))) == victim
		}
	}
	// The victim holds each command before running it, so that writes to
	// its slots are in flight whenever it crashes.
	require.NoError(t, c.SetLatency(victim, 200*time.Millisecond))

	var (
		wg         sync.WaitGroup
		stop       atomic.Bool
		acked      sync.Map
		failures   atomic.Int64
		crashed    atomic.Bool
		overlapped atomic.Int64 // writes to the victim's slots sent before the crash, acknowledged after it
		after      atomic.Int64 // writes to the victim's slots sent after the crash, acknowledged
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := key(w, i)
				sentAfter := crashed.Load()
				if err := cl.Set(ctx, k, i, 0).Err(); err != nil {
					failures.Add(1)
					t.Errorf("SET %s: %v", k, err)
					return
				}
				acked.Store(k, i)
				switch {
				case !onVictim[k]:
				case sentAfter:
					after.Add(1)
				case crashed.Load():
					overlapped.Add(1)
				}
			}
		}()
	}
	// Crash once a write has reached the victim and waits out its latency.
	require.Eventually(t, func() bool {
		st, err := c.Stats(victim)
		require.NoError(t, err)
		return st.Commands["SET"] > 0
	}, 10*time.Second, time.Millisecond)
	crashed.Store(true)
	require.NoError(t, c.Failover(1, clustertest.FailoverOptions{DownFor: 300 * time.Millisecond, RefuseConns: true}))
	require.NoError(t, c.SetLatency(victim, 0)) // it comes back as a replica
	// Run until writes sent before the crash and writes sent after it have
	// been acknowledged by the new primary.
	ok := assert.Eventually(t, func() bool {
		return failures.Load() > 0 || (overlapped.Load() > 0 && after.Load() >= writers)
	}, 15*time.Second, time.Millisecond, "writes in flight at the crash, and writes after it, were acknowledged")
	stop.Store(true)
	wg.Wait()
	require.True(t, ok)
	assert.Zero(t, failures.Load(), "no error reached the application")
	assert.Positive(t, overlapped.Load(), "a write was in flight at the crash")
	assert.NotEqual(t, victim, c.Primary(1), "the replica took over")
	acked.Range(func(k, v any) bool {
		got, err := cl.Get(ctx, k.(string)).Int()
		require.NoError(t, err)
		assert.Equal(t, v.(int), got, "acknowledged write of %s kept", k)
		return true
	})
}

func TestClientReadsFromReplicas(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1, ReplicasPerShard: 1})
	cl := newClient(t, c, redirect.Options{ReadFromReplicas: true})
	ctx := context.Background()
	require.NoError(t, cl.Set(ctx, "r", "v", 0).Err())
	for i := 0; i < 10; i++ {
		v, err := cl.Get(ctx, "r").Result()
		require.NoError(t, err)
		assert.Equal(t, "v", v)
	}
	st, err := c.Stats(c.Replicas(0)[0])
	require.NoError(t, err)
	assert.Equal(t, int64(10), st.Commands["GET"], "reads went to the replica")
	assert.Zero(t, st.Commands["SET"], "writes did not")
}

func TestClientCloseIsFinal(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	cl, err := redirect.NewClient(redirect.Options{Seeds: []string{c.Primary(0)}})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, cl.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, cl.Close())
	err = cl.Get(ctx, "k").Err()
	require.Error(t, err)
	assert.True(t, errors.Is(err, redirect.ErrClosed) || errors.Is(err, slotmap.ErrClosed), "%v", err)
}

func TestClientPipelineToDeadNodeNeverLooksSuccessful(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	cl := newClient(t, c, redirect.Options{Policy: fastPolicy()})
	ctx := context.Background()
	require.NoError(t, cl.Ping(ctx).Err())
	k1, k2 := keyOn(t, c, 1, "dead"), keyOn(t, c, 1, "gone")
	require.NoError(t, c.KillNode(c.Primary(1)))

	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	cmds, err := cl.Pipelined(tctx, func(p redis.Pipeliner) error {
		p.Set(tctx, k1, "v", 0)
		p.Get(tctx, k2)
		return nil
	})
	require.Error(t, err)
	for _, cmd := range cmds {
		require.Error(t, cmd.Err(), "%s reported success, yet its node is down", cmd.Name())
		assert.False(t, classify.InDoubt(cmd.Err()), "a refused connection carried nothing: %v", cmd.Err())
	}
}

// A queued command refused once (the last reply of a LOADING, the end of a
// CLUSTERDOWN window) aborts the transaction; by the time the engine asks
// the node why, every command queues: the refusal is over, the aborted
// transaction ran nothing, and it is sent again.
func TestClientTransactionAbortedByAPassingRefusal(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	cl := newClient(t, c, redirect.Options{Policy: fastPolicy()})
	ctx := context.Background()
	require.NoError(t, cl.Ping(ctx).Err())
	require.NoError(t, c.InjectError(c.Primary(0), clustertest.FaultSpec{
		Reply: "LOADING Redis is loading the dataset in memory", Count: 1,
		Match: func(args []string) bool { return strings.EqualFold(args[0], "incr") },
	}))
	cmds, err := cl.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "{t}a", "x", 0)
		p.Incr(ctx, "{t}n")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, int64(1), cmds[1].(*redis.IntCmd).Val(), "the transaction ran once")
	assert.Equal(t, int64(1), c.Counters().Redirects["EXECABORT"], "the first EXEC was aborted")
}

// An EXECABORT that the probe reproduces (a queued command refused for
// good) is the transaction's answer.
func TestClientTransactionAbortedForGood(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	cl := newClient(t, c, redirect.Options{Policy: fastPolicy()})
	ctx := context.Background()
	_, err := cl.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "{t}a", "x", 0)
		p.Do(ctx, "incrby", "{t}n") // wrong number of arguments
		return nil
	})
	require.Error(t, err)
	assert.Equal(t, classify.KindExecAbort, classify.KindOf(err), "%v", err)
	n, err := cl.Exists(ctx, "{t}a").Result()
	require.NoError(t, err)
	assert.Zero(t, n, "nothing ran")
}

// A command the static table does not know is looked up once with COMMAND
// INFO, however often it is used; a server that does not know it either
// answers for itself.
func TestClientLearnsUnknownCommandsOnce(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	cl := newClient(t, c, redirect.Options{})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		err := cl.Do(ctx, "frobnicate", "k").Err()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "unknown command")
	}
	assert.Equal(t, int64(1), c.Counters().Commands["COMMAND INFO"], "asked once")
}

// Reads go to the node with the lowest measured round trip. The other
// nodes are slower by far more than a loaded machine's scheduling noise,
// and the check asks for most reads, not every one, so a measurement
// delayed by a stall cannot fail it, while routing that ignores the
// measurements (random, primary, slowest) does.
func TestClientRoutesReadsByLatency(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1, ReplicasPerShard: 2})
	slow, fast := c.Replicas(0)[0], c.Replicas(0)[1]
	// 100ms a command: far slower than the fast replica, yet a new
	// connection's set-up (HELLO, CLIENT SETINFO ... each delayed) and the
	// PING still fit in the measurement's 1s timeout, with newer go-redis
	// releases' longer set-up too.
	require.NoError(t, c.SetLatency(slow, 100*time.Millisecond))
	require.NoError(t, c.SetLatency(c.Primary(0), 100*time.Millisecond))
	cl := newClient(t, c, redirect.Options{RouteByLatency: true})
	ctx := context.Background()
	require.NoError(t, cl.Set(ctx, "k", "v", 0).Err())
	const reads = 20
	for i := 0; i < reads; i++ {
		v, err := cl.Get(ctx, "k").Result()
		require.NoError(t, err)
		assert.Equal(t, "v", v)
	}
	gets := func(addr string) int64 {
		st, err := c.Stats(addr)
		require.NoError(t, err)
		return st.Commands["GET"]
	}
	assert.Equal(t, int64(reads), gets(fast)+gets(slow)+gets(c.Primary(0)), "every read was counted")
	assert.Greater(t, gets(fast), int64(reads*3/4), "most reads went to the fastest node")
	st, err := c.Stats(slow)
	require.NoError(t, err)
	assert.Positive(t, st.Commands["PING"], "the slow replica's round trip was measured")
}

func TestClientSubscribeAfterClose(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	cl, err := redirect.NewClient(redirect.Options{Seeds: []string{c.Primary(0)}})
	require.NoError(t, err)
	require.NoError(t, cl.Close())
	ps := cl.Subscribe(context.Background(), "news")
	defer ps.Close()
	_, err = ps.Receive(context.Background())
	assert.ErrorIs(t, err, redis.ErrClosed)
}
