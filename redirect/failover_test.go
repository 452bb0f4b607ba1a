package redirect_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

// failoverPaths are the ways a write reaches a primary that fails: the
// Client's single commands, pipelines and transactions, and a Hook's, on
// a client of another node or of the failing node itself.
var failoverPaths = []struct {
	name string
	// write sets key to v through cmd, a Client or a hooked client.
	write func(ctx context.Context, c redis.Cmdable, key, v string) error
	hook  bool // through a Hook on a plain client
	onVic bool // the hooked client is on the failing primary
}{
	{name: "Client", write: set},
	{name: "ClientPipeline", write: pipeSet},
	{name: "ClientTx", write: txSet},
	{name: "Hook", write: set, hook: true},
	{name: "HookPipeline", write: pipeSet, hook: true},
	{name: "HookOnTheVictim", write: set, hook: true, onVic: true},
}

func set(ctx context.Context, c redis.Cmdable, key, v string) error {
	return c.Set(ctx, key, v, 0).Err()
}

func pipeSet(ctx context.Context, c redis.Cmdable, key, v string) error {
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Set(ctx, key, v, 0).Err() })
	return err
}

func txSet(ctx context.Context, c redis.Cmdable, key, v string) error {
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.Set(ctx, key, v, 0).Err() })
	return err
}

// failoverClient returns what a path writes through, on c, with rec
// hearing the engine.
func failoverClient(t *testing.T, c *clustertest.Cluster, hook, onVictim bool, opts redirect.Options) redis.Cmdable {
	t.Helper()
	if !hook {
		opts.Seeds = []string{c.Primary(0)}
		cl, err := redirect.NewClient(opts)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, cl.Close()) })
		return cl
	}
	at := c.Primary(0)
	if onVictim {
		at = c.Primary(1)
	}
	rdb, h := attach(t, at, opts)
	if onVictim {
		// A Hook learns the cluster from the node it is on, or from
		// Seeds; the victim will not answer once it fails.
		require.NoError(t, h.Refresh(context.Background()))
	}
	return rdb
}

// clear forgets what rec heard.
func (r *recorder) clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.redirects, r.retries, r.giveUps, r.refreshes, r.seq = nil, nil, nil, nil, nil
}

// dataCommands counts the commands of the workload a node received.
func dataCommands(t *testing.T, c *clustertest.Cluster, addr string) int64 {
	t.Helper()
	s, err := c.Stats(addr)
	require.NoError(t, err)
	return s.Commands["SET"] + s.Commands["GET"] + s.Commands["MULTI"] + s.Commands["EXEC"]
}

// waitFor waits until rec has heard want, in order, as the start of what
// it heard.
func waitFor(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		seq := rec.sequence()
		return len(seq) >= len(want) && slices.Equal(seq[:len(want)], want)
	}, 10*time.Second, time.Millisecond, "heard %v", rec.sequence())
}

func promotedRefresh(rec *recorder, addr string) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, ev := range rec.refreshes {
		if ev.Reason == slotmap.ReasonPromoted && ev.Addr == addr && ev.Err == nil {
			return true
		}
	}
	return false
}

// A primary that refuses connections: the command that met the refusal
// and those after it are held, not re-sent into the dead node again and
// again, until the replica reports its promotion; then they go there at
// once, as a REDIRECT would send them.
func TestHeldCommandsGoToThePromotedReplica(t *testing.T) {
	for _, p := range failoverPaths {
		t.Run(p.name, func(t *testing.T) {
			c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
			rec := &recorder{}
			cl := failoverClient(t, c, p.hook, p.onVic, redirect.Options{Observer: rec.observer(), Policy: fastPolicy()})
			ctx := context.Background()
			key := keyOn(t, c, 1, "k")
			require.NoError(t, p.write(ctx, cl, key, "before"))
			rec.clear()
			victim, replica := c.Primary(1), c.Replicas(1)[0]
			require.NoError(t, c.KillNode(victim))

			done := make(chan error, 1)
			go func() { done <- p.write(ctx, cl, key, "after") }()
			waitFor(t, rec, "retry connection")
			select {
			case err := <-done:
				t.Fatalf("the write ended (%v) before any replica took over", err)
			case <-time.After(100 * time.Millisecond):
			}
			require.NoError(t, c.Failover(1, clustertest.FailoverOptions{}))
			require.NoError(t, <-done)

			assert.Equal(t, []string{"retry connection", "redirect REDIRECT"}, rec.sequence(),
				"one refused attempt, then held until the promotion")
			assert.True(t, promotedRefresh(rec, replica), "the promoted replica's view was loaded")
			got, err := redis.NewClient(&redis.Options{Addr: replica}).Get(ctx, key).Result()
			require.NoError(t, err)
			assert.Equal(t, "after", got)
		})
	}
}

