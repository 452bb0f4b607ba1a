package clustertest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/slotmap"
)

// client returns a plain client of one node, closed with the test.
func client(t *testing.T, addr string, protocol int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: protocol, MaxRetries: -1, DisableIndentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// keyOn returns a key whose slot shard's primary owns in a fresh cluster
// of three shards.
func keyOn(t *testing.T, c *clustertest.Cluster, shard int) string {
	t.Helper()
	for i := 0; ; i++ {
		k := fmt.Sprintf("key:%d", i)
		if c.SlotOwner(slotmap.Slot(k)) == c.Primary(shard) {
			return k
		}
	}
}

func TestSlotsSplitLikeRedisCli(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	tests := []struct {
		slot  int
		shard int
	}{{0, 0}, {5460, 0}, {5461, 1}, {10922, 1}, {10923, 2}, {16383, 2}}
	for _, tt := range tests {
		assert.Equal(t, c.Primary(tt.shard), c.SlotOwner(tt.slot), "slot %d", tt.slot)
	}
	assert.Len(t, c.Addrs(), 6)
	for _, a := range c.Addrs() {
		assert.Regexp(t, `^[0-9a-f]{40}$`, c.NodeID(a))
	}
}

func TestMovedForForeignSlot(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{})
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			key := keyOn(t, c, 1)
			err := client(t, c.Primary(0), proto).Set(ctx, key, "v", 0).Err()
			require.Error(t, err)
			assert.Equal(t, fmt.Sprintf("MOVED %d %s", slotmap.Slot(key), c.Primary(1)), err.Error())

			owner := client(t, c.Primary(1), proto)
			require.NoError(t, owner.Set(ctx, key, "v", 0).Err())
			assert.Equal(t, "v", owner.Get(ctx, key).Val())
		})
	}
}

func TestClusterShardsAndSlotsParseInGoRedis(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			cl := client(t, c.Primary(0), proto)
			shards, err := cl.ClusterShards(ctx).Result()
			require.NoError(t, err)
			require.Len(t, shards, 3)
			for i, s := range shards {
				want := [][2]int64{{0, 5460}, {5461, 10922}, {10923, 16383}}[i]
				require.Len(t, s.Slots, 1)
				assert.Equal(t, want[0], s.Slots[0].Start)
				assert.Equal(t, want[1], s.Slots[0].End)
				require.Len(t, s.Nodes, 2)
				assert.Equal(t, "master", s.Nodes[0].Role)
				assert.Equal(t, "replica", s.Nodes[1].Role)
				assert.Equal(t, c.NodeID(c.Primary(i)), s.Nodes[0].ID)
				assert.Equal(t, c.Primary(i), fmt.Sprintf("%s:%d", s.Nodes[0].Endpoint, s.Nodes[0].Port))
				assert.Equal(t, "online", s.Nodes[1].Health)
			}

			slots, err := cl.ClusterSlots(ctx).Result()
			require.NoError(t, err)
			require.Len(t, slots, 3)
			assert.Equal(t, 5461, slots[1].Start)
			assert.Equal(t, 10922, slots[1].End)
			require.Len(t, slots[1].Nodes, 2)
			assert.Equal(t, c.Primary(1), slots[1].Nodes[0].Addr)
			assert.Equal(t, c.Replicas(1)[0], slots[1].Nodes[1].Addr)
		})
	}
}

func TestClusterClientWorks(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()[:1], DisableIndentity: true})
	defer cc.Close()
	for i := range 100 {
		require.NoError(t, cc.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err())
	}
	for i := range 100 {
		v, err := cc.Get(ctx, fmt.Sprintf("k%d", i)).Int()
		require.NoError(t, err)
		assert.Equal(t, i, v)
	}
	assert.Zero(t, c.Counters().Redirects["MOVED"], "the client routed every key itself")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg     clustertest.Config
		wantErr string
	}{
		{clustertest.Config{}, ""},
		{clustertest.Config{Shards: 1, ReplicasPerShard: 2}, ""},
		{clustertest.Config{Shards: -1}, "Config.Shards is -1"},
		{clustertest.Config{Shards: 100000}, "Config.Shards is 100000"},
		{clustertest.Config{ReplicasPerShard: -2}, "Config.ReplicasPerShard is -2"},
		{clustertest.Config{PreferredEndpoint: "dns"}, `Config.PreferredEndpoint is "dns"`},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.wantErr == "" {
			assert.NoError(t, err, "%+v", tt.cfg)
			continue
		}
		assert.ErrorContains(t, err, tt.wantErr)
		_, err = clustertest.Start(tt.cfg)
		assert.ErrorContains(t, err, tt.wantErr, "Start validates")
	}
}

// Close ends connections blocked in a command, and the goroutines of
// subscribed connections (TestMain checks for leaks).
func TestCloseEndsBlockedAndSubscribedConnections(t *testing.T) {
	c, err := clustertest.Start(clustertest.Config{Shards: 1})
	require.NoError(t, err)
	ctx := context.Background()
	cl := client(t, c.Primary(0), 3)

	sub := cl.Subscribe(ctx, "news")
	defer sub.Close()
	_, err = sub.Receive(ctx)
	require.NoError(t, err)
	require.NoError(t, client(t, c.Primary(0), 3).Publish(ctx, "news", "hello").Err())
	msg, err := sub.ReceiveMessage(ctx)
	require.NoError(t, err)
	assert.Equal(t, "hello", msg.Payload)

	blocked := make(chan error, 1)
	go func() { blocked <- cl.BLPop(ctx, 0, "{b}list").Err() }()
	require.Eventually(t, func() bool {
		st, err := c.Stats(c.Primary(0))
		return err == nil && st.Commands["BLPOP"] == 1
	}, 5*time.Second, time.Millisecond)

	require.NoError(t, c.Close())
	assert.Error(t, <-blocked)
	require.NoError(t, c.Close(), "a second Close does nothing")
	assert.ErrorIs(t, c.BeginMigration(0, c.Primary(0)), clustertest.ErrClosed)
	_, err = c.AddNode()
	assert.ErrorIs(t, err, clustertest.ErrClosed)
}
