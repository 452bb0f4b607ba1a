package redirect

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

// fakeCluster stands for a ClusterClient under a clusterWatch: reloads and
// probes are function fields, timed in a synctest bubble.
type fakeCluster struct {
	mu         sync.Mutex
	primaries  map[string]bool // what a reload returns
	reloads    []time.Time     // when each reload began
	inReload   int
	maxInFlite int
	reloadTook time.Duration
	answers    map[string]bool // nodes that answer a probe
	probes     atomic.Int64
}

func newFakeCluster(primaries ...string) *fakeCluster {
	f := &fakeCluster{primaries: map[string]bool{}, answers: map[string]bool{}}
	for _, p := range primaries {
		f.primaries[p] = true
	}
	return f
}

func (f *fakeCluster) reload(ctx context.Context) (map[string]bool, error) {
	f.mu.Lock()
	f.reloads = append(f.reloads, time.Now())
	f.inReload++
	f.maxInFlite = max(f.maxInFlite, f.inReload)
	took := f.reloadTook
	f.mu.Unlock()
	if took > 0 {
		time.Sleep(took)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inReload--
	out := map[string]bool{}
	for p := range f.primaries {
		out[p] = true
	}
	return out, ctx.Err()
}

func (f *fakeCluster) probe(ctx context.Context, addr string) error {
	f.probes.Add(1)
	f.mu.Lock()
	ok := f.answers[addr]
	f.mu.Unlock()
	if ok {
		return nil
	}
	// A hung node: the probe waits for its timeout.
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	return errors.New("no answer")
}

func (f *fakeCluster) set(do func(f *fakeCluster)) {
	f.mu.Lock()
	do(f)
	f.mu.Unlock()
}

func (f *fakeCluster) reloadCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reloads)
}

// waitAll suspects addr from n goroutines at once, each then waiting for
// the suspicion to end, and returns their outcomes.
func waitAll(w *clusterWatch, addr string, n int) []watchOutcome {
	outs := make([]watchOutcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.suspect(addr)
			if wd := w.watching(addr); wd != nil {
				outs[i], _ = w.wait(context.Background(), wd)
			} else {
				outs[i] = 255 // the suspicion ended before this one looked
			}
		}()
	}
	wg.Wait()
	return outs
}

// A burst of failures on a node whose slots another node already serves
// costs one reload, and every command held goes on to be routed again.
func TestClusterWatchBurstReloadsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("b:1", "c:1")
		w := newClusterWatch(100*time.Millisecond, 30*time.Second, f.reload, f.probe)
		defer w.close()
		outs := waitAll(w, "a:1", 100)
		for _, o := range outs {
			assert.Contains(t, []watchOutcome{watchMoved, 255}, o)
		}
		assert.Contains(t, outs, watchMoved)
		// Failures that were on their way when the reload settled it
		// start nothing new.
		w.suspect("a:1")
		assert.Nil(t, w.watching("a:1"))
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, 1, f.reloadCount(), "one reload for the burst, none while healthy")
		assert.Zero(t, w.count.Load())
	})
}

// While a node stays suspect, reloads go on one at a time, each an
// interval after the previous one began, until one shows the slots served
// elsewhere; then they stop.
func TestClusterWatchRateLimitedSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("a:1", "b:1")
		f.reloadTook = 30 * time.Millisecond
		const interval = 100 * time.Millisecond
		w := newClusterWatch(interval, 30*time.Second, f.reload, f.probe)
		defer w.close()
		done := make(chan watchOutcome)
		go func() { done <- waitAll(w, "a:1", 20)[0] }()

		time.Sleep(450 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 5, f.reloadCount(), "at 0, 100, 200, 300 and 400ms")
		f.set(func(f *fakeCluster) { delete(f.primaries, "a:1"); f.primaries["a:2"] = true })
		assert.Equal(t, watchMoved, <-done)

		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, 6, f.reloadCount(), "no reload once the slots moved")
		assert.Equal(t, 1, f.maxInFlite, "single-flight")
		for i := 1; i < len(f.reloads); i++ {
			assert.GreaterOrEqual(t, f.reloads[i].Sub(f.reloads[i-1]), interval)
		}
	})
}

