package clients_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/redirect"
)

// redirects records the REDIRECT replies a Hook followed.
type redirects struct {
	mu     sync.Mutex // protects events
	events []redirect.RedirectEvent
}

func (r *redirects) observer() redirect.Observer {
	return redirect.Observer{Redirect: func(e redirect.RedirectEvent) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, e)
	}}
}

// take returns the events heard since the last call.
func (r *redirects) take() []redirect.RedirectEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// capaClient is a plain go-redis client of the node at addr that announces
// Valkey's redirect capability on every connection it opens (and READONLY
// too when readonly is true), with a Hook attached. A standalone group has
// no cluster topology to vouch for a REDIRECT target, so the hook is told
// which addresses it may follow: the group's.
func capaClient(t *testing.T, c *cluster.Cluster, addr string, readonly bool, rec *redirects) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr:       addr,
		MaxRetries: -1,
		OnConnect: func(ctx context.Context, cn *redis.Conn) error {
			capa := redis.NewStatusCmd(ctx, "CLIENT", "CAPA", "redirect")
			if err := cn.Process(ctx, capa); err != nil {
				return err
			}
			if readonly {
				return cn.ReadOnly(ctx).Err()
			}
			return nil
		},
	})
	h, err := redirect.Attach(rdb, redirect.Options{
		Observer:  rec.observer(),
		AllowAddr: func(a string) bool { return slices.Contains(c.Addrs(), a) },
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = h.Close()
		_ = rdb.Close()
	})
	return rdb
}

// direct is a plain client of one node that follows nothing.
func direct(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestValkeyRedirect runs a Hook on a plain client of a standalone Valkey
// replica that announced CLIENT CAPA redirect: the replica answers REDIRECT
// to its primary for writes, and for reads unless READONLY is set, and the
// hook follows it; after the roles swap (REPLICAOF NO ONE on the replica,
// REPLICAOF on the old primary) the hook follows REDIRECT to the new
// primary. Redis 7 has no such capability; its subtest checks that it
// refuses CLIENT CAPA and skips.
func TestValkeyRedirect(t *testing.T) {
	cluster.ForEachServer(t, func(t *testing.T, srv cluster.Server) {
		c := cluster.StartForTest(t, cluster.Config{Server: srv.Binary, Standalone: true, ReplicasPerPrimary: 1})
		ctx := t.Context()
		primary := c.Primaries()[0]
		replica := c.Replicas(primary)[0]
		if err := direct(t, replica).Do(ctx, "CLIENT", "CAPA", "redirect").Err(); err != nil {
			t.Skipf("%s %s has no REDIRECT: CLIENT CAPA redirect: %v", srv.Name, c.Version(), err)
		}

		var onReplica, onPrimary, readonly redirects
		viaReplica := capaClient(t, c, replica, false, &onReplica)
		viaPrimary := capaClient(t, c, primary, false, &onPrimary)
		local := capaClient(t, c, replica, true, &readonly)

		// A write to the replica is redirected to the primary and runs there.
		require.NoError(t, viaReplica.Set(ctx, "k", "v1", 0).Err())
		assertRedirected(t, onReplica.take(), replica, primary, "set")
		got, err := direct(t, primary).Get(ctx, "k").Result()
		require.NoError(t, err)
		assert.Equal(t, "v1", got)

		// So is a read without READONLY: it sees the primary's data at once.
		require.NoError(t, viaReplica.Set(ctx, "k", "v2", 0).Err())
		onReplica.take()
		got, err = viaReplica.Get(ctx, "k").Result()
		require.NoError(t, err)
		assert.Equal(t, "v2", got)
		assertRedirected(t, onReplica.take(), replica, primary, "get")

		// With READONLY the replica serves reads itself, once it has the
		// write, and still redirects writes. (WAIT on another connection
		// would not wait for this write: it waits for that connection's
		// own writes; so the test waits until the replica has it.)
		replicaReads := direct(t, replica)
		require.Eventually(t, func() bool {
			v, err := replicaReads.Get(ctx, "k").Result()
			return err == nil && v == "v2"
		}, 30*time.Second, 10*time.Millisecond, "the replica never got the write")
		got, err = local.Get(ctx, "k").Result()
		require.NoError(t, err)
		assert.Equal(t, "v2", got)
		assert.Empty(t, readonly.take(), "a READONLY read is served by the replica")
		require.NoError(t, local.Set(ctx, "k", "v3", 0).Err())
		assertRedirected(t, readonly.take(), replica, primary, "set")

		// A pipeline's writes are redirected too, each to the primary.
		cmds, err := viaReplica.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "pa", "1", 0)
			p.Incr(ctx, "pb")
			return nil
		})
		require.NoError(t, err)
		require.Len(t, cmds, 2)
		for _, k := range []string{"pa", "pb"} {
			got, err := direct(t, primary).Get(ctx, k).Result()
			require.NoError(t, err, k)
			assert.Equal(t, "1", got, k)
		}
		onReplica.take()

		// The primary serves its own clients without a redirect.
		require.NoError(t, viaPrimary.Set(ctx, "p", "1", 0).Err())
		assert.Empty(t, onPrimary.take())

		// Swap the roles: the old primary now redirects to the old replica,
		// and the client of the old replica writes to it directly.
		require.NoError(t, c.Promote(ctx, replica))
		require.NoError(t, viaPrimary.Set(ctx, "k", "after-swap", 0).Err())
		assertRedirected(t, onPrimary.take(), primary, replica, "set")
		got, err = direct(t, replica).Get(ctx, "k").Result()
		require.NoError(t, err)
		assert.Equal(t, "after-swap", got, "the write ran on the new primary")
		got, err = viaPrimary.Get(ctx, "k").Result()
		require.NoError(t, err)
		assert.Equal(t, "after-swap", got)

		require.NoError(t, viaReplica.Incr(ctx, "n").Err())
		assert.Empty(t, onReplica.take(), "the promoted node serves writes itself")
		n, err := direct(t, replica).Get(ctx, "n").Int64()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "the INCR ran once")
	})
}

