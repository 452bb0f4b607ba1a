package redirect_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// attachedCluster returns a ClusterClient of c with AttachCluster, both
// closed when the test ends.
func attachedCluster(t *testing.T, c *clustertest.Cluster, co *redis.ClusterOptions, opts redirect.ClusterAttachOptions) (*redis.ClusterClient, *redirect.ClusterAttachment) {
	t.Helper()
	co.Addrs = []string{c.Primary(0)}
	rdb := redis.NewClusterClient(co)
	att, err := redirect.AttachCluster(rdb, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, att.Close())
		require.NoError(t, rdb.Close())
	})
	return rdb, att
}

func TestAttachClusterRefusesBadInput(t *testing.T) {
	_, err := redirect.AttachCluster(nil, redirect.ClusterAttachOptions{})
	require.ErrorContains(t, err, "ClusterClient is nil")

	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, MaxRetries: 3})
	defer rdb.Close()
	_, err = redirect.AttachCluster(rdb, redirect.ClusterAttachOptions{})
	require.ErrorContains(t, err, "MaxRetries is 3", "node clients that re-send lost replies")

	rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer rdb.Close()
	for _, tc := range []struct {
		opts redirect.ClusterAttachOptions
		want string
	}{
		{redirect.ClusterAttachOptions{ReloadInterval: -time.Second}, "ReloadInterval is -1s"},
		{redirect.ClusterAttachOptions{ReloadInterval: time.Millisecond}, "ReloadInterval is 1ms, want at least 10ms"},
		{redirect.ClusterAttachOptions{ReloadTimeout: -1}, "ReloadTimeout"},
		{redirect.ClusterAttachOptions{ProbeTimeout: -1}, "ProbeTimeout"},
		{redirect.ClusterAttachOptions{WatchFor: -1}, "WatchFor"},
		{redirect.ClusterAttachOptions{NodeOptions: redirect.NodeOptions{Policy: retry.Policy{MaxRetries: -1}}}, "Policy: retry: invalid max_retries"},
	} {
		_, err := redirect.AttachCluster(rdb, tc.opts)
		require.ErrorContains(t, err, tc.want)
	}
}

// On a healthy cluster, the attached client sends exactly what a plain
// ClusterClient sends: no reload, no probe.
func TestAttachClusterHealthyAddsNothing(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	plain := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Primary(0)}})
	defer plain.Close()
	attached, _ := attachedCluster(t, c, &redis.ClusterOptions{}, redirect.ClusterAttachOptions{})
	ctx := context.Background()
	seen := map[string]map[string]int64{}
	for name, rdb := range map[string]*redis.ClusterClient{"plain": plain, "attached": attached} {
		require.NoError(t, rdb.Ping(ctx).Err()) // loads the slot map
		c.ResetStats()
		for i := range 300 {
			k := "k" + strconv.Itoa(i)
			require.NoError(t, rdb.Set(ctx, k, i, 0).Err())
			require.NoError(t, rdb.Incr(ctx, k).Err())
		}
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range 50 {
				p.Get(ctx, "k"+strconv.Itoa(i))
			}
			return nil
		})
		require.NoError(t, err)
		seen[name] = c.Counters().Commands
		// How many connections each client opens varies with which node
		// answered first: their handshakes are left out.
		for cmd := range seen[name] {
			if cmd == "HELLO" || strings.HasPrefix(cmd, "CLIENT") {
				delete(seen[name], cmd)
			}
		}
	}
	assert.Equal(t, seen["plain"], seen["attached"])
	assert.NotContains(t, seen["attached"], "CLUSTER SLOTS")
	assert.NotContains(t, seen["attached"], "PING")
}

// writeBurst runs one SET per key at once and returns the errors.
func writeBurst(rdb redis.UniversalClient, keys []string) []error {
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errs[i] = rdb.Set(ctx, k, "v"+strconv.Itoa(i), 0).Err()
		}()
	}
	wg.Wait()
	return errs
}

// A primary crashed and its replica took over: the plain ClusterClient
// keeps dialling the dead node until its next periodic reload; the
// attached one reloads once for the burst of refused dials and every
// command of the burst lands on the new primary.
func TestAttachClusterBurstAfterFailover(t *testing.T) {
	for _, attach := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "attached"}[attach], func(t *testing.T) {
			c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
			var rdb *redis.ClusterClient
			if attach {
				// A long interval: the burst's late failures fall within it.
				rdb, _ = attachedCluster(t, c, &redis.ClusterOptions{}, redirect.ClusterAttachOptions{ReloadInterval: time.Second})
			} else {
				rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Primary(0)}})
				defer rdb.Close()
			}
			ctx := context.Background()
			keys := make([]string, 32)
			for i := range keys {
				keys[i] = keyOn(t, c, 1, "burst"+strconv.Itoa(i)+"-")
				require.NoError(t, rdb.Set(ctx, keys[i], "old", 0).Err())
			}
			promoted := c.Replicas(1)[0]
			require.NoError(t, c.Failover(1, clustertest.FailoverOptions{RefuseConns: true}))
			c.ResetStats()

			errs := writeBurst(rdb, keys)
			fetches := c.Counters().TopologyFetches
			if !attach {
				assert.NotEmpty(t, errors.Join(errs...), "the plain ClusterClient dialled the dead primary")
				return
			}
			for _, err := range errs {
				require.NoError(t, err)
			}
			assert.Equal(t, int64(1), fetches, "one reload for the burst")
			direct := redis.NewClient(&redis.Options{Addr: promoted})
			defer direct.Close()
			for i, k := range keys {
				v, err := direct.Get(ctx, k).Result()
				require.NoError(t, err)
				assert.Equal(t, "v"+strconv.Itoa(i), v, "written on the new primary")
			}
		})
	}
}