// A suspect node that answers its probe again releases what waits for it.
func TestClusterWatchProbeAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("a:1", "b:1")
		w := newClusterWatch(100*time.Millisecond, 30*time.Second, f.reload, f.probe)
		defer w.close()
		done := make(chan watchOutcome)
		go func() { done <- waitAll(w, "a:1", 1)[0] }()
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, int64(3), f.probes.Load(), "one probe under way at a time, each waiting 1s for its timeout")
		f.set(func(f *fakeCluster) { f.answers["a:1"] = true })
		assert.Equal(t, watchAnswered, <-done)
		// A reload the loop began at the instant of the answer, before it
		// saw it, may still be recording itself: count once all is still.
		synctest.Wait()
		n := f.reloadCount()
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, n, f.reloadCount(), "no reload once the node answered")
	})
}

// Watching is bounded: after giveUp the held commands are told so, and the
// reloads stop.
func TestClusterWatchGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("a:1", "b:1")
		w := newClusterWatch(time.Second, 10*time.Second, f.reload, f.probe)
		defer w.close()
		assert.Equal(t, watchGaveUp, waitAll(w, "a:1", 3)[0])
		assert.Equal(t, 10, f.reloadCount(), "one a second from 0s to 9s; at 10s it gave up")
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, 10, f.reloadCount())
	})
}

// go-redis may spend a node's whole ReadTimeout on a reload that asked the
// node that hangs: the next reload starts an interval later all the same,
// and settles the suspicion; never more than two are under way.
func TestClusterWatchReloadStuckOnTheHungNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("b:1", "c:1") // the replica already took over
		f.reloadTook = 3 * time.Second
		w := newClusterWatch(100*time.Millisecond, 30*time.Second, f.reload, f.probe)
		defer w.close()
		start := time.Now()
		go func() {
			time.Sleep(50 * time.Millisecond)
			f.set(func(f *fakeCluster) { f.reloadTook = 0 })
		}()
		assert.Equal(t, watchMoved, waitAll(w, "a:1", 1)[0])
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "settled by the second reload, while the first hung")

		f.set(func(f *fakeCluster) { f.reloadTook = 3 * time.Second; f.primaries["a:1"] = true })
		go waitAll(w, "a:1", 1)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, 2, f.maxInFlite, "at most two reloads under way")
		n := f.reloadCount()
		assert.LessOrEqual(t, n, 2+2*10/3+1, "a new one only as one ends")
		w.close()
	})
}

// A reload that fails settles nothing, nor does one without primaries.
func TestClusterWatchFailedReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster()
		w := newClusterWatch(time.Second, 3*time.Second, f.reload, f.probe)
		defer w.close()
		assert.Equal(t, watchGaveUp, waitAll(w, "a:1", 1)[0], "an empty slot map does not say a:1 was replaced")
	})
}

// A held command whose context ends fails as not sent; close releases the
// others as if never held, stops the loop and the probes, and makes
// suspect a no-op.
func TestClusterWatchContextAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeCluster("a:1", "b:1")
		w := newClusterWatch(100*time.Millisecond, 30*time.Second, f.reload, f.probe)
		w.suspect("a:1")
		wd := w.watching("a:1")
		require.NotNil(t, wd)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := w.wait(ctx, wd)
		require.Error(t, err)
		assert.False(t, classify.InDoubt(err), "a held command was not sent: %v", err)
		assert.Equal(t, classify.KindDeadline, classify.KindOf(err))

		done := make(chan watchOutcome)
		go func() {
			out, _ := w.wait(context.Background(), wd)
			done <- out
		}()
		w.close()
		assert.Equal(t, watchClosed, <-done)
		n := f.reloadCount()
		w.suspect("b:1")
		assert.Nil(t, w.watching("b:1"))
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, n, f.reloadCount())
		w.close() // twice is fine
	})
}
