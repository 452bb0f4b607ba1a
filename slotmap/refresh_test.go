package slotmap

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testConfig spaces fetches by exactly 1.05 s: Rand returns half its bound.
func testConfig(nodes *fakeNodes, ev *events, seeds ...string) Config {
	return Config{
		Seeds:       seeds,
		Fetch:       nodes.fetch,
		MinInterval: time.Second,
		Jitter:      100 * time.Millisecond,
		Observer:    ev.observe,
		Rand:        func(n int) int { return n / 2 },
	}
}

func newTestMap(t *testing.T, cfg Config) *Map {
	t.Helper()
	m, err := NewMap(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

func TestRefreshSharesOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes, ev := newFakeNodes(), &events{}
		nodes.set(three(t, "a:1", "b:1", "c:1"), "seed:1")
		nodes.hold()
		m := newTestMap(t, testConfig(nodes, ev, "seed:1"))

		var wg sync.WaitGroup
		errs := make([]error, 1000)
		for i := range errs {
			wg.Go(func() { errs[i] = m.Refresh(context.Background(), ReasonUncovered) })
		}
		synctest.Wait() // every caller is waiting on the one fetch
		nodes.release()
		wg.Wait()

		assert.Equal(t, 1, nodes.callCount(), "1,000 callers, one topology fetch")
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, ev.all(), 1)
		assert.Equal(t, "a:1", must(m.Load().PrimaryAddr(0)))
	})
}

func TestRefreshRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes, ev := newFakeNodes(), &events{}
		nodes.set(three(t, "a:1", "b:1", "c:1"), "seed:1", "a:1", "b:1", "c:1")
		cfg := testConfig(nodes, ev, "seed:1")
		cfg.Sample = 1
		m := newTestMap(t, cfg)

		start := time.Now()
		require.NoError(t, m.Refresh(context.Background(), ReasonInitial))
		assert.Zero(t, time.Since(start), "the first fetch starts at once")
		for i := 2; i <= 4; i++ {
			require.NoError(t, m.Refresh(context.Background(), ReasonManual))
			assert.Equal(t, time.Duration(i-1)*1050*time.Millisecond, time.Since(start),
				"fetch %d waits for MinInterval plus jitter after the previous start", i)
		}
		assert.Equal(t, 4, nodes.callCount())

		// Half way through the interval, a caller gives up and another waits.
		time.Sleep(500 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, m.Refresh(ctx, ReasonManual), context.DeadlineExceeded)
		require.NoError(t, m.Refresh(context.Background(), ReasonManual))
		assert.Equal(t, 5, nodes.callCount())
	})
}

func TestRefreshCallerContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes, ev := newFakeNodes(), &events{}
		nodes.set(three(t, "a:1", "b:1", "c:1"), "seed:1")
		nodes.hold()
		cfg := testConfig(nodes, ev, "seed:1")
		cfg.Timeout = 5 * time.Second
		m := newTestMap(t, cfg)

		cause := errors.New("request abandoned")
		ctx, cancel := context.WithCancelCause(context.Background())
		ended, end := context.WithCancelCause(context.Background())
		end(cause)
		assert.ErrorIs(t, m.Refresh(ended, ReasonManual), cause)
		assert.Zero(t, nodes.callCount(), "an ended context asks for nothing")
		var patient error
		done := make(chan struct{})
		go func() {
			defer close(done)
			patient = m.Refresh(context.Background(), ReasonManual)
		}()
		go func() {
			time.Sleep(10 * time.Millisecond)
			cancel(cause)
		}()
		assert.ErrorIs(t, m.Refresh(ctx, ReasonManual), cause, "a caller returns when its own context ends")
		nodes.release()
		<-done
		assert.NoError(t, patient, "the fetch goes on for the others")

		// Config.Timeout bounds a fetch nobody stops waiting for.
		nodes.hold()
		time.Sleep(2 * time.Second)
		start := time.Now()
		err := m.Refresh(context.Background(), ReasonManual)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 5*time.Second, time.Since(start))
		nodes.release()
	})
}

func TestRequestRefreshCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes, ev := newFakeNodes(), &events{}
		nodes.set(three(t, "a:1", "b:1", "c:1"), "seed:1", "a:1", "b:1", "c:1")
		cfg := testConfig(nodes, ev, "seed:1")
		cfg.Sample = 1
		m := newTestMap(t, cfg)

		for range 100 {
			m.RequestRefresh(ReasonMoved)
		}
		synctest.Wait()
		assert.Equal(t, 1, nodes.callCount(), "requests before any fetch: one fetch")

		for range 100 {
			m.RequestRefresh(ReasonMoved) // within the interval: one fetch, later
		}
		synctest.Wait()
		assert.Equal(t, 1, nodes.callCount())
		time.Sleep(1050 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 2, nodes.callCount())

		time.Sleep(2 * time.Second)
		nodes.hold()
		m.RequestRefresh(ReasonConnError) // starts a fetch, which is held
		synctest.Wait()
		assert.Equal(t, 3, nodes.callCount())
		for range 10 {
			m.RequestRefresh(ReasonMoved) // does not block; one more fetch after this one
		}
		nodes.release()
		synctest.Wait()
		assert.Equal(t, 3, nodes.callCount())
		time.Sleep(1050 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 4, nodes.callCount())
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, 4, nodes.callCount(), "nothing more was asked for")

		evs := ev.all()
		require.Len(t, evs, 4)
		assert.Equal(t, []Reason{ReasonMoved, ReasonMoved, ReasonConnError, ReasonMoved},
			[]Reason{evs[0].Reason, evs[1].Reason, evs[2].Reason, evs[3].Reason})
	})
}

func TestRefreshSamples(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes, ev := newFakeNodes(), &events{}
		view := mkTopo(t,
			spec{primary: "a:1", ranges: []Range{{0, 8000}}, replicas: []string{"ar:1"}},
			spec{primary: "b:1", ranges: []Range{{8001, 16383}}, replicas: []string{"br:1", "bs:1"}},
		)
		all := []string{"a:1", "ar:1", "b:1", "br:1", "bs:1"}
		nodes.set(view, append(all, "seed:1", "seed:2")...)
		cfg := testConfig(nodes, ev, "seed:1", "seed:2")
		r := rand.New(rand.NewPCG(1, 2))
		cfg.Rand = r.IntN
		m := newTestMap(t, cfg)

		require.NoError(t, m.Refresh(context.Background(), ReasonInitial))
		assert.ElementsMatch(t, []string{"seed:1", "seed:2"}, nodes.callsSnapshot(), "no node known: the seeds")

		asked := map[string]int{}
		for range 20 {
			before := nodes.callCount()
			require.NoError(t, m.Refresh(context.Background(), ReasonManual))
			round := nodes.callsSnapshot()[before:]
			require.Len(t, round, 3, "Sample nodes per refresh")
			seen := map[string]bool{}
			for _, a := range round {
				require.False(t, seen[a], "distinct nodes in one refresh")
				seen[a] = true
				asked[a]++
			}
		}
		assert.NotContains(t, asked, "seed:1", "seeds are not asked while nodes answer")
		for _, a := range all {
			assert.Positive(t, asked[a], "every known node gets asked: %s", a)
		}
	})
}

func TestRefreshFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes, ev := newFakeNodes(), &events{}
		v1 := three(t, "a:1", "b:1", "c:1")
		nodes.set(v1, "seed:1")
		m := newTestMap(t, testConfig(nodes, ev, "seed:1"))
		require.NoError(t, m.Refresh(context.Background(), ReasonInitial))

		// Every known node fails: the seeds are asked.
		nodes.fail(errors.New("connection refused"), "a:1", "b:1", "c:1")
		time.Sleep(2 * time.Second)
		require.NoError(t, m.Refresh(context.Background(), ReasonConnError))
		assert.Equal(t, "seed:1", ev.last().Addr)

		// Everything fails: an error naming each node, the view stays.
		nodes.fail(errors.New("i/o timeout"), "seed:1")
		time.Sleep(2 * time.Second)
		err := m.Refresh(context.Background(), ReasonConnError)
		require.ErrorContains(t, err, "every node asked failed")
		for _, s := range []string{"connection refused", "i/o timeout"} {
			assert.ErrorContains(t, err, s)
		}
		assert.Same(t, v1, m.Load())
		assert.Equal(t, err, ev.last().Err)

		// A node that knows no slot (reset, or not joined yet) is no answer.
		empty := mkTopo(t, spec{primary: "seed:1"})
		nodes.set(empty, "a:1", "b:1", "c:1", "seed:1")
		time.Sleep(2 * time.Second)
		err = m.Refresh(context.Background(), ReasonConnError)
		require.ErrorContains(t, err, "covering no slots")
		assert.Same(t, v1, m.Load())

		// No seeds, no view: nothing to ask.
		m2 := newTestMap(t, testConfig(nodes, ev))
		assert.ErrorContains(t, m2.Refresh(context.Background(), ReasonInitial), "no node to ask")
	})
}

func TestRefreshEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes, ev := newFakeNodes(), &events{}
		nodes.set(three(t, "a:1", "b:1", "c:1"), "seed:1", "a:1", "b:1", "c:1")
		m := newTestMap(t, testConfig(nodes, ev, "seed:1"))
		nodes.hold()
		go func() {
			time.Sleep(30 * time.Millisecond)
			nodes.release()
		}()
		require.NoError(t, m.Refresh(context.Background(), ReasonUncovered))
		assert.Equal(t, RefreshEvent{Reason: ReasonUncovered, Addr: "seed:1", Duration: 30 * time.Millisecond, Changed: true}, ev.last())

		time.Sleep(2 * time.Second)
		require.NoError(t, m.Refresh(context.Background(), ReasonManual))
		last := ev.last()
		assert.False(t, last.Changed, "the same view again")
		assert.False(t, last.Discarded)
		assert.NoError(t, last.Err)
	})
}

// TestRefreshOrdering covers the rules that keep an older view from
// replacing a newer one.
func TestRefreshOrdering(t *testing.T) {
	v1 := three(t, "a:1", "b:1", "c:1") // slot 100 on a
	v2 := v1.withSlot(100, "b:1")       // the cluster moved slot 100 to b
	v2.from = "b:1"
	v3 := v1.withSlot(100, "c:1").withSlot(101, "c:1") // and later to c

	setup := func(t *testing.T) (*Map, *fakeNodes, *events) {
		nodes, ev := newFakeNodes(), &events{}
		nodes.set(v1, "a:1", "b:1", "c:1")
		m := newTestMap(t, testConfig(nodes, ev, "a:1"))
		require.NoError(t, m.Refresh(context.Background(), ReasonInitial))
		time.Sleep(2 * time.Second)
		return m, nodes, ev
	}

	t.Run("a fetch older than a patch is discarded", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, nodes, ev := setup(t)
			nodes.hold()
			done := make(chan error)
			go func() { done <- m.Refresh(context.Background(), ReasonMoved) }()
			synctest.Wait() // the fetch has started
			m.Patch(100, "b:1")
			nodes.release()
			require.NoError(t, <-done)
			assert.True(t, ev.last().Discarded)
			assert.False(t, ev.last().Changed)
			assert.Equal(t, "b:1", must(m.Load().PrimaryAddr(100)), "the patch stays")
		})
	})
	t.Run("a fetch that agrees with a later patch is used", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, nodes, ev := setup(t)
			nodes.set(v2, "a:1", "b:1", "c:1")
			nodes.hold()
			done := make(chan error)
			go func() { done <- m.Refresh(context.Background(), ReasonMoved) }()
			synctest.Wait()
			m.Patch(100, "b:1")
			nodes.release()
			require.NoError(t, <-done)
			assert.False(t, ev.last().Discarded)
			assert.Same(t, v2, m.Load())

			// The patch is confirmed: a newer view moving the slot wins.
			nodes.set(v3, "a:1", "b:1", "c:1")
			time.Sleep(2 * time.Second)
			require.NoError(t, m.Refresh(context.Background(), ReasonManual))
			assert.Same(t, v3, m.Load())
		})
	})
	t.Run("a fetch with no news keeps the patches (stale nodes)", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, nodes, ev := setup(t)
			m.Patch(100, "b:1")
			m.Patch(5000, "d:1")
			require.NoError(t, m.Refresh(context.Background(), ReasonMoved))
			last := ev.last()
			assert.False(t, last.Discarded)
			assert.False(t, last.Changed, "the patched view is still the view")
			top := m.Load()
			assert.Equal(t, "b:1", must(top.PrimaryAddr(100)))
			assert.Equal(t, "d:1", must(top.PrimaryAddr(5000)))
			assert.Equal(t, "a:1", must(top.PrimaryAddr(99)))
			checkInvariants(t, top)

			// Once the nodes know of a change, their view wins.
			nodes.set(v3, "a:1", "b:1", "c:1")
			time.Sleep(2 * time.Second)
			require.NoError(t, m.Refresh(context.Background(), ReasonManual))
			assert.Same(t, v3, m.Load())
			assert.True(t, ev.last().Changed)
		})
	})
	t.Run("the view that agrees with the patches beats the majority", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, nodes, ev := setup(t)
			nodes.set(v2, "b:1")
			m.Patch(100, "b:1")
			require.NoError(t, m.Refresh(context.Background(), ReasonMoved))
			assert.Equal(t, "b:1", ev.last().Addr)
			assert.Same(t, v2, m.Load())
		})
	})
	t.Run("without patches the majority wins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, nodes, ev := setup(t)
			nodes.set(v3, "a:1", "c:1")
			nodes.set(v2, "b:1")
			require.NoError(t, m.Refresh(context.Background(), ReasonManual))
			assert.NotEqual(t, "b:1", ev.last().Addr)
			assert.Same(t, v3, m.Load())
		})
	})
}

func TestPeriodicRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes, ev := newFakeNodes(), &events{}
		nodes.set(three(t, "a:1", "b:1", "c:1"), "seed:1", "a:1", "b:1", "c:1")
		cfg := testConfig(nodes, ev, "seed:1")
		cfg.Periodic = 10 * time.Second
		cfg.Jitter = time.Second
		cfg.Sample = 1
		m, err := NewMap(cfg)
		require.NoError(t, err)

		time.Sleep(31 * time.Second) // fetches at 10.5 s and 21 s
		synctest.Wait()
		require.Equal(t, 2, nodes.callCount())
		for _, e := range ev.all() {
			assert.Equal(t, ReasonPeriodic, e.Reason)
		}
		require.NoError(t, m.Close())
		time.Sleep(time.Minute)
		assert.Equal(t, 2, nodes.callCount(), "Close stops the periodic refresh")
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nodes, ev := newFakeNodes(), &events{}
		nodes.set(three(t, "a:1", "b:1", "c:1"), "seed:1", "a:1", "b:1", "c:1")
		m, err := NewMap(testConfig(nodes, ev, "seed:1"))
		require.NoError(t, err)
		require.NoError(t, m.Refresh(context.Background(), ReasonInitial))

		waiting := make(chan error)
		go func() { waiting <- m.Refresh(context.Background(), ReasonManual) }() // waits for the rate limit
		synctest.Wait()
		require.NoError(t, m.Close())
		err = <-waiting
		assert.ErrorIs(t, err, ErrClosed)
		assert.Equal(t, classify.KindClosed, classify.KindOf(err))
		assert.ErrorIs(t, m.Refresh(context.Background(), ReasonManual), ErrClosed)
		m.RequestRefresh(ReasonManual)
		time.Sleep(time.Minute)
		assert.Equal(t, 1, nodes.callCount())
		assert.NoError(t, m.Close(), "Close twice")
		assert.NotNil(t, m.Load(), "the last view stays readable")
	})
	t.Run("during a fetch", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			nodes, ev := newFakeNodes(), &events{}
			nodes.hold()
			m, err := NewMap(testConfig(nodes, ev, "seed:1"))
			require.NoError(t, err)
			waiting := make(chan error)
			go func() { waiting <- m.Refresh(context.Background(), ReasonInitial) }()
			synctest.Wait()
			require.NoError(t, m.Close(), "Close cancels the fetch and waits for it")
			assert.ErrorIs(t, <-waiting, context.Canceled)
		})
	})
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Fetch: failingFetch}
	tests := []struct {
		name   string
		edit   func(*Config)
		errHas string
	}{
		{"no fetch", func(c *Config) { c.Fetch = nil }, "Config.Fetch is required"},
		{"bad seed", func(c *Config) { c.Seeds = []string{"a:1", "nohost"} }, `Config.Seeds[1]: "nohost" is not host:port`},
		{"negative interval", func(c *Config) { c.MinInterval = -1 }, "Config.MinInterval is negative"},
		{"negative jitter", func(c *Config) { c.Jitter = -1 }, "Config.Jitter is negative"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "Config.Timeout is negative"},
		{"negative periodic", func(c *Config) { c.Periodic = -time.Second }, "Config.Periodic is negative"},
		{"negative sample", func(c *Config) { c.Sample = -2 }, "Config.Sample is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			require.ErrorContains(t, c.Validate(), tt.errHas)
			_, err := NewMap(c)
			require.ErrorContains(t, err, tt.errHas)
		})
	}
	require.NoError(t, ok.Validate())
	d := ok.withDefaults()
	assert.Equal(t, DefaultMinInterval, d.MinInterval)
	assert.Equal(t, DefaultJitter, d.Jitter)
	assert.Equal(t, DefaultSample, d.Sample)
	assert.Equal(t, DefaultTimeout, d.Timeout)
	assert.NotNil(t, d.Rand)
}

