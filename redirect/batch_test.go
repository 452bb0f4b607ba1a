package redirect_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

// tap is a go-redis hook on every node client of a Client
// (Options.OnNewNode): it records what each node is sent, alone or as a
// pipeline, and can hold one command after it ran. A held command keeps
// its node's only batch slot (MaxInFlight 1) busy, so that the commands
// sent meanwhile queue, and go as batches when it is let go.
type tap struct {
	mu    sync.Mutex
	alone map[string][]string   // node → names of the commands sent alone
	pipes map[string][][]string // node → each pipeline's command names

	holdKey string        // the key whose command is held; "" for none
	held    chan struct{} // closed once the held command ran
	release chan struct{} // closed to let it go
}

func newTap() *tap {
	return &tap{alone: map[string][]string{}, pipes: map[string][][]string{}}
}

func (tp *tap) onNewNode(c *redis.Client) { c.AddHook(tapHook{tp: tp, addr: c.Options().Addr}) }

// pipelines returns the names of the commands of each pipeline addr was
// sent, keeping only the commands named in keep.
func (tp *tap) pipelines(addr string, keep ...string) [][]string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var out [][]string
	for _, p := range tp.pipes[addr] {
		var names []string
		for _, n := range p {
			for _, k := range keep {
				if n == k {
					names = append(names, n)
				}
			}
		}
		if len(names) > 0 {
			out = append(out, names)
		}
	}
	return out
}

// sentAlone counts the commands named name that addr was sent alone.
func (tp *tap) sentAlone(addr, name string) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	n := 0
	for _, s := range tp.alone[addr] {
		if s == name {
			n++
		}
	}
	return n
}

type tapHook struct {
	tp   *tap
	addr string
}

func (h tapHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h tapHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		tp := h.tp
		tp.mu.Lock()
		tp.alone[h.addr] = append(tp.alone[h.addr], cmd.Name())
		hold := tp.holdKey != "" && len(cmd.Args()) > 1 && cmd.Args()[1] == tp.holdKey
		if hold {
			tp.holdKey = ""
		}
		tp.mu.Unlock()
		if hold {
			close(tp.held)
			<-tp.release
		}
		return err
	}
}

func (h tapHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		h.tp.mu.Lock()
		h.tp.pipes[h.addr] = append(h.tp.pipes[h.addr], names)
		h.tp.mu.Unlock()
		return next(ctx, cmds)
	}
}

// batchEnv is a fake cluster and a Client whose node clients carry a tap;
// one batch at a time per node unless opts says otherwise.
type batchEnv struct {
	t     *testing.T
	c     *clustertest.Cluster
	cl    *redirect.Client
	tp    *tap
	node0 string // shard 0's primary, where the tests' keys are
}

func newBatchEnv(t *testing.T, opts redirect.Options) *batchEnv {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	tp := newTap()
	opts.OnNewNode = tp.onNewNode
	if opts.Batch.MaxInFlight == 0 {
		opts.Batch.MaxInFlight = 1
	}
	if opts.Policy.MinBackoff == 0 {
		opts.Policy.MinBackoff, opts.Policy.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	cl := newClient(t, c, opts)
	require.NoError(t, cl.Refresh(context.Background()))
	return &batchEnv{t: t, c: c, cl: cl, tp: tp, node0: c.Primary(0)}
}

// hold sends INCR on a key of shard 0 and holds it once it ran, so that
// shard 0's slot stays busy; it returns the function that lets it go.
func (env *batchEnv) hold() (let func()) {
	key := keyOn(env.t, env.c, 0, "hold")
	env.tp.mu.Lock()
	env.tp.holdKey = key
	env.tp.held, env.tp.release = make(chan struct{}), make(chan struct{})
	held, release := env.tp.held, env.tp.release
	env.tp.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- env.cl.Incr(context.Background(), key).Err() }()
	select {
	case <-held:
	case err := <-done:
		env.t.Fatalf("the held command returned: %v", err)
	}
	return func() {
		close(release)
		require.NoError(env.t, <-done)
	}
}

// queue runs op in a goroutine once the commands queued before it are
// queued, and waits until it is queued too: the batch's order is the
// order of the calls to queue.
func (env *batchEnv) queue(op func() error) <-chan error {
	want := redirect.QueuedOn(env.cl, env.node0) + 1
	done := make(chan error, 1)
	go func() { done <- op() }()
	env.waitQueued(want)
	return done
}