// A primary that stops answering (hung, partitioned): the write in flight
// times out and is in doubt, as it must be; the writes begun after it are
// held rather than sent into the silent node, and reach the promoted
// replica without an error.
func TestWritesAfterATimeoutWaitForThePromotion(t *testing.T) {
	for _, p := range failoverPaths {
		t.Run(p.name, func(t *testing.T) {
			c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
			rec := &recorder{}
			opts := redirect.Options{Observer: rec.observer(), Policy: fastPolicy(),
				Template: &redis.Options{ReadTimeout: 100 * time.Millisecond}}
			cl := failoverClient(t, c, p.hook, p.onVic, opts)
			ctx := context.Background()
			key := keyOn(t, c, 1, "k")
			require.NoError(t, p.write(ctx, cl, key, "before"))
			rec.clear()
			victim := c.Primary(1)
			require.NoError(t, c.SetLatency(victim, time.Hour))
			before := dataCommands(t, c, victim)

			err := p.write(ctx, cl, key, "lost reply")
			require.Error(t, err)
			assert.True(t, classify.InDoubt(err), "the write in flight may have run: %v", err)
			assert.ErrorIs(t, err, retry.ErrInDoubt)

			const writers = 8
			done := make(chan error, writers)
			for range writers {
				go func() { done <- p.write(ctx, cl, key, "after") }()
			}
			time.Sleep(200 * time.Millisecond)
			require.NoError(t, c.Failover(1, clustertest.FailoverOptions{}))
			for range writers {
				require.NoError(t, <-done)
			}
			assert.Equal(t, int64(1), dataCommands(t, c, victim)-before,
				"the victim received the first command of the lost write, none of the held writes")
			for _, s := range rec.sequence()[1:] {
				assert.Equal(t, "redirect REDIRECT", s, "held writes met no timeout: %v", rec.sequence())
			}
		})
	}
}

// A held command whose context ends fails as not sent.
func TestHeldCommandFailsNotSentWhenItsContextEnds(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	rec := &recorder{}
	cl := failoverClient(t, c, false, false, redirect.Options{Observer: rec.observer(), Policy: fastPolicy()})
	key := keyOn(t, c, 1, "k")
	require.NoError(t, cl.Set(context.Background(), key, "before", 0).Err())
	require.NoError(t, c.KillNode(c.Primary(1)))

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := cl.Set(ctx, key, "after", 0).Err()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, classify.InDoubt(err), "a held command was never sent: %v", err)
	assert.Equal(t, []string{"retry connection"}, rec.sequence(), "one attempt, then held until the deadline")
}

// A suspect primary that answers again gets the held commands: a read
// that timed out is re-sent (reads are, by default) once PING answers, not
// into the silent node in the meantime.
func TestHeldCommandsGoBackWhenThePrimaryAnswers(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	rec := &recorder{}
	cl := failoverClient(t, c, false, false, redirect.Options{Observer: rec.observer(), Policy: fastPolicy(),
		Template: &redis.Options{ReadTimeout: 50 * time.Millisecond},
		Failover: redirect.FailoverOptions{Probe: 50 * time.Millisecond}})
	ctx := context.Background()
	key := keyOn(t, c, 1, "k")
	require.NoError(t, cl.Set(ctx, key, "v", 0).Err())
	victim := c.Primary(1)
	require.NoError(t, c.SetLatency(victim, time.Hour))

	done := make(chan error, 1)
	var got string
	go func() {
		var err error
		got, err = cl.Get(ctx, key).Result()
		done <- err
	}()
	waitFor(t, rec, "retry timeout")
	time.Sleep(200 * time.Millisecond) // probes time out meanwhile
	require.NoError(t, c.SetLatency(victim, 0))
	require.NoError(t, <-done)
	assert.Equal(t, "v", got)
	assert.Equal(t, []string{"retry timeout"}, rec.sequence())
	stats, err := c.Stats(victim)
	require.NoError(t, err)
	assert.Equal(t, int64(2), stats.Commands["GET"], "the GET whose reply was lost, and the one sent after PING answered")
	assert.Positive(t, stats.Commands["PING"], "probed")
}

