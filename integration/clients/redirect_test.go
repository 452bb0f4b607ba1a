package clients_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

func TestHookOnOneNodeServesEverySlotRange(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		var k kinds
		rdb := hooked(t, c.Primaries()[1], redirect.Options{Observer: k.observer()})
		ctx := context.Background()

		const n = 2000
		for i := 0; i < n; i++ {
			require.NoError(t, rdb.Set(ctx, "hook:"+strconv.Itoa(i), i, 0).Err())
		}
		cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := 0; i < n; i++ {
				p.Get(ctx, "hook:"+strconv.Itoa(i))
			}
			return nil
		})
		require.NoError(t, err)
		for i, cmd := range cmds {
			v, err := cmd.(*redis.StringCmd).Int()
			require.NoError(t, err)
			require.Equal(t, i, v)
		}
		owners := map[string]bool{}
		for i := 0; i < n; i++ {
			owners[c.Owner(slotmap.Slot("hook:"+strconv.Itoa(i)))] = true
		}
		assert.Len(t, owners, 3, "the keys span every primary")
		assert.Positive(t, k.redirected(classify.KindMoved), "the node's MOVED replies were followed")

		// A transaction whose slot another node serves.
		tag := tagOn(t, c, c.Primaries()[2], "hooktx")
		_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, tag+"a", "1", 0)
			p.Incr(ctx, tag+"b")
			return nil
		})
		require.NoError(t, err)
		v, err := rdb.Get(ctx, tag+"b").Int()
		require.NoError(t, err)
		assert.Equal(t, 1, v)
	})
}

// migrateUnderLoad moves the slot of tag to another primary with the real
// protocol (SETSLOT IMPORTING/MIGRATING, MIGRATE key by key, SETSLOT NODE)
// while the load runs.
func migrateUnderLoad(t *testing.T, c *cluster.Cluster, tag string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	slot := slotmap.Slot(tag)
	from := c.Owner(slot)
	var to string
	for _, p := range c.Primaries() {
		if p != from {
			to = p
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, c.BeginMigration(ctx, slot, to))
	for {
		moved, err := c.MigrateKeys(ctx, slot, 1)
		require.NoError(t, err)
		if moved == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, c.FinishMigration(ctx, slot))
	time.Sleep(200 * time.Millisecond)
}

func TestHookRidesOutLiveMigration(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		var k kinds
		tag := tagOn(t, c, c.Primaries()[0], "hookmig")
		rdb := hooked(t, c.Primaries()[0], redirect.Options{Observer: k.observer()})
		load := startSlotLoad(rdb, tag, 8)
		migrateUnderLoad(t, c, tag)
		load.finish()

		assert.Zero(t, load.errs.Load(), "errors reached the application: %v", load.sample)
		assert.Positive(t, load.ops.Load())
		assert.Positive(t, k.redirected(classify.KindAsk), "real ASK replies were followed")
		assert.Positive(t, k.redirected(classify.KindMoved), "the slot's move was followed")
		t.Logf("%d operations; ASK %d, MOVED %d, TRYAGAIN retries %d", load.ops.Load(),
			k.redirected(classify.KindAsk), k.redirected(classify.KindMoved), k.retried(classify.KindTryAgain))
		load.check(t, rdb, tag)
	})
}

func TestClientRidesOutLiveMigration(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		var k kinds
		tag := tagOn(t, c, c.Primaries()[1], "climig")
		cl := newClient(t, c, redirect.Options{Observer: k.observer()})
		load := startSlotLoad(cl, tag, 8)
		migrateUnderLoad(t, c, tag)
		load.finish()

		assert.Zero(t, load.errs.Load(), "errors reached the application: %v", load.sample)
		assert.Positive(t, k.redirected(classify.KindAsk), "real ASK replies were followed")
		t.Logf("%d operations; ASK %d, MOVED %d, TRYAGAIN retries %d", load.ops.Load(),
			k.redirected(classify.KindAsk), k.redirected(classify.KindMoved), k.retried(classify.KindTryAgain))
		load.check(t, cl, tag)
	})
}

