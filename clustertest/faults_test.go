package clustertest_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
)

func TestInjectError(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	addr := c.Primary(0)
	p := conn(t, addr, 3)

	require.NoError(t, c.InjectError(addr, clustertest.FaultSpec{Reply: clustertest.ReplyLoading, Count: 2}))
	assert.Equal(t, clustertest.ReplyLoading, reply(p, "SET", "k", "v"))
	assert.Equal(t, clustertest.ReplyLoading, reply(p, "GET", "k"))
	assert.Equal(t, "redis: nil", reply(p, "GET", "k"), "the count is spent, and SET never ran")

	onlyWrites := func(args []string) bool { return strings.EqualFold(args[0], "SET") }
	require.NoError(t, c.InjectError(addr, clustertest.FaultSpec{Reply: clustertest.ReplyReadOnly, Match: onlyWrites}))
	assert.Equal(t, "redis: nil", reply(p, "GET", "k"))
	for range 3 {
		assert.Equal(t, clustertest.ReplyReadOnly, reply(p, "SET", "k", "v"), "no count: until cleared")
	}
	require.NoError(t, c.ClearFaults(addr))
	assert.Equal(t, "OK", reply(p, "SET", "k", "v"))

	// The default match spares the connection set-up and ASKING, so the
	// fault hits the command itself; inside MULTI it dooms the EXEC.
	require.NoError(t, c.InjectError(addr, clustertest.FaultSpec{Reply: clustertest.ReplyMasterDown, Count: 1}))
	fresh := conn(t, addr, 3)
	assert.Equal(t, []string{"OK", clustertest.ReplyMasterDown}, pipeline(t, fresh, args("ASKING"), args("GET", "k")))
	onlyIncr := func(args []string) bool { return strings.EqualFold(args[0], "INCR") }
	require.NoError(t, c.InjectError(addr, clustertest.FaultSpec{Reply: clustertest.ReplyBusy, Count: 1, Match: onlyIncr}))
	assert.Equal(t, []string{"OK", clustertest.ReplyBusy, clustertest.ReplyExecAbort},
		pipeline(t, p, args("MULTI"), args("INCR", "n"), args("EXEC")))

	st, err := c.Stats(addr)
	require.NoError(t, err)
	assert.Equal(t, int64(7), st.InjectedErrors)

	// A fault with a time limit ends by itself.
	require.NoError(t, c.InjectError(addr, clustertest.FaultSpec{Reply: clustertest.ReplyClusterDown, For: 50 * time.Millisecond}))
	assert.Equal(t, clustertest.ReplyClusterDown, reply(p, "GET", "k"))
	require.Eventually(t, func() bool { return reply(p, "GET", "k") == "v" }, 5*time.Second, 5*time.Millisecond)

	for _, bad := range []clustertest.FaultSpec{{}, {Reply: "A\r\nB"}, {Reply: "ERR x", Count: -1}, {Reply: "ERR x", For: -time.Second}} {
		assert.Error(t, c.InjectError(addr, bad), "%+v", bad)
	}
	assert.ErrorIs(t, c.InjectError("nowhere:1", clustertest.FaultSpec{Reply: "ERR x"}), clustertest.ErrUnknownNode)
}

func TestLatency(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	addr := c.Primary(0)
	require.NoError(t, c.SetLatency(addr, time.Second))
	impatient := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: 20 * time.Millisecond, MaxRetries: -1, DisableIndentity: true, Protocol: 2})
	defer impatient.Close()
	err := impatient.Ping(context.Background()).Err()
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "the reply comes after the client's read timeout: %v", err)
	require.NoError(t, c.SetLatency(addr, 0))
	assert.Error(t, c.SetLatency(addr, -time.Second))
}

func TestDropAfterRead(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	ctx := context.Background()
	addr := c.Primary(0)
	p := client(t, addr, 3)
	tests := []struct {
		mode clustertest.DropMode
		ran  bool
	}{{clustertest.DropBeforeExecute, false}, {clustertest.ExecuteThenDrop, true}}
	for _, tt := range tests {
		require.NoError(t, p.Set(ctx, "n", 0, 0).Err())
		require.NoError(t, c.DropAfterRead(addr, 1, tt.mode))
		err := p.Incr(ctx, "n").Err()
		require.Error(t, err)
		assert.True(t, errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "EOF") || errors.Is(err, syscall.ECONNRESET), "%v", err)
		want := "0"
		if tt.ran {
			want = "1"
		}
		assert.Equal(t, want, p.Get(ctx, "n").Val(), "mode %d", tt.mode)
	}
	st, err := c.Stats(addr)
	require.NoError(t, err)
	assert.Equal(t, int64(2), st.Drops)
	assert.Error(t, c.DropAfterRead(addr, -1, clustertest.DropBeforeExecute))
	assert.Error(t, c.DropAfterRead(addr, 1, clustertest.DropMode(7)))
}

func TestCloseListener(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	addr := c.Primary(0)
	open := conn(t, addr, 3)
	require.Equal(t, "PONG", reply(open, "PING"))
	require.NoError(t, c.CloseListener(addr))
	_, err := net.Dial("tcp", addr)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Equal(t, "PONG", reply(open, "PING"), "open connections keep working")
	require.NoError(t, c.RestartNode(addr))
	assert.Equal(t, "PONG", reply(conn(t, addr, 3), "PING"))
}

// The counters are exact under concurrency: 1,000 commands sent at once to
// the wrong node give 1,000 MOVED, and the topology fetches are counted
// apart from them.
func TestCountersUnderConcurrency(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	ctx := context.Background()
	wrong := redis.NewClient(&redis.Options{Addr: c.Primary(0), PoolSize: 32, MaxRetries: -1, DisableIndentity: true})
	defer wrong.Close()
	key := keyOn(t, c, 1)
	c.ResetStats()

	var wg sync.WaitGroup
	for range 1000 {
		wg.Go(func() { _ = wrong.Get(ctx, key).Err() })
	}
	wg.Wait()
	require.NoError(t, wrong.ClusterShards(ctx).Err())
	require.NoError(t, wrong.ClusterSlots(ctx).Err())

	st, err := c.Stats(c.Primary(0))
	require.NoError(t, err)
	assert.Equal(t, int64(1000), st.Redirects["MOVED"])
	assert.Equal(t, int64(1000), st.Commands["GET"])
	assert.Equal(t, int64(1), st.Commands["CLUSTER SHARDS"])
	assert.Equal(t, int64(1), st.Commands["CLUSTER SLOTS"])
	assert.Equal(t, int64(2), st.Commands["CLUSTER"])
	assert.Equal(t, int64(2), st.TopologyFetches)
	assert.LessOrEqual(t, st.Connections, int64(32))
	total := c.Counters()
	assert.Equal(t, int64(1000), total.Redirects["MOVED"])
	other, err := c.Stats(c.Primary(1))
	require.NoError(t, err)
	assert.Zero(t, other.Commands["GET"])
	_, err = c.Stats("nowhere:1")
	assert.ErrorIs(t, err, clustertest.ErrUnknownNode)
}