// TestValkeyRedirectTransaction sends a transaction through a Hook on a
// standalone Valkey replica that announced CLIENT CAPA redirect. The
// replica queues nothing: it answers MULTI with OK, each queued command
// with REDIRECT to its primary, and EXEC with EXECABORT. Nothing ran, so
// the transaction must be sent again to the primary, as after a MOVED
// inside MULTI.
func TestValkeyRedirectTransaction(t *testing.T) {
	cluster.ForEachServer(t, func(t *testing.T, srv cluster.Server) {
		c := cluster.StartForTest(t, cluster.Config{Server: srv.Binary, Standalone: true, ReplicasPerPrimary: 1})
		ctx := t.Context()
		primary := c.Primaries()[0]
		replica := c.Replicas(primary)[0]
		if err := direct(t, replica).Do(ctx, "CLIENT", "CAPA", "redirect").Err(); err != nil {
			t.Skipf("%s %s has no REDIRECT: CLIENT CAPA redirect: %v", srv.Name, c.Version(), err)
		}
		var rec redirects
		viaReplica := capaClient(t, c, replica, false, &rec)
		_, err := viaReplica.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "ta", "1", 0)
			p.Incr(ctx, "tb")
			return nil
		})
		require.NoError(t, err, "the transaction follows REDIRECT to the primary")
		for _, k := range []string{"ta", "tb"} {
			got, err := direct(t, primary).Get(ctx, k).Result()
			require.NoError(t, err, k)
			assert.Equal(t, "1", got, "%s ran once, on the primary", k)
		}
	})
}

// assertRedirected checks that the events are one REDIRECT of cmd from
// one node to the other.
func assertRedirected(t *testing.T, events []redirect.RedirectEvent, from, to, cmd string) {
	t.Helper()
	require.Len(t, events, 1, "one REDIRECT followed: %+v", events)
	e := events[0]
	assert.Equal(t, classify.KindRedirect, e.Kind)
	assert.Equal(t, cmd, strings.ToLower(e.Command))
	assert.Equal(t, from, e.From)
	assert.Equal(t, to, e.To)
}