func TestClientWatchUnderAsk(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cl := newClient(t, c, redirect.Options{})
		tag := tagOn(t, c, c.Primaries()[2], "watchask")
		key := tag + "k"
		slot := slotmap.Slot(tag)
		require.NoError(t, cl.Set(ctx, key, 10, 0).Err())
		from := c.Owner(slot)
		to := c.Primaries()[0]
		require.NoError(t, c.BeginMigration(ctx, slot, to))
		_, err := c.MigrateKeys(ctx, slot, 100) // the key now lives on the importing node
		require.NoError(t, err)

		err = cl.Watch(ctx, func(tx *redis.Tx) error {
			v, err := tx.Get(ctx, key).Int()
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, v+1, 0)
				return nil
			})
			return err
		}, key)
		require.NoError(t, err, "WATCH, GET and MULTI/EXEC reach the importing node with ASKING")
		require.NoError(t, c.FinishMigration(ctx, slot))
		v, err := cl.Get(ctx, key).Int()
		require.NoError(t, err)
		assert.Equal(t, 11, v)
		assert.NotEqual(t, from, c.Owner(slot))
	})
}

func TestClientShardedPubSub(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cl := newClient(t, c, redirect.Options{})
		ps := cl.SSubscribe(ctx, "orders")
		defer ps.Close()
		_, err := ps.Receive(ctx) // the subscription is confirmed
		require.NoError(t, err)
		require.NoError(t, cl.SPublish(ctx, "orders", "hello").Err())
		msg, err := ps.ReceiveMessage(ctx)
		require.NoError(t, err)
		assert.Equal(t, "hello", msg.Payload)

		sub := cl.Subscribe(ctx, "news")
		defer sub.Close()
		_, err = sub.Receive(ctx)
		require.NoError(t, err)
		require.NoError(t, cl.Publish(ctx, "news", "hi").Err())
		m, err := sub.ReceiveMessage(ctx)
		require.NoError(t, err)
		assert.Equal(t, "hi", m.Payload, "a PUBLISH reaches a subscriber on any node")
	})
}

func TestClientBroadcastAndSplit(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		ctx := context.Background()
		cl := newClient(t, c, redirect.Options{})
		keys := make([]string, 30)
		pairs := make([]any, 0, 60)
		for i := range keys {
			keys[i] = "split:" + strconv.Itoa(i)
			pairs = append(pairs, keys[i], i)
		}
		require.NoError(t, cl.MSet(ctx, pairs...).Err())
		vals, err := cl.MGet(ctx, keys...).Result()
		require.NoError(t, err)
		for i, v := range vals {
			assert.Equal(t, strconv.Itoa(i), v)
		}
		found, err := cl.Keys(ctx, "split:*").Result()
		require.NoError(t, err)
		assert.Len(t, found, len(keys), "KEYS asks every primary")
		n, err := cl.Del(ctx, keys...).Result()
		require.NoError(t, err)
		assert.Equal(t, int64(len(keys)), n)
	})
}

// A sharded subscription follows its slot: after the slot migrates to
// another primary, and after that primary is killed and its replica takes
// over, messages published to the channel still arrive.
func TestClientShardedSubscriptionFollowsItsSlot(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Config{Primaries: 3, ReplicasPerPrimary: 1, NodeTimeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl := newClient(t, c, redirect.Options{})
	const ch = "orders{follow}"
	ps := cl.SSubscribe(ctx, ch)
	defer ps.Close()
	_, err := ps.Receive(ctx) // the subscription is confirmed
	require.NoError(t, err)
	msgs := ps.Channel()

	// publishUntil publishes until the subscriber receives the message.
	publishUntil := func(what string) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 30*time.Second {
			_ = cl.SPublish(ctx, ch, what).Err() // may fail during a failover
			select {
			case m := <-msgs:
				if m.Payload == what {
					return time.Since(start)
				}
			case <-time.After(200 * time.Millisecond):
			}
		}
		t.Fatalf("%q never arrived", what)
		return 0
	}
	publishUntil("before")

	slot := slotmap.Slot(ch)
	from := c.Owner(slot)
	to := c.Primaries()[0]
	if to == from {
		to = c.Primaries()[1]
	}
	require.NoError(t, c.MigrateSlot(ctx, slot, to, cluster.MigrateOptions{}))
	t.Logf("after the slot moved: received again after %s", publishUntil("after the move"))

	require.NoError(t, c.Kill(to))
	require.NoError(t, c.WaitHealthy(ctx))
	t.Logf("after its new owner was killed: received again after %s", publishUntil("after the failover"))
	assert.NotEqual(t, to, c.Owner(slot))
}
