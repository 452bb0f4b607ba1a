package clustertest_test

import (
	"context"
	"fmt"
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
	"github.com/clusterhop/clusterhop/slotmap"
)

func TestFailoverSwapsRoles(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	ctx := context.Background()
	key := keyOn(t, c, 1)
	oldPrimary, replica := c.Primary(1), c.Replicas(1)[0]
	old := conn(t, oldPrimary, 3)
	require.Equal(t, "OK", reply(old, "SET", key, "v"))

	require.NoError(t, c.Failover(1, clustertest.FailoverOptions{}))
	assert.Equal(t, replica, c.Primary(1))
	assert.Equal(t, []string{oldPrimary}, c.Replicas(1))
	assert.Equal(t, fmt.Sprintf("MOVED %d %s", slotmap.Slot(key), replica), reply(old, "SET", key, "w"),
		"the old primary's open connection is redirected")
	assert.Equal(t, "v", reply(conn(t, replica, 3), "GET", key), "nothing is lost")

	shards, err := client(t, c.Primary(0), 3).ClusterShards(ctx).Result()
	require.NoError(t, err)
	assert.Equal(t, c.NodeID(replica), shards[1].Nodes[0].ID)
	assert.Equal(t, "master", shards[1].Nodes[0].Role)
	nodes := reply(conn(t, replica, 3), "CLUSTER", "NODES")
	assert.Contains(t, nodes, c.NodeID(oldPrimary)+" "+oldPrimary)
	assert.Contains(t, nodes, "slave "+c.NodeID(replica))
	assert.Contains(t, reply(conn(t, replica, 3), "CLUSTER", "INFO"), "cluster_my_epoch:4\r\n", "the new primary has the newest epoch")

	assert.Contains(t, reply(old, "INFO", "replication"), "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:")
	assert.Contains(t, reply(conn(t, replica, 3), "INFO"), "role:master\r\nconnected_slaves:1\r\n")

	role, err := client(t, replica, 3).Do(ctx, "ROLE").Slice()
	require.NoError(t, err)
	require.Len(t, role, 3)
	assert.Equal(t, "master", role[0], "ROLE of the promoted replica")
	role, err = client(t, oldPrimary, 3).Do(ctx, "ROLE").Slice()
	require.NoError(t, err)
	require.Len(t, role, 5)
	assert.Equal(t, []any{"slave", "127.0.0.1"}, role[:2], "ROLE of the old primary")
	assert.Equal(t, "connected", role[3])

	require.Error(t, clustertest.New(t, clustertest.Config{Shards: 1}).Failover(0, clustertest.FailoverOptions{}), "no replica")
	require.Error(t, c.Failover(3, clustertest.FailoverOptions{}), "no such shard")
}

func TestFailoverWindow(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	key, other := keyOn(t, c, 1), keyOn(t, c, 0)
	oldPrimary, replica := c.Primary(1), c.Replicas(1)[0]
	p0 := conn(t, c.Primary(0), 3)

	require.NoError(t, c.Failover(1, clustertest.FailoverOptions{DownFor: 300 * time.Millisecond, RefuseConns: true}))
	assert.Equal(t, clustertest.ReplyClusterDown, reply(p0, "GET", key), "the shard's slots are down")
	assert.Equal(t, "redis: nil", reply(p0, "GET", other), "other shards serve")
	assert.Contains(t, reply(p0, "CLUSTER", "INFO"), "cluster_state:fail\r\n")
	_, err := net.Dial("tcp", oldPrimary)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "the old primary is down")
	assert.Contains(t, reply(p0, "CLUSTER", "NODES"), c.NodeID(oldPrimary)+" "+oldPrimary+"@")

	require.Eventually(t, func() bool {
		return reply(p0, "GET", key) == fmt.Sprintf("MOVED %d %s", slotmap.Slot(key), replica)
	}, 5*time.Second, 10*time.Millisecond, "the window ends")
	require.Eventually(t, func() bool {
		return reply(client(t, oldPrimary, 3), "GET", key) == fmt.Sprintf("MOVED %d %s", slotmap.Slot(key), replica)
	}, 5*time.Second, 10*time.Millisecond, "the old primary is back, as a replica")
	assert.Contains(t, reply(p0, "CLUSTER", "INFO"), "cluster_state:ok\r\n")
}

