package clustertest_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/slotmap"
)

// The replies are those of Redis 7.0.15 with cluster-announce-hostname set
// and each cluster-preferred-endpoint-type.
func TestPreferredEndpoint(t *testing.T) {
	// Node 1, the primary of shard 1, announces no hostname.
	hostname := func(n int) string {
		if n == 1 {
			return ""
		}
		return "localhost"
	}
	tests := []struct {
		pref       clustertest.Endpoint
		moved0     string // MOVED to shard 0's primary: "<ep>:<port>"
		moved1     string
		slotsHead  string // shard 0's primary in CLUSTER SLOTS, before the port
		slotsExtra string
		endpoint   string // in CLUSTER SHARDS
	}{
		{clustertest.EndpointIP, "127.0.0.1", "127.0.0.1", `"127.0.0.1"`, `["hostname", "localhost"]`, `"127.0.0.1"`},
		{clustertest.EndpointHostname, "localhost", "?", `"localhost"`, `["ip", "127.0.0.1"]`, `"localhost"`},
		{clustertest.EndpointUnknown, "", "", `(nil)`, `["ip", "127.0.0.1", "hostname", "localhost"]`, `""`},
	}
	for _, tt := range tests {
		t.Run(string(tt.pref), func(t *testing.T) {
			c := clustertest.New(t, clustertest.Config{Shards: 2, ReplicasPerShard: 1, Hostname: hostname, PreferredEndpoint: tt.pref})
			port := func(shard int) string { return strings.Split(c.Primary(shard), ":")[1] }
			rc, err := dialResp(c.Replicas(0)[0])
			require.NoError(t, err)
			defer rc.nc.Close()

			got, err := rc.do("GET", "{b}")
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("-MOVED %d %s:%s", slotmap.Slot("{b}"), tt.moved0, port(0)), got)
			got, err = rc.do("GET", "{a}")
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("-MOVED %d %s:%s", slotmap.Slot("{a}"), tt.moved1, port(1)), got)

			slots, err := rc.do("CLUSTER", "SLOTS")
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(slots, fmt.Sprintf(`[[:0, :8191, [%s, :%s, "%s", %s]`,
				tt.slotsHead, port(0), c.NodeID(c.Primary(0)), tt.slotsExtra)), slots)

			shards, err := rc.do("CLUSTER", "SHARDS")
			require.NoError(t, err)
			assert.Contains(t, shards, fmt.Sprintf(`"ip", "127.0.0.1", "endpoint", %s, "hostname", "localhost", "role", "master"`, tt.endpoint))

			nodes, err := rc.do("CLUSTER", "NODES")
			require.NoError(t, err)
			assert.Contains(t, nodes, c.Primary(0)+"@"+strconv.Itoa(atoi(t, port(0))+10000)+",localhost master")
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// go-redis dials the hostnames the cluster announces.
func TestClusterClientDialsHostnames(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{
		Shards:            3,
		Hostname:          func(int) string { return "localhost" },
		PreferredEndpoint: clustertest.EndpointHostname,
	})
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()[:1], DisableIndentity: true})
	defer cc.Close()
	for i := range 30 {
		require.NoError(t, cc.Set(ctx, fmt.Sprint("k", i), i, 0).Err())
	}
	slots, err := cc.ClusterSlots(ctx).Result()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(slots[0].Nodes[0].Addr, "localhost:"), slots[0].Nodes[0].Addr)
}
