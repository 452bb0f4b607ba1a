package redirect_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
)

// The guards against running a write twice, each shown to act: the node
// counts what it received, so a re-send shows whatever the outcome.

// A transaction whose reply was lost is re-sent under InDoubtIdempotent
// only when every queued command repeats harmlessly: a transaction of SETs
// is, one with an INCR is not.
func TestTransactionInDoubtResentOnlyWhenAllIdempotent(t *testing.T) {
	for _, tt := range []struct {
		name   string
		queue  func(ctx context.Context, p redis.Pipeliner, k string)
		resent bool
	}{
		{"INCR", func(ctx context.Context, p redis.Pipeliner, k string) { p.Incr(ctx, k) }, false},
		{"SET", func(ctx context.Context, p redis.Pipeliner, k string) { p.Set(ctx, k, "v", 0) }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := clustertest.New(t, clustertest.Config{Shards: 1})
			cl := newClient(t, c, redirect.Options{
				Policy: retry.Policy{InDoubt: retry.InDoubtIdempotent, MinBackoff: time.Millisecond},
			})
			ctx := context.Background()
			require.NoError(t, cl.Refresh(ctx))
			// The connection breaks under the transaction: its outcome is
			// in doubt for the client.
			require.NoError(t, c.DropAfterRead(c.Primary(0), 1, clustertest.ExecuteThenDrop))
			_, err := cl.TxPipelined(ctx, func(p redis.Pipeliner) error { tt.queue(ctx, p, "k"); return nil })
			st, serr := c.Stats(c.Primary(0))
			require.NoError(t, serr)
			if tt.resent {
				require.NoError(t, err)
				assert.Equal(t, int64(2), st.Commands["MULTI"], "the transaction was sent again")
				return
			}
			require.Error(t, err)
			assert.True(t, classify.InDoubt(err), "%v", err)
			assert.ErrorIs(t, err, retry.ErrInDoubt)
			assert.Equal(t, int64(1), st.Commands["MULTI"], "the transaction was not sent again")
		})
	}
}

// ClusterClient re-sends a pipeline whose connection broke; the node hook
// stops it for the commands that may have run, so an INCR runs once.
func TestOnNewNodeStopsInDoubtPipelineResend(t *testing.T) {
	for _, hooked := range []bool{false, true} {
		c := clustertest.New(t, clustertest.Config{Shards: 1})
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Primary(0)}, MaxRetries: -1})
		if hooked {
			cc.OnNewNode(redirect.OnNewNode(redirect.NodeOptions{}))
		}
		ctx := context.Background()
		require.NoError(t, cc.Set(ctx, "n", 0, 0).Err())
		require.NoError(t, c.DropAfterRead(c.Primary(0), 1, clustertest.ExecuteThenDrop))
		cmds, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error { p.Incr(ctx, "n"); return nil })
		n, gerr := cc.Get(ctx, "n").Int()
		require.NoError(t, gerr)
		cc.Close()
		if !hooked {
			// go-redis's own behaviour, the reason for the hook.
			assert.NoError(t, err)
			assert.Equal(t, 2, n, "ClusterClient re-sent an INCR that had run")
			continue
		}
		assert.Equal(t, 1, n, "the INCR ran once")
		require.Error(t, err)
		assert.True(t, classify.InDoubt(cmds[0].Err()), "%v", cmds[0].Err())
	}
}

// Under the default mode a GET whose reply was lost is sent again and an
// INCR is not; under never, neither is.
func TestInDoubtModesOnTheClient(t *testing.T) {
	for _, tt := range []struct {
		mode       retry.InDoubtMode
		get, incrs int64 // GETs and INCRs the node receives
	}{
		{retry.InDoubtReadOnly, 2, 1},
		{retry.InDoubtNever, 1, 1},
		{retry.InDoubtAlways, 2, 2},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			c := clustertest.New(t, clustertest.Config{Shards: 1})
			cl := newClient(t, c, redirect.Options{Policy: retry.Policy{InDoubt: tt.mode, MinBackoff: time.Millisecond}})
			ctx := context.Background()
			require.NoError(t, cl.Set(ctx, "k", "1", 0).Err())
			require.NoError(t, c.DropAfterRead(c.Primary(0), 1, clustertest.ExecuteThenDrop))
			_ = cl.Get(ctx, "k").Err()
			require.NoError(t, c.DropAfterRead(c.Primary(0), 1, clustertest.ExecuteThenDrop))
			_ = cl.Incr(ctx, "k").Err()
			st, err := c.Stats(c.Primary(0))
			require.NoError(t, err)
			assert.Equal(t, tt.get, st.Commands["GET"], "GETs sent")
			assert.Equal(t, tt.incrs, st.Commands["INCR"], "INCRs sent")
		})
	}
}
