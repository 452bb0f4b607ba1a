package clustertest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/slotmap"
)

// The replies below are those a Redis 7.0 cluster gives in the same steps
// (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE of {a}x only).
func TestMigrationStepsAnswerAskTryagainMoved(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	slot := slotmap.Slot("{a}")
	src, dst := c.Primary(2), c.Primary(0)
	require.Equal(t, src, c.SlotOwner(slot))
	ask := fmt.Sprintf("ASK %d %s", slot, dst)
	movedBack := fmt.Sprintf("MOVED %d %s", slot, src)
	movedNew := fmt.Sprintf("MOVED %d %s", slot, dst)

	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			s, d := conn(t, src, proto), conn(t, dst, proto)
			require.Equal(t, "OK", reply(s, "MSET", "{a}x", 1, "{a}y", 2))
			require.NoError(t, c.BeginMigration(slot, dst))
			moved, err := c.MigrateKey(slot)
			require.NoError(t, err)
			require.True(t, moved)
			// Keys are moved in order: {a}x first.

			steps := []struct {
				name string
				node *redis.Client
				cmds [][]any
				want []string
			}{
				{"source serves a key it holds", s, [][]any{{"GET", "{a}y"}}, []string{"2"}},
				{"source sends a moved key to the target", s, [][]any{{"GET", "{a}x"}}, []string{ask}},
				{"source asks for a new key too", s, [][]any{{"SET", "{a}new", 1}}, []string{ask}},
				{"keys split between nodes", s, [][]any{{"MGET", "{a}x", "{a}y"}}, []string{clustertest.ReplyTryAgain}},
				{"no key on the source", s, [][]any{{"MGET", "{a}x", "{a}z"}}, []string{ask}},
				{"one key twice is one key", s, [][]any{{"MGET", "{a}y", "{a}y"}}, []string{"[2 2]"}},
				{"target without ASKING", d, [][]any{{"GET", "{a}x"}}, []string{movedBack}},
				{"target with ASKING", d, [][]any{{"ASKING"}, {"GET", "{a}x"}}, []string{"OK", "1"}},
				{"ASKING lasts one command", d, [][]any{{"ASKING"}, {"PING"}, {"GET", "{a}x"}}, []string{"OK", "PONG", movedBack}},
				{"target misses a key", d, [][]any{{"ASKING"}, {"MGET", "{a}x", "{a}y"}}, []string{"OK", clustertest.ReplyTryAgain}},
				{"ASKING before MULTI covers the transaction", d,
					[][]any{{"ASKING"}, {"MULTI"}, {"GET", "{a}x"}, {"SET", "{a}x", 5}, {"EXEC"}},
					[]string{"OK", "OK", "QUEUED", "QUEUED", "[1 OK]"}},
				{"MULTI without ASKING aborts", d,
					[][]any{{"MULTI"}, {"GET", "{a}x"}, {"EXEC"}},
					[]string{"OK", movedBack, clustertest.ReplyExecAbort}},
				{"replica of the source", conn(t, c.Replicas(2)[0], proto), [][]any{{"GET", "{a}x"}}, []string{movedBack}},
			}
			for _, st := range steps {
				assert.Equal(t, st.want, pipeline(t, st.node, st.cmds...), st.name)
			}
			assert.Contains(t, reply(s, "CLUSTER", "NODES"), fmt.Sprintf("[%d->-%s]", slot, c.NodeID(dst)))
			assert.Contains(t, reply(d, "CLUSTER", "NODES"), fmt.Sprintf("[%d-<-%s]", slot, c.NodeID(src)))
			assert.Equal(t, "1", reply(s, "CLUSTER", "COUNTKEYSINSLOT", slot))

			require.NoError(t, c.FinishMigration(slot))
			assert.Equal(t, dst, c.SlotOwner(slot))
			assert.Equal(t, movedNew, reply(s, "GET", "{a}y"))
			assert.Equal(t, "[5 2]", reply(d, "MGET", "{a}x", "{a}y"), "every key arrived, with the transaction's write")
			assert.NotContains(t, reply(d, "CLUSTER", "NODES"), "[")

			// Put the slot back for the next protocol.
			require.NoError(t, c.MigrateSlot(slot, src))
			require.Equal(t, "OK", reply(s, "FLUSHALL"))
		})
	}
	assert.Positive(t, c.Counters().Redirects["ASK"])
	assert.Positive(t, c.Counters().Redirects["TRYAGAIN"])
}

