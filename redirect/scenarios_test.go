package redirect_test

import (
	"context"
	"strconv"
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

// A WATCH that fails (the Hook never redirects WATCH) must not make another
// connection's open WATCH look closed: go-redis still sends UNWATCH when
// the failed transaction closes. If it did, a watched transaction aborted
// by a moved slot would be re-sent to the new owner without its WATCH, and
// its check-and-set would overwrite a concurrent write.
func TestHookWatchedTransactionNeverResentAfterAnotherWatchFails(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Policy: fastPolicy()})
	ctx := context.Background()
	k1 := keyOn(t, c, 0, "k")
	remote := keyOn(t, c, 1, "r")
	require.NoError(t, rdb.Set(ctx, k1, "10", 0).Err())

	// A WATCH on a key of another node fails with MOVED; its transaction
	// closes, sending UNWATCH on its own connection.
	err := rdb.Watch(ctx, func(*redis.Tx) error { return nil }, remote)
	require.Error(t, err)
	assert.Equal(t, classify.KindMoved, classify.KindOf(err))

	other := newClient(t, c, redirect.Options{})
	runs := 0
	err = rdb.Watch(ctx, func(tx *redis.Tx) error {
		runs++
		v, err := tx.Get(ctx, k1).Int()
		require.NoError(t, err)
		// Meanwhile the slot moves, and another client writes there.
		require.NoError(t, c.MigrateSlot(slotmap.Slot(k1), c.Primary(1)))
		require.NoError(t, other.Set(ctx, k1, "50", 0).Err())
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, k1, strconv.Itoa(v+1), 0)
			return nil
		})
		return err
	}, k1)
	require.Error(t, err)
	assert.ErrorIs(t, err, redirect.ErrWatched)
	assert.Equal(t, classify.KindExecAbort, classify.KindOf(err), "the caller sees the EXECABORT ...")
	var moved *classify.MovedError
	assert.ErrorAs(t, err, &moved, "... and why: %v", err)
	assert.Equal(t, 1, runs)
	v, err := other.Get(ctx, k1).Result()
	require.NoError(t, err)
	assert.Equal(t, "50", v, "the concurrent write survives")
}

// Commands queued inside MULTI on a connection stay on it, even when the
// hook knows their slot is served elsewhere: routing one ahead would run
// it outside the transaction.
func TestHookKeepsQueuedCommandsOnTheirConnection(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	rdb, _ := attach(t, c.Primary(0), redirect.Options{Policy: fastPolicy()})
	ctx := context.Background()
	remote := keyOn(t, c, 1, "q")
	// The hook learns the topology from a first MOVED.
	require.ErrorIs(t, rdb.Get(ctx, remote).Err(), redis.Nil)

	cn := rdb.Conn()
	defer cn.Close()
	do := func(args ...any) error {
		cmd := redis.NewCmd(ctx, args...)
		_ = cn.Process(ctx, cmd)
		return cmd.Err()
	}
	require.NoError(t, do("multi"))
	err := do("set", remote, "x")
	assert.Equal(t, classify.KindMoved, classify.KindOf(err), "queued on this connection, refused there: %v", err)
	assert.Equal(t, classify.KindExecAbort, classify.KindOf(do("exec")))
	assert.ErrorIs(t, rdb.Get(ctx, remote).Err(), redis.Nil, "the queued SET never ran elsewhere")
}

// A MOVED learned inside a transaction that may not be re-sent passes the
// same allow check as any other: the stranger it names is never dialled,
// never written into the slot map, and so never asked for the topology
// with the cluster's credentials.
func TestHookWatchedTransactionMovedToStranger(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	rdb, h := attach(t, c.Primary(0), redirect.Options{Policy: fastPolicy(), RefreshInterval: time.Millisecond})
	ctx := context.Background()
	k := keyOn(t, c, 0, "s")
	stranger := listen(t, "tcp4", "127.0.0.1:0", false)
	require.NoError(t, c.InjectError(c.Primary(0), clustertest.FaultSpec{
		Reply: "MOVED " + strconv.Itoa(slotmap.Slot(k)) + " " + stranger.addr, Count: 2,
		Match: func(args []string) bool { return args[0] == "set" },
	}))
	err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Set(ctx, k, "v", 0); return nil })
		return err
	}, k)
	require.ErrorIs(t, err, redirect.ErrAddrNotAllowed)
	require.NoError(t, h.Refresh(ctx))
	for i := 0; i < 5; i++ {
		require.ErrorIs(t, rdb.Get(ctx, k).Err(), redis.Nil)
	}
	assert.Zero(t, stranger.accepted(), "the stranger was dialled")
	assert.False(t, h.Topology().Has(stranger.addr), "the stranger entered the slot map")
}

// Client.Watch runs fn again from the start when a queued command's slot
// moved: the MOVED aborted EXEC, so nothing ran.
func TestClientWatchRerunsWhenTheSlotMovesInsideFn(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	cl := newClient(t, c, redirect.Options{Policy: fastPolicy()})
	ctx := context.Background()
	k := keyOn(t, c, 0, "w")
	require.NoError(t, cl.Set(ctx, k, "1", 0).Err())
	runs := 0
	err := cl.Watch(ctx, func(tx *redis.Tx) error {
		runs++
		v, err := tx.Get(ctx, k).Int()
		if err != nil {
			return err
		}
		if runs == 1 {
			require.NoError(t, c.MigrateSlot(slotmap.Slot(k), c.Primary(1)))
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, k, strconv.Itoa(v+1), 0)
			return nil
		})
		return err
	}, k)
	require.NoError(t, err)
	assert.Equal(t, 2, runs)
	v, err := cl.Get(ctx, k).Result()
	require.NoError(t, err)
	assert.Equal(t, "2", v)
}

// The caller's deadline bounds a command's read, not only its waits: a node
// that answers late does not hold the caller past the deadline until the
// client's ReadTimeout.
func TestContextDeadlineBoundsARead(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	cl := newClient(t, c, redirect.Options{Template: &redis.Options{ReadTimeout: 10 * time.Second}})
	require.NoError(t, cl.Refresh(context.Background()))
	require.NoError(t, c.SetLatency(c.Primary(0), 3*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := cl.Get(ctx, "k").Err()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, classify.InDoubt(err), "the GET was sent: %v", err)
}

// The first topology load follows the policy: a seed that refuses is
// retried within the deadline, and the failure is typed.
func TestFirstLoadIsRetriedAndTyped(t *testing.T) {
	rec := &recorder{}
	cl, err := redirect.NewClient(redirect.Options{Seeds: []string{deadAddr(t)}, Observer: rec.observer(),
		Policy: fastPolicy(), RefreshInterval: time.Millisecond})
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = cl.Get(ctx, "k").Err()
	require.Error(t, err)
	assert.ErrorIs(t, err, classify.ErrConnection)
	var g *retry.GiveUpError
	assert.ErrorAs(t, err, &g)
	_, retries, _ := rec.counts()
	assert.Positive(t, retries, "the refused seed was retried")
	assert.False(t, classify.InDoubt(err))
}