// A healthy cluster costs no probe, no ROLE and no topology fetch beyond
// the first.
func TestNoExtraCommandsWhileHealthy(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	cl := failoverClient(t, c, false, false, redirect.Options{})
	hooked := failoverClient(t, c, true, false, redirect.Options{})
	ctx := context.Background()
	const n = 300
	for i := range n {
		key := keyOn(t, c, i%3, "h")
		require.NoError(t, cl.Set(ctx, key, "v", 0).Err())
		require.NoError(t, hooked.Get(ctx, key).Err())
	}
	total := clustertest.Stats{Commands: map[string]int64{}}
	var moved int64
	for _, a := range c.Addrs() {
		s, err := c.Stats(a)
		require.NoError(t, err)
		for name, k := range s.Commands {
			total.Commands[name] += k
		}
		total.TopologyFetches += s.TopologyFetches
		total.Redirects = s.Redirects
		moved += s.Redirects["MOVED"]
	}
	assert.Equal(t, int64(n), total.Commands["SET"])
	assert.Equal(t, int64(n)+moved, total.Commands["GET"], "each GET once, and again after a MOVED")
	assert.LessOrEqual(t, moved, int64(1), "the Hook learns the topology at its first MOVED")
	assert.Zero(t, total.Commands["PING"])
	assert.Zero(t, total.Commands["ROLE"])
	assert.Equal(t, int64(2), total.TopologyFetches, "one first load for each of the two")
}

func TestFailoverOptionsValidate(t *testing.T) {
	for _, o := range []redirect.FailoverOptions{{Poll: -1}, {Probe: -time.Second}, {Hold: -1}} {
		_, err := redirect.NewClient(redirect.Options{Seeds: []string{"127.0.0.1:1"}, Failover: o})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Options.Failover.")
		assert.False(t, errors.Is(err, classify.ErrConnection))
	}
}

// A primary that stops replying is suspect once the round trips under way
// have had no reply for StallAfter: a write that comes then is held, not
// sent after the ones already stuck, and reaches the promoted replica
// before the stuck write's read times out.
func TestStalledPrimaryIsSuspectBeforeItsFirstTimeout(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	rec := &recorder{}
	cl := failoverClient(t, c, false, false, redirect.Options{Observer: rec.observer(), Policy: fastPolicy(),
		Template: &redis.Options{ReadTimeout: 3 * time.Second},
		Failover: redirect.FailoverOptions{StallAfter: 100 * time.Millisecond}})
	ctx := context.Background()
	key := keyOn(t, c, 1, "k")
	require.NoError(t, cl.Set(ctx, key, "before", 0).Err())
	victim := c.Primary(1)
	require.NoError(t, c.SetLatency(victim, time.Hour))
	before := dataCommands(t, c, victim)

	order := make(chan string, 2)
	stuck := make(chan error, 1)
	go func() {
		err := cl.Set(ctx, key, "stuck", 0).Err()
		order <- "stuck"
		stuck <- err
	}()
	require.Eventually(t, func() bool { return dataCommands(t, c, victim) > before }, 5*time.Second, time.Millisecond)
	time.Sleep(200 * time.Millisecond) // past StallAfter, well before the read timeout
	held := make(chan error, 1)
	go func() {
		err := cl.Set(ctx, key, "held", 0).Err()
		order <- "held"
		held <- err
	}()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, c.Failover(1, clustertest.FailoverOptions{}))
	require.NoError(t, <-held)
	assert.Equal(t, "held", <-order, "the held write finished before the stuck one's read timed out")
	err := <-stuck
	assert.True(t, classify.InDoubt(err), "%v", err)
	assert.Equal(t, int64(1), dataCommands(t, c, victim)-before, "only the stuck write reached the victim")
}
