package redirect_test

import (
	"context"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

type nodeEvents struct {
	mu sync.Mutex
	ev []redirect.NodeEvent
}

func (n *nodeEvents) report(e redirect.NodeEvent) { n.mu.Lock(); n.ev = append(n.ev, e); n.mu.Unlock() }

func (n *nodeEvents) of(k classify.Kind) []redirect.NodeEvent {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []redirect.NodeEvent
	for _, e := range n.ev {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// On go-redis's ClusterClient, the node hook reports the redirections the
// ClusterClient follows (which go-redis records nowhere), and leaves them
// to it: the ClusterClient still works.
func TestOnNewNodeReportsRedirections(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	var ev nodeEvents
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Primary(0)}, MaxRetries: -1})
	cc.OnNewNode(redirect.OnNewNode(redirect.NodeOptions{Report: ev.report}))
	defer cc.Close()
	ctx := context.Background()
	k := keyOn(t, c, 0, "nh")
	require.NoError(t, cc.Set(ctx, k, "v", 0).Err())
	slot := slotmap.Slot(k)
	require.NoError(t, c.MigrateSlot(slot, c.Primary(1)))

	v, err := cc.Get(ctx, k).Result()
	require.NoError(t, err, "the ClusterClient followed the MOVED")
	assert.Equal(t, "v", v)
	moved := ev.of(classify.KindMoved)
	require.NotEmpty(t, moved)
	assert.Equal(t, slot, moved[0].Slot)
	assert.Equal(t, c.Primary(1), moved[0].To)
	assert.Equal(t, c.Primary(0), moved[0].Addr)
}

// ClusterClient re-sends a command whose reply was lost; the node hook
// stops it, so an INCR runs once and fails as in doubt.
func TestOnNewNodeStopsInDoubtResend(t *testing.T) {
	for _, hooked := range []bool{false, true} {
		c := clustertest.New(t, clustertest.Config{Shards: 1})
		var ev nodeEvents
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Primary(0)}, MaxRetries: -1})
		if hooked {
			cc.OnNewNode(redirect.OnNewNode(redirect.NodeOptions{Report: ev.report}))
		}
		ctx := context.Background()
		require.NoError(t, cc.Set(ctx, "n", 0, 0).Err())
		require.NoError(t, c.DropAfterRead(c.Primary(0), 1, clustertest.ExecuteThenDrop))
		err := cc.Incr(ctx, "n").Err()
		n, gerr := cc.Get(ctx, "n").Int()
		require.NoError(t, gerr)
		cc.Close()
		if !hooked {
			// go-redis's own behaviour, the reason for the hook.
			assert.NoError(t, err)
			assert.Equal(t, 2, n, "ClusterClient re-sent an INCR that had run")
			continue
		}
		require.Error(t, err)
		assert.True(t, classify.InDoubt(err), "%v", err)
		assert.Equal(t, 1, n, "the INCR ran once")
		stopped := ev.of(classify.KindConnection)
		require.Len(t, stopped, 1)
		assert.True(t, stopped[0].Stopped && stopped[0].InDoubt)
	}
}