// writers run SETs on keys of one shard from several goroutines until
// stopped, and record each one's outcomes.
type writers struct {
	wg    sync.WaitGroup
	stop  chan struct{}
	mark  atomic.Int64 // UnixNano; successes of SETs begun after it count
	mu    sync.Mutex   // protects errs
	errs  [][]error
	after []atomic.Int64
}

func startWriters(t *testing.T, rdb redis.UniversalClient, c *clustertest.Cluster, shard, n int) *writers {
	w := &writers{stop: make(chan struct{}), errs: make([][]error, n), after: make([]atomic.Int64, n)}
	w.mark.Store(1 << 62)
	for i := range n {
		k := keyOn(t, c, shard, "w"+strconv.Itoa(i)+"-")
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for seq := 0; ; seq++ {
				select {
				case <-w.stop:
					return
				default:
				}
				began := time.Now().UnixNano()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := rdb.Set(ctx, k, seq, 0).Err()
				cancel()
				switch {
				case err != nil:
					w.mu.Lock()
					w.errs[i] = append(w.errs[i], err)
					w.mu.Unlock()
				case began > w.mark.Load():
					w.after[i].Add(1)
				}
			}
		}()
	}
	return w
}

// succeededAfter reports whether every writer had a SET that began after
// the mark succeed.
func (w *writers) succeededAfter() bool {
	for i := range w.after {
		if w.after[i].Load() == 0 {
			return false
		}
	}
	return true
}

func (w *writers) finish() {
	close(w.stop)
	w.wg.Wait()
}

// fetchesReach waits until the fake cluster has answered n topology
// requests since its stats were reset.
func fetchesReach(t *testing.T, c *clustertest.Cluster, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return c.Counters().TopologyFetches >= n },
		20*time.Second, 5*time.Millisecond, "reloads go on while the node is suspect")
}

// A primary that crashed is failed over only later (the node timeout): the
// attached client holds the commands for its slots, reloading at most once
// per interval, and sends them to the new primary once a reload shows it.
// Only a SET in flight at the crash reaches the application, in doubt: the
// refused dials after it were not sent.
func TestAttachClusterHoldsUntilPromotion(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	const interval = 50 * time.Millisecond
	var suspected atomic.Int64
	rdb, _ := attachedCluster(t, c, &redis.ClusterOptions{}, redirect.ClusterAttachOptions{ReloadInterval: interval,
		NodeOptions: redirect.NodeOptions{Report: func(redirect.NodeEvent) { suspected.Add(1) }}})
	require.NoError(t, rdb.Ping(context.Background()).Err())
	w := startWriters(t, rdb, c, 1, 8)
	defer func() {
		select {
		case <-w.stop:
		default:
			w.finish()
		}
	}()

	c.ResetStats()
	require.NoError(t, c.KillNode(c.Primary(1)))
	began := time.Now()
	fetchesReach(t, c, 4)
	w.mark.Store(time.Now().UnixNano())
	require.NoError(t, c.Failover(1, clustertest.FailoverOptions{}))
	require.Eventually(t, w.succeededAfter, 20*time.Second, 5*time.Millisecond, "every writer wrote to the new primary")
	held := time.Since(began)
	w.finish()

	// The SET in flight at the crash may have run: it fails, in doubt.
	// Every later one was held, not sent into the dead node.
	for i, errs := range w.errs {
		require.LessOrEqual(t, len(errs), 1, "writer %d: %v", i, errs)
		for _, err := range errs {
			assert.True(t, classify.InDoubt(err), "writer %d: %v", i, err)
		}
	}
	assert.Positive(t, suspected.Load(), "the node hook saw the refused dials")
	fetches := c.Counters().TopologyFetches
	assert.LessOrEqual(t, fetches, int64(held/interval)+2, "at most one reload per interval over %v", held)
}