func TestKillAndRestartNode(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2, ReplicasPerShard: 1})
	ctx := context.Background()
	addr := c.Primary(0)
	key := keyOn(t, c, 0)
	open := conn(t, addr, 3)
	require.Equal(t, "OK", reply(open, "SET", key, "v"))

	require.NoError(t, c.KillNode(addr))
	assert.Error(t, open.Ping(ctx).Err(), "open connections drop")
	_, err := net.Dial("tcp", addr)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	shards, err := client(t, c.Primary(1), 3).ClusterShards(ctx).Result()
	require.NoError(t, err)
	assert.Equal(t, "fail", shards[0].Nodes[0].Health)
	assert.Equal(t, fmt.Sprintf("MOVED %d %s", slotmap.Slot(key), addr), reply(conn(t, c.Primary(1), 3), "GET", key),
		"the cluster still points at the dead primary until a failover")

	require.NoError(t, c.RestartNode(addr))
	assert.Equal(t, "v", reply(conn(t, addr, 3), "GET", key), "the data survives")
	shards, err = client(t, c.Primary(1), 3).ClusterShards(ctx).Result()
	require.NoError(t, err)
	assert.Equal(t, "online", shards[0].Nodes[0].Health)
	assert.ErrorIs(t, c.KillNode("127.0.0.1:1"), clustertest.ErrUnknownNode)

	// A killed replica leaves CLUSTER SLOTS, as a failed replica does.
	require.NoError(t, c.KillNode(c.Replicas(1)[0]))
	slots, err := client(t, addr, 3).ClusterSlots(ctx).Result()
	require.NoError(t, err)
	assert.Len(t, slots[1].Nodes, 1)
}

func TestClusterClientThroughFailover(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DisableIndentity: true})
	defer cc.Close()
	key := keyOn(t, c, 2)
	oldPrimary := c.Primary(2)
	require.NoError(t, cc.Set(ctx, key, "v", 0).Err())
	require.NoError(t, c.Failover(2, clustertest.FailoverOptions{}))
	require.NoError(t, cc.Set(ctx, key, "w", 0).Err(), "go-redis follows the MOVED")
	assert.Equal(t, "w", cc.Get(ctx, key).Val())
	st, err := c.Stats(oldPrimary)
	require.NoError(t, err)
	assert.Positive(t, st.Redirects["MOVED"], "the old primary redirected the client")
}

// A killed node runs nothing more: a pipeline's commands it had read but
// not yet run must not run later, after their client saw the connection
// drop and moved on (a real crashed process runs nothing). The test waits
// for events, not time: the kill comes once the first INCR has run, and
// the check once the node's connection has gone through every command of
// the pipeline, run or dropped.
func TestKilledNodeRunsNoBufferedCommand(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1, ReplicasPerShard: 1})
	primary := c.Primary(0)
	rdb := redis.NewClient(&redis.Options{Addr: primary, MaxRetries: -1, PoolSize: 1})
	defer rdb.Close()
	replica := redis.NewClient(&redis.Options{Addr: c.Replicas(0)[0], MaxRetries: -1,
		OnConnect: func(ctx context.Context, cn *redis.Conn) error { return cn.ReadOnly(ctx).Err() }})
	defer replica.Close()
	ctx := context.Background()
	require.NoError(t, rdb.Ping(ctx).Err()) // the connection is set up before the latency
	// The pipeline ends with GET end: the node's connection reaching it
	// has gone through every INCR before it. A fault that never matches
	// is how the test hears that.
	reached := make(chan struct{})
	var once sync.Once
	require.NoError(t, c.InjectError(primary, clustertest.FaultSpec{Reply: "ERR never sent", Match: func(args []string) bool {
		if len(args) == 2 && strings.EqualFold(args[0], "get") && args[1] == "end" {
			once.Do(func() { close(reached) })
		}
		return false
	}}))
	// Each command waits out the latency before it runs, so the node has
	// read commands it has not run yet.
	require.NoError(t, c.SetLatency(primary, 200*time.Millisecond))

	done := make(chan error, 1)
	go func() {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := 0; i < 5; i++ {
				p.Incr(ctx, "n")
			}
			p.Get(ctx, "end")
			return nil
		})
		done <- err
	}()
	count := func() int {
		n, err := replica.Get(ctx, "n").Int()
		if err != redis.Nil { //nolint:errorlint // go-redis returns redis.Nil unwrapped
			require.NoError(t, err)
		}
		return n
	}
	// The node counts a command when it receives it, before its latency:
	// a second INCR received means the first has run.
	require.Eventually(t, func() bool {
		st, err := c.Stats(primary)
		require.NoError(t, err)
		return st.Commands["INCR"] >= 2
	}, 10*time.Second, time.Millisecond)
	require.NoError(t, c.KillNode(primary))
	// KillNode waits for the command running now: what ran before the
	// crash has run; nothing may run from here on.
	atKill := count()
	require.NoError(t, c.SetLatency(primary, 0)) // the rest need not wait to be dropped
	require.Error(t, <-done, "the pipeline's connection dropped")
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatal("the killed node's connection never went through the rest of the pipeline")
	}
	assert.Equal(t, atKill, count(), "commands read before the kill ran after it")
	assert.Less(t, atKill, 5, "every INCR ran before the kill: the test checked nothing")
}
