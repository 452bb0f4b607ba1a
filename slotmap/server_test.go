package slotmap

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestRealCluster starts a three-node cluster (two primaries, one replica)
// on loopback and checks that CLUSTER SHARDS and CLUSTER SLOTS, asked of
// every node, parse into views that route alike.
func TestRealCluster(t *testing.T) {
	if os.Getenv("CLUSTERHOP_INTEGRATION") != "1" {
		t.Log("NOTICE: TestRealCluster skipped: set CLUSTERHOP_INTEGRATION=1 to run it against redis-server")
		t.Skip("CLUSTERHOP_INTEGRATION is not 1")
	}
	server, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed, and CI=true requires the real-cluster test to run")
		}
		t.Log("NOTICE: TestRealCluster skipped: redis-server is not installed")
		t.Skip("no redis-server")
	}
	defer goleak.VerifyNone(t)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nodes := startCluster(ctx, t, server)

	for _, n := range nodes {
		shards, err := n.ClusterShards(ctx).Result()
		require.NoError(t, err)
		slots, err := n.ClusterSlots(ctx).Result()
		require.NoError(t, err)
		addr := n.Options().Addr
		fromShards, err := ParseShards(shards, addr, false)
		require.NoError(t, err, "CLUSTER SHARDS from %s", addr)
		fromSlots, err := ParseSlots(slots, addr)
		require.NoError(t, err, "CLUSTER SLOTS from %s", addr)
		checkInvariants(t, fromShards)
		checkInvariants(t, fromSlots)

		assert.Equal(t, SlotCount, fromShards.Covered())
		assert.Equal(t, owners(fromShards), owners(fromSlots), "same owner for every slot (asked %s)", addr)
		assert.ElementsMatch(t, fromShards.Addrs(), fromSlots.Addrs())
		for _, s := range fromShards.Shards() {
			o := must(fromSlots.Shard(s.Ranges[0].Start))
			assert.Equal(t, s.Primary.ID, o.Primary.ID)
			assert.Equal(t, s.Ranges, o.Ranges)
			assert.ElementsMatch(t, addrsOf(s.Replicas), addrsOf(o.Replicas))
			assert.Equal(t, HealthOnline, s.Primary.Health)
		}
		require.Len(t, must(fromShards.Shard(0)).Replicas, 1)

		fetched, err := Fetch(ctx, n, addr, false)
		require.NoError(t, err)
		assert.True(t, sameRouting(fetched, fromShards))
	}

	// A map over the real nodes: refresh from a seed, then from the sample.
	clients := map[string]*redis.Client{}
	for _, n := range nodes {
		clients[n.Options().Addr] = n
	}
	m, err := NewMap(Config{
		Seeds: []string{nodes[2].Options().Addr},
		Fetch: func(ctx context.Context, addr string) (*Topology, error) {
			c := clients[addr]
			if c == nil {
				return nil, fmt.Errorf("no client for %s", addr)
			}
			return Fetch(ctx, c, addr, false)
		},
		MinInterval: time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, m.Refresh(ctx, ReasonInitial))
	require.NoError(t, m.Refresh(ctx, ReasonManual))
	key := "{user1000}.following"
	require.NoError(t, clients[must(m.Load().PrimaryAddr(Slot(key)))].Set(ctx, key, "v", 0).Err(),
		"the primary the map names accepts a write to the key")
	require.NoError(t, m.Close())
}

// startCluster runs three redis-server processes in a temporary directory
// and joins them: the first two share the slots, the third replicates the
// first. The processes are killed when the test ends.
func startCluster(ctx context.Context, t *testing.T, server string) []*redis.Client {
	t.Helper()
	dir := t.TempDir()
	ports := freePorts(t, 6)
	var clients []*redis.Client
	for i := range 3 {
		port, bus := ports[2*i], ports[2*i+1]
		cmd := exec.Command(server,
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port),
			"--cluster-node-timeout", "5000",
			"--dir", dir, "--save", "", "--appendonly", "no", "--logfile", fmt.Sprintf("redis-%d.log", port))
		cmd.Dir = dir
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		c := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), MaxRetries: -1})
		t.Cleanup(func() { _ = c.Close() })
		clients = append(clients, c)
	}
	for _, c := range clients {
		require.Eventually(t, func() bool { return c.Ping(ctx).Err() == nil }, 10*time.Second, 20*time.Millisecond, "%s starts", c.Options().Addr)
	}
	require.NoError(t, clients[0].ClusterAddSlotsRange(ctx, 0, 8191).Err())
	require.NoError(t, clients[1].ClusterAddSlotsRange(ctx, 8192, 16383).Err())
	for _, i := range []int{1, 2} {
		// The bus port is not port+10000, so MEET names it.
		require.NoError(t, clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", ports[2*i], ports[2*i+1]).Err())
	}
	primaryID, err := clients[0].Do(ctx, "CLUSTER", "MYID").Text()
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		nodes, err := clients[2].ClusterNodes(ctx).Result()
		return err == nil && strings.Contains(nodes, primaryID)
	}, 20*time.Second, 20*time.Millisecond, "the replica learns of its primary")
	require.NoError(t, clients[2].ClusterReplicate(ctx, primaryID).Err())

	// Ready when every node reports the cluster up and the same three
	// online nodes in CLUSTER SHARDS.
	require.Eventually(t, func() bool {
		for _, c := range clients {
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
			shards, err := c.ClusterShards(ctx).Result()
			if err != nil {
				return false
			}
			var online []string
			for _, s := range shards {
				for _, n := range s.Nodes {
					if n.Health == "online" {
						online = append(online, n.ID)
					}
				}
			}
			if len(online) != 3 || len(shards) != 2 || slices.ContainsFunc(shards, func(s redis.ClusterShard) bool { return len(s.Slots) == 0 }) {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "the cluster converges")
	return clients
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		require.NoError(t, l.Close())
	}
	return ports
}