// Pipelines and transactions for a suspect node are held before
// ClusterClient routes them, and routed by the reloaded slot map: they
// reach the new primary whole, with no error.
func TestAttachClusterHoldsPipelines(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	rdb, _ := attachedCluster(t, c, &redis.ClusterOptions{}, redirect.ClusterAttachOptions{ReloadInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	k0, k1, k2 := keyOn(t, c, 0, "p"), keyOn(t, c, 1, "p"), keyOn(t, c, 1, "q")
	require.NoError(t, rdb.Set(ctx, k1, 0, 0).Err())
	require.NoError(t, c.KillNode(c.Primary(1)))
	c.ResetStats()
	// A first command meets the refused dial: the node is suspect.
	single := make(chan error, 1)
	go func() { single <- rdb.Set(ctx, k1, 1, 0).Err() }()
	fetchesReach(t, c, 2)

	results := make(chan error, 2)
	go func() {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, k0, "p", 0)
			p.Set(ctx, k1, "p", 0)
			p.Incr(ctx, k2)
			return nil
		})
		results <- err
	}()
	go func() {
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, k2)
			p.Incr(ctx, k2)
			return nil
		})
		results <- err
	}()
	fetchesReach(t, c, 5)
	require.NoError(t, c.Failover(1, clustertest.FailoverOptions{}))
	require.NoError(t, <-single)
	require.NoError(t, <-results)
	require.NoError(t, <-results)
	n, err := rdb.Get(ctx, k2).Int()
	require.NoError(t, err)
	assert.Equal(t, 3, n, "each INCR ran once, on the new primary")
}

// A primary that hangs (it accepts connections and never answers) is
// failed over: each writer sees at most the command in flight fail, in
// doubt; the rest are held and then go to the new primary, those that
// waited for a connection to the hung node too.
func TestAttachClusterHungPrimary(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	var ev nodeEvents
	// A small pool: commands queue for a connection to the hung node, and
	// the pool times some out (not sent).
	rdb, _ := attachedCluster(t, c, &redis.ClusterOptions{ReadTimeout: 200 * time.Millisecond, PoolSize: 2, PoolTimeout: 300 * time.Millisecond},
		redirect.ClusterAttachOptions{ReloadInterval: 20 * time.Millisecond, ReloadTimeout: 100 * time.Millisecond, ProbeTimeout: 100 * time.Millisecond,
			NodeOptions: redirect.NodeOptions{Report: ev.report}})
	require.NoError(t, rdb.Ping(context.Background()).Err())
	w := startWriters(t, rdb, c, 1, 8)

	c.ResetStats()
	victim := c.Primary(1)
	require.NoError(t, c.SetLatency(victim, time.Hour))
	// Suspected once a read timed out; reloads go on, each from a random
	// node: twenty of them would ask the hung one too, but for the
	// suspect's CLUSTER commands failing at once.
	fetchesReach(t, c, 20)
	w.mark.Store(time.Now().UnixNano())
	require.NoError(t, c.Failover(1, clustertest.FailoverOptions{}))
	require.Eventually(t, w.succeededAfter, 20*time.Second, 5*time.Millisecond, "every writer wrote to the new primary")
	w.finish()

	for i, errs := range w.errs {
		require.LessOrEqual(t, len(errs), 1, "writer %d: %v", i, errs)
		for _, err := range errs {
			assert.True(t, classify.InDoubt(err), "only the SET in flight fails, in doubt: %v", err)
		}
	}
	for _, e := range ev.of(classify.KindTimeout) {
		assert.NotEqual(t, "cluster", e.Command, "a reload waited on the hung node: %+v", e)
	}
}

// A suspect node that answers again gets the held commands.
func TestAttachClusterNodeAnswersAgain(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	rdb, _ := attachedCluster(t, c, &redis.ClusterOptions{ReadTimeout: 200 * time.Millisecond},
		redirect.ClusterAttachOptions{ReloadInterval: 20 * time.Millisecond, ReloadTimeout: 100 * time.Millisecond, ProbeTimeout: 100 * time.Millisecond})
	require.NoError(t, rdb.Ping(context.Background()).Err())
	victim := c.Primary(1)
	w := startWriters(t, rdb, c, 1, 4)

	c.ResetStats()
	require.NoError(t, c.SetLatency(victim, time.Hour))
	fetchesReach(t, c, 4)
	w.mark.Store(time.Now().UnixNano())
	require.NoError(t, c.SetLatency(victim, 0))
	require.Eventually(t, w.succeededAfter, 20*time.Second, 5*time.Millisecond, "the writers wrote to the node again")
	w.finish()
	for i, errs := range w.errs {
		require.LessOrEqual(t, len(errs), 1, "writer %d: %v", i, errs)
	}
	assert.Equal(t, victim, c.Primary(1), "no failover happened")
}

// Close releases what is held: the command then goes to the node as
// without AttachCluster (here: a refused dial), rather than waiting.
func TestAttachClusterCloseReleases(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	rdb, att := attachedCluster(t, c, &redis.ClusterOptions{}, redirect.ClusterAttachOptions{})
	k := keyOn(t, c, 1, "close")
	require.NoError(t, rdb.Set(context.Background(), k, 1, 0).Err())
	require.NoError(t, c.KillNode(c.Primary(1)))
	c.ResetStats()

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		done <- rdb.Set(ctx, k, 2, 0).Err()
	}()
	fetchesReach(t, c, 2) // held: suspect, and reloading
	require.NoError(t, att.Close())
	err := <-done
	require.Error(t, err)
	assert.Equal(t, classify.KindConnection, classify.KindOf(err), "released to the dead node: %v", err)
	require.NoError(t, att.Close(), "twice is fine")
}