// waitQueued waits until n commands are queued on shard 0's primary.
func (env *batchEnv) waitQueued(n int) {
	deadline := time.Now().Add(10 * time.Second)
	for redirect.QueuedOn(env.cl, env.node0) != n {
		if time.Now().After(deadline) {
			env.t.Fatalf("%d commands queued, want %d", redirect.QueuedOn(env.cl, env.node0), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// keysOn returns n keys of shard 0, in n different slots.
func keysOn(t *testing.T, c *clustertest.Cluster, n int) []string {
	seen := map[int]bool{}
	var out []string
	for i := 0; len(out) < n; i++ {
		k := keyOn(t, c, 0, fmt.Sprintf("b%d-", i))
		if s := slotmap.Slot(k); !seen[s] {
			seen[s] = true
			out = append(out, k)
		}
	}
	return out
}

func TestBatchCoalescesConcurrentCommands(t *testing.T) {
	big := strings.Repeat("v", 1000)
	for _, tc := range []struct {
		name  string
		batch redirect.BatchOptions
		value string
		want  []int // the pipelines' sizes, in order
	}{
		{"one batch", redirect.BatchOptions{}, "v", []int{10}},
		{"MaxCommands", redirect.BatchOptions{MaxCommands: 4}, "v", []int{4, 4, 2}},
		{"MaxBytes", redirect.BatchOptions{MaxBytes: 2500}, big, []int{2, 2, 2, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newBatchEnv(t, redirect.Options{Batch: tc.batch})
			ctx := context.Background()
			let := env.hold()
			keys := keysOn(t, env.c, 10)
			var calls []<-chan error
			for _, k := range keys {
				calls = append(calls, env.queue(func() error { return env.cl.Set(ctx, k, tc.value, 0).Err() }))
			}
			let()
			for _, call := range calls {
				require.NoError(t, <-call)
			}
			var sizes []int
			for _, p := range env.tp.pipelines(env.node0, "set") {
				sizes = append(sizes, len(p))
			}
			assert.Equal(t, tc.want, sizes, "pipelines of SETs sent to shard 0")
			assert.Zero(t, env.tp.sentAlone(env.node0, "set"), "SETs sent alone")
			for _, k := range keys {
				v, err := env.cl.Get(ctx, k).Result()
				require.NoError(t, err)
				assert.Equal(t, tc.value, v)
			}
		})
	}
}

func TestBatchLoneCallerSendsAlone(t *testing.T) {
	env := newBatchEnv(t, redirect.Options{})
	ctx := context.Background()
	k := keyOn(t, env.c, 0, "lone")
	for i := 0; i < 20; i++ {
		require.NoError(t, env.cl.Set(ctx, k, i, 0).Err())
		require.NoError(t, env.cl.Get(ctx, k).Err())
	}
	assert.Empty(t, env.tp.pipelines(env.node0, "set", "get"))
	assert.Equal(t, 20, env.tp.sentAlone(env.node0, "set"))
	assert.Equal(t, 20, env.tp.sentAlone(env.node0, "get"))
}

func TestBatchDisabledSendsEachCommandAlone(t *testing.T) {
	env := newBatchEnv(t, redirect.Options{Batch: redirect.BatchOptions{Disabled: true}})
	ctx := context.Background()
	let := env.hold()
	keys := keysOn(t, env.c, 5)
	var calls []<-chan error
	for _, k := range keys {
		done := make(chan error, 1)
		go func() { done <- env.cl.Set(ctx, k, "v", 0).Err() }()
		calls = append(calls, done)
	}
	// Nothing queues: each SET goes on a connection of its own while
	// the held command keeps one.
	for _, call := range calls {
		require.NoError(t, <-call)
	}
	let()
	assert.Zero(t, redirect.QueuedOn(env.cl, env.node0))
	assert.Empty(t, env.tp.pipelines(env.node0, "set"))
	assert.Equal(t, 5, env.tp.sentAlone(env.node0, "set"))
}

// A batch is never redirected as a unit: each command of it follows its
// own MOVED or ASK.
func TestBatchRedirectsEachCommand(t *testing.T) {
	rec := &recorder{}
	env := newBatchEnv(t, redirect.Options{Observer: rec.observer()})
	ctx := context.Background()
	keys := keysOn(t, env.c, 3)
	moved, asked, stays := keys[0], keys[1], keys[2]
	let := env.hold()
	var calls []<-chan error
	for _, k := range keys {
		calls = append(calls, env.queue(func() error { return env.cl.Set(ctx, k, "v-"+k, 0).Err() }))
	}
	require.NoError(t, env.c.MigrateSlot(slotmap.Slot(moved), env.c.Primary(1)))
	require.NoError(t, env.c.BeginMigration(slotmap.Slot(asked), env.c.Primary(2)))
	let()
	for _, call := range calls {
		require.NoError(t, <-call)
	}
	assert.Equal(t, [][]string{{"set", "set", "set"}}, env.tp.pipelines(env.node0, "set"), "one batch to shard 0")
	assert.ElementsMatch(t, []string{"redirect MOVED", "redirect ASK"}, rec.sequence())
	rec.mu.Lock()
	for _, r := range rec.redirects {
		switch r.Kind {
		case classify.KindMoved:
			assert.Equal(t, slotmap.Slot(moved), r.Slot)
		case classify.KindAsk:
			assert.Equal(t, slotmap.Slot(asked), r.Slot)
		}
	}
	rec.mu.Unlock()
	check := newClient(t, env.c, redirect.Options{Batch: redirect.BatchOptions{Disabled: true}})
	for _, k := range []string{moved, asked, stays} {
		v, err := check.Get(ctx, k).Result()
		require.NoError(t, err, k)
		assert.Equal(t, "v-"+k, v)
	}
}

// A reply lost in the middle of a batch leaves each of its commands in
// doubt, and the in-doubt policy is applied to each: the read is sent
// again, the writes are not.
func TestBatchLostReplyIsInDoubtPerCommand(t *testing.T) {
	rec := &recorder{}
	env := newBatchEnv(t, redirect.Options{Observer: rec.observer()})
	ctx := context.Background()
	keys := keysOn(t, env.c, 3)
	first, read, last := keys[0], keys[1], keys[2]
	require.NoError(t, env.cl.Set(ctx, read, "r", 0).Err())
	let := env.hold()
	env.c.ResetStats()
	// The node runs the batch's first command, then drops the connection:
	// no reply comes back for any of the three.
	require.NoError(t, env.c.DropAfterRead(env.node0, 1, clustertest.ExecuteThenDrop))
	setFirst := env.queue(func() error { return env.cl.Set(ctx, first, "1", 0).Err() })
	var got string
	get := env.queue(func() (err error) { got, err = env.cl.Get(ctx, read).Result(); return err })
	setLast := env.queue(func() error { return env.cl.Set(ctx, last, "3", 0).Err() })
	let()
	for name, call := range map[string]<-chan error{"first SET": setFirst, "last SET": setLast} {
		err := <-call
		require.ErrorIs(t, err, retry.ErrInDoubt, name)
		assert.True(t, classify.InDoubt(err), name)
	}
	require.NoError(t, <-get)
	assert.Equal(t, "r", got)

	st, err := env.c.Stats(env.node0)
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Commands["SET"], "a write in doubt is never sent again")
	assert.Equal(t, int64(1), st.Commands["GET"], "the read, sent again")
	check := newClient(t, env.c, redirect.Options{})
	v, err := check.Get(ctx, first).Result()
	require.NoError(t, err)
	assert.Equal(t, "1", v, "the first SET ran")
	require.ErrorIs(t, check.Get(ctx, last).Err(), redis.Nil, "the last SET never ran")
	assert.Equal(t, []string{"retry connection"}, rec.sequence())
	_, _, giveUps := rec.counts()
	assert.Equal(t, 2, giveUps)
}

// A command whose context ends while it waits in a batch leaves it: it
// fails not sent, at once, and is never written.
func TestBatchQueuedCommandLeavesWhenContextEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, func())
		want error
	}{
		{"canceled", func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, func()) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			return ctx, func() { <-ctx.Done(); cancel() }
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newBatchEnv(t, redirect.Options{})
			keys := keysOn(t, env.c, 2)
			let := env.hold()
			env.c.ResetStats()
			set := env.queue(func() error { return env.cl.Set(context.Background(), keys[0], "v", 0).Err() })
			ctx, end := tc.ctx()
			decr := env.queue(func() error { return env.cl.Decr(ctx, keys[1]).Err() })
			end()
			// It returns while the batch still waits for the held slot.
			var err error
			select {
			case err = <-decr:
			case <-time.After(10 * time.Second):
				t.Fatal("the DECR waits for its batch")
			}
			require.ErrorIs(t, err, tc.want)
			assert.False(t, classify.InDoubt(err), "nothing was sent: %v", err)
			assert.Equal(t, 1, redirect.QueuedOn(env.cl, env.node0), "the SET still waits")
			let()
			require.NoError(t, <-set)
			st, err := env.c.Stats(env.node0)
			require.NoError(t, err)
			assert.Zero(t, st.Commands["DECR"], "the DECR was written")
			assert.Equal(t, [][]string{{"set"}}, append(env.tp.pipelines(env.node0, "set", "decr"),
				repeat("set", env.tp.sentAlone(env.node0, "set"))...), "only the SET was sent")
		})
	}
}