func TestMigrationErrors(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2, ReplicasPerShard: 1})
	_, err := c.MigrateKey(0)
	assert.ErrorIs(t, err, clustertest.ErrNotMigrating)
	assert.ErrorIs(t, c.FinishMigration(0), clustertest.ErrNotMigrating)
	assert.ErrorIs(t, c.BeginMigration(0, "127.0.0.1:1"), clustertest.ErrUnknownNode)
	assert.Error(t, c.BeginMigration(0, c.Replicas(1)[0]), "a replica cannot import")
	assert.Error(t, c.BeginMigration(0, c.Primary(0)), "already the owner")
	assert.Error(t, c.BeginMigration(16384, c.Primary(1)))
	require.NoError(t, c.BeginMigration(0, c.Primary(1)))
	assert.Error(t, c.BeginMigration(0, c.Primary(1)), "already migrating")
	assert.Error(t, c.DelSlots(0, 0), "migrating slots cannot be deleted")
	n, err := c.MigrateKeys(0, 10)
	require.NoError(t, err)
	assert.Zero(t, n, "the slot is empty")
}

func TestAddNodeThenMigrateSlotToIt(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 2})
	ctx := context.Background()
	addr, err := c.AddNode()
	require.NoError(t, err)
	assert.Equal(t, 3, c.Shards())
	assert.Equal(t, addr, c.Primary(2))

	key := "{b}k"
	owner := client(t, c.SlotOwner(slotmap.Slot(key)), 3)
	require.NoError(t, owner.RPush(ctx, key, "a", "b").Err())
	require.NoError(t, owner.Expire(ctx, key, 100_000_000_000).Err())
	require.NoError(t, c.MigrateSlot(slotmap.Slot(key), addr))

	n := client(t, addr, 3)
	assert.Equal(t, []string{"a", "b"}, n.LRange(ctx, key, 0, -1).Val(), "lists move whole")
	assert.Positive(t, n.TTL(ctx, key).Val(), "the TTL moves with the key")
	shards, err := n.ClusterShards(ctx).Result()
	require.NoError(t, err)
	require.Len(t, shards, 3)
	assert.Equal(t, []redis.SlotRange{{Start: int64(slotmap.Slot(key)), End: int64(slotmap.Slot(key))}}, shards[2].Slots)
	assert.Contains(t, reply(conn(t, addr, 3), "CLUSTER", "INFO"), "cluster_size:3\r\n")
}

// A cluster client keeps every write through a live resharding of all the
// slots it writes to.
func TestClusterClientThroughMigration(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DisableIndentity: true, MaxRedirects: 16})
	defer cc.Close()
	slot := slotmap.Slot("{u}")
	to := c.Primary((c.ShardOf(c.SlotOwner(slot)) + 1) % 3)

	done := make(chan error, 1)
	go func() {
		for i := range 300 {
			if err := cc.Set(ctx, fmt.Sprintf("{u}%d", i), i, 0).Err(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	require.NoError(t, c.BeginMigration(slot, to))
	// Move keys as they arrive until the writer is done, so that writes
	// meet every state of the slot.
	var werr error
	for finished := false; !finished; {
		select {
		case werr = <-done:
			finished = true
		default:
			_, err := c.MigrateKey(slot)
			require.NoError(t, err)
		}
	}
	require.NoError(t, werr)
	require.NoError(t, c.FinishMigration(slot))
	for i := range 300 {
		v, err := cc.Get(ctx, fmt.Sprintf("{u}%d", i)).Int()
		require.NoError(t, err)
		assert.Equal(t, i, v)
	}
	keys, err := client(t, to, 3).Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.Len(t, keys, 300, "every key is on the new owner")
}