func TestRefreshFrom(t *testing.T) {
	v1 := three(t, "a:1", "b:1", "c:1")
	promoted := v1.withSlot(100, "r:1") // r took slot 100 over from its primary
	promoted.from = "r:1"

	setup := func(t *testing.T) (*Map, *fakeNodes, *events) {
		nodes, ev := newFakeNodes(), &events{}
		nodes.set(v1, "a:1", "b:1", "c:1")
		nodes.set(promoted, "r:1")
		cfg := testConfig(nodes, ev, "a:1")
		cfg.Sample = 1
		m := newTestMap(t, cfg)
		require.NoError(t, m.Refresh(context.Background(), ReasonInitial))
		return m, nodes, ev
	}

	t.Run("at once, outside the rate limit, from the node named", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, nodes, ev := setup(t)
			start := time.Now()
			require.NoError(t, m.RefreshFrom(context.Background(), "r:1", ReasonPromoted))
			assert.Zero(t, time.Since(start), "no wait for the rate limit right after a refresh")
			assert.Equal(t, "r:1", must(m.Load().PrimaryAddr(100)))
			assert.Equal(t, "r:1", nodes.callsSnapshot()[1])
			last := ev.last()
			assert.Equal(t, ReasonPromoted, last.Reason)
			assert.True(t, last.Changed)
			assert.Equal(t, "r:1", last.Addr)
		})
	})
	t.Run("a fetch begun before it cannot undo it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, nodes, ev := setup(t)
			time.Sleep(2 * time.Second)
			release := nodes.holdAddr("a:1")
			nodes.holdAddr("b:1")
			nodes.holdAddr("c:1")
			done := make(chan error)
			go func() { done <- m.Refresh(context.Background(), ReasonConnError) }()
			synctest.Wait() // that fetch is under way, from a node with old news
			require.NoError(t, m.RefreshFrom(context.Background(), "r:1", ReasonPromoted))
			release()
			require.NoError(t, <-done)
			assert.True(t, ev.last().Discarded, "the older fetch is discarded")
			assert.Equal(t, "r:1", must(m.Load().PrimaryAddr(100)))
		})
	})
	t.Run("a failed fetch changes nothing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m, nodes, _ := setup(t)
			nodes.fail(errors.New("connection refused"), "r:1")
			require.Error(t, m.RefreshFrom(context.Background(), "r:1", ReasonPromoted))
			assert.Equal(t, must(v1.PrimaryAddr(100)), must(m.Load().PrimaryAddr(100)))
		})
	})
	t.Run("after Close", func(t *testing.T) {
		m, _, _ := setup(t)
		require.NoError(t, m.Close())
		assert.ErrorIs(t, m.RefreshFrom(context.Background(), "r:1", ReasonPromoted), classify.ErrClosed)
	})
}