func repeat(name string, n int) [][]string {
	var out [][]string
	for i := 0; i < n; i++ {
		out = append(out, []string{name})
	}
	return out
}

// The breaker hears of a failed batch once: a connection lost under four
// commands is one failure of the node.
func TestBatchBreakerCountsAFailedBatchOnce(t *testing.T) {
	for _, tc := range []struct {
		limit int
		opens int
	}{
		{limit: 1, opens: 1}, // counted...
		{limit: 2, opens: 0}, // ...once, not four times
	} {
		t.Run(fmt.Sprintf("FailureLimit %d", tc.limit), func(t *testing.T) {
			var mu sync.Mutex
			opens := 0
			env := newBatchEnv(t, redirect.Options{
				Policy: retry.Policy{Breaker: retry.BreakerConfig{FailureLimit: tc.limit, Pause: time.Minute}},
				Observer: redirect.Observer{Breaker: func(e redirect.BreakerEvent) {
					mu.Lock()
					defer mu.Unlock()
					if e.Open {
						opens++
					}
				}},
			})
			ctx := context.Background()
			let := env.hold()
			require.NoError(t, env.c.DropAfterRead(env.node0, 1, clustertest.ExecuteThenDrop))
			var calls []<-chan error
			for _, k := range keysOn(t, env.c, 4) {
				calls = append(calls, env.queue(func() error { return env.cl.Set(ctx, k, "v", 0).Err() }))
			}
			let()
			for _, call := range calls {
				require.ErrorIs(t, <-call, classify.ErrConnection)
			}
			assert.Len(t, env.tp.pipelines(env.node0, "set"), 1, "one batch")
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, tc.opens, opens, "breaker openings")
		})
	}
}

// A batch whose read ends at its callers' deadlines is not a failure of
// the node: short deadlines must not eject a healthy node, as they do not
// for a command sent alone.
func TestBatchCallersDeadlinesAreNotNodeFailures(t *testing.T) {
	var opens atomic.Int32
	env := newBatchEnv(t, redirect.Options{
		Policy: retry.Policy{Breaker: retry.BreakerConfig{FailureLimit: 1, Pause: time.Minute}},
		Observer: redirect.Observer{Breaker: func(e redirect.BreakerEvent) {
			if e.Open {
				opens.Add(1)
			}
		}},
	})
	let := env.hold()
	require.NoError(t, env.c.SetLatency(env.node0, 300*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var calls []<-chan error
	for _, k := range keysOn(t, env.c, 4) {
		calls = append(calls, env.queue(func() error { return env.cl.Set(ctx, k, "v", 0).Err() }))
	}
	let()
	for _, call := range calls {
		require.ErrorIs(t, <-call, context.DeadlineExceeded)
	}
	require.Len(t, env.tp.pipelines(env.node0, "set"), 1, "one batch, cut by its deadline")
	assert.Zero(t, opens.Load(), "the node was ejected")
	require.NoError(t, env.c.SetLatency(env.node0, 0))
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	require.NoError(t, env.cl.Set(ctx2, keysOn(t, env.c, 1)[0], "w", 0).Err(), "the node serves")
}

func TestBatchNeverBatchedCommands(t *testing.T) {
	env := newBatchEnv(t, redirect.Options{})
	k := keyOn(t, env.c, 0, "nb")
	for _, tc := range []struct {
		args []any
		want bool
	}{
		{[]any{"get", k}, true},
		{[]any{"set", k, "v"}, true},
		{[]any{"incr", k}, true},
		{[]any{"blpop", k, 1}, false},
		{[]any{"xread", "block", 10, "streams", k, "0"}, false},
		{[]any{"wait", 1, 0}, false},
		{[]any{"multi"}, false},
		{[]any{"exec"}, false},
		{[]any{"watch", k}, false},
		{[]any{"select", 1}, false},
		{[]any{"subscribe", "ch"}, false},
		{[]any{"spublish", k, "m"}, false},
		{[]any{"nosuch.command", k}, false},
	} {
		assert.Equal(t, tc.want, redirect.Batchable(env.cl, tc.args...), "%v", tc.args)
	}

	// While the only slot is held, commands that never join a batch go
	// on their own at once; a batchable one waits.
	ctx := context.Background()
	require.NoError(t, env.cl.RPush(ctx, k, "x").Err())
	other := keyOn(t, env.c, 0, "nbq")
	let := env.hold()
	queued := env.queue(func() error { return env.cl.Set(ctx, other, "v", 0).Err() })
	v, err := env.cl.BLPop(ctx, time.Second, k).Result()
	require.NoError(t, err)
	assert.Equal(t, []string{k, "x"}, v)
	// The node's own answers (the fake cluster has no SPUBLISH): what
	// matters is that they came while the slot was held.
	assert.Error(t, env.cl.SPublish(ctx, k, "m").Err())
	assert.Error(t, env.cl.Do(ctx, "nosuch.command", k).Err())
	assert.Equal(t, 1, redirect.QueuedOn(env.cl, env.node0), "the SET still waits")
	let()
	require.NoError(t, <-queued)
	assert.Equal(t, 1, env.tp.sentAlone(env.node0, "blpop"))
	assert.Equal(t, 1, env.tp.sentAlone(env.node0, "spublish"))
	assert.Equal(t, 1, env.tp.sentAlone(env.node0, "nosuch.command"))
}

// Closing the Client while commands wait in a batch ends every call, and
// leaves no goroutine behind.
func TestBatchCloseWhileQueued(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	tp := newTap()
	cl, err := redirect.NewClient(redirect.Options{Seeds: []string{c.Primary(0)}, OnNewNode: tp.onNewNode,
		Batch: redirect.BatchOptions{MaxInFlight: 1}})
	require.NoError(t, err)
	require.NoError(t, cl.Refresh(context.Background()))
	env := &batchEnv{t: t, c: c, cl: cl, tp: tp, node0: c.Primary(0)}
	let := env.hold()
	var calls []<-chan error
	for _, k := range keysOn(t, c, 5) {
		calls = append(calls, env.queue(func() error { return cl.Set(context.Background(), k, "v", 0).Err() }))
	}
	require.NoError(t, cl.Close())
	let()
	for _, call := range calls {
		err := <-call
		require.ErrorIs(t, err, redirect.ErrClosed)
		assert.False(t, classify.InDoubt(err), "%v", err)
	}
	goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// Many callers, random deadlines and cancellations, small batches: every
// call returns, and a command that failed not in doubt never ran (each
// counter ends between its acknowledged increments and those plus the
// ones in doubt).
func TestBatchUnderCancellations(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	require.NoError(t, c.SetLatency(c.Primary(0), 200*time.Microsecond))
	cl := newClient(t, c, redirect.Options{Policy: fastPolicy(),
		Batch: redirect.BatchOptions{MaxInFlight: 1, MaxCommands: 8}})
	require.NoError(t, cl.Refresh(context.Background()))
	const workers, each = 24, 60
	type tally struct{ ok, notSent, inDoubt int }
	tallies := make([]tally, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("{cnt%d}", w)
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; i < each; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(3000))*time.Microsecond)
				if r.IntN(4) == 0 {
					ctx, cancel = context.WithCancel(context.Background())
					after := time.Duration(r.IntN(500)) * time.Microsecond
					go func() { time.Sleep(after); cancel() }()
				}
				err := cl.Incr(ctx, key).Err()
				cancel()
				switch {
				case err == nil:
					tallies[w].ok++
				case classify.InDoubt(err):
					tallies[w].inDoubt++
				default: // not sent: the context ended first, or the breaker refused
					tallies[w].notSent++
				}
			}
		}()
	}
	wg.Wait()
	total := tally{}
	for w, tl := range tallies {
		n, err := cl.Get(context.Background(), fmt.Sprintf("{cnt%d}", w)).Int()
		if errors.Is(err, redis.Nil) {
			n, err = 0, nil
		}
		require.NoError(t, err)
		assert.GreaterOrEqual(t, n, tl.ok, "worker %d", w)
		assert.LessOrEqual(t, n, tl.ok+tl.inDoubt, "worker %d: a command that failed not sent ran", w)
		total.ok, total.notSent, total.inDoubt = total.ok+tl.ok, total.notSent+tl.notSent, total.inDoubt+tl.inDoubt
	}
	t.Logf("acknowledged %d, not sent %d, in doubt %d", total.ok, total.notSent, total.inDoubt)
	assert.Positive(t, total.notSent, "no command left a batch unsent: the test did not exercise it")
}

func TestBatchOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		batch redirect.BatchOptions
		field string
	}{
		{redirect.BatchOptions{MaxCommands: -1}, "Options.Batch.MaxCommands"},
		{redirect.BatchOptions{MaxBytes: -1}, "Options.Batch.MaxBytes"},
		{redirect.BatchOptions{MaxInFlight: -1}, "Options.Batch.MaxInFlight"},
	} {
		_, err := redirect.NewClient(redirect.Options{Seeds: []string{"127.0.0.1:1"}, Batch: tc.batch})
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.field)
	}
}
