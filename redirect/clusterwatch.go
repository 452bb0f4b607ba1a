package redirect

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterhop/clusterhop/classify"
)

// clusterWatch finds out, for AttachCluster, what became of the nodes of a
// ClusterClient that stopped answering: one goroutine, running only while
// some node is suspect, starts a reload of the ClusterClient's slot map at
// most once per interval (one reload serves every suspect node: the map is
// the whole cluster's) and probes each suspect node on a connection of its
// own. A node leaves suspicion when a reload shows it serving no slot (its
// replica took over), when it answers a probe, or when giveUp has passed.
type clusterWatch struct {
	interval time.Duration // least time between the starts of two reloads
	giveUp   time.Duration // how long a node stays suspect at most
	// reload reloads the slot map and returns the primaries it names.
	reload func(ctx context.Context) (primaries map[string]bool, err error)
	// probe returns nil when the node at addr answers.
	probe func(ctx context.Context, addr string) error

	ctx    context.Context // ends at close: stops reloads and probes under way
	cancel context.CancelFunc
	wg     sync.WaitGroup // the loop and the probes

	count atomic.Int32 // len(suspects), read without the lock on every command

	mu       sync.Mutex // protects the fields below
	suspects map[string]*watched
	running  bool      // the loop runs
	last     time.Time // when the last reload began
	replaced map[string]bool
	closed   bool
}

// watched is one suspect node.
type watched struct {
	since   time.Time
	probing bool          // a probe is under way; guarded by clusterWatch.mu
	done    chan struct{} // closed once out is set
	out     watchOutcome
}

// watchOutcome is how a suspicion ended.
type watchOutcome uint8

const (
	watchAnswered watchOutcome = iota // the node answered a probe: send to it
	watchMoved                        // a reload shows it serving no slot: route again
	watchGaveUp                       // neither happened within giveUp
	watchClosed                       // the attachment was closed: as if never held
)

func newClusterWatch(interval, giveUp time.Duration,
	reload func(context.Context) (map[string]bool, error), probe func(context.Context, string) error) *clusterWatch {
	ctx, cancel := context.WithCancel(context.Background())
	return &clusterWatch{interval: interval, giveUp: giveUp, reload: reload, probe: probe,
		ctx: ctx, cancel: cancel, suspects: map[string]*watched{}}
}

// suspect starts watching the node at addr, unless it is watched already,
// or the last reload, less than an interval ago, showed it serving no slot:
// a failure that was on its way when the reload found the new primary says
// nothing new, and ClusterClient routes by that reload already.
func (w *clusterWatch) suspect(addr string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.suspects[addr] != nil {
		return
	}
	if w.replaced[addr] && time.Since(w.last) < w.interval {
		return
	}
	w.suspects[addr] = &watched{since: time.Now(), done: make(chan struct{})}
	w.count.Add(1)
	if !w.running {
		w.running = true
		w.wg.Add(1)
		go w.loop()
	}
}

// watching returns the suspicion of the node at addr, nil when it is not
// suspect.
func (w *clusterWatch) watching(addr string) *watched {
	if w.count.Load() == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.suspects[addr]
}

// wait waits until the suspicion ends or ctx does; the command waiting was
// not sent, so an ended context is not in doubt.
func (w *clusterWatch) wait(ctx context.Context, wd *watched) (watchOutcome, error) {
	select {
	case <-wd.done:
		return wd.out, nil
	case <-ctx.Done():
		return 0, classify.NotSent(context.Cause(ctx))
	}
}

// maxReloads bounds the reloads under way at once. go-redis reloads from
// a random node and bounds its read by that node's ReadTimeout, not by the
// reload's context (unless ContextTimeoutEnabled): a reload may hang for
// seconds on the very node that stopped answering, and the next one, an
// interval later, most likely asks another.
const maxReloads = 2

// loop starts a round each interval while any node is suspect, with at
// most maxReloads reloads under way.
func (w *clusterWatch) loop() {
	defer w.wg.Done()
	finished := make(chan struct{}, maxReloads)
	inFlight := 0
	for {
		w.mu.Lock()
		w.giveUpLocked()
		if len(w.suspects) == 0 || w.closed {
			w.running = false
			w.mu.Unlock()
			return
		}
		pause := time.Until(w.last.Add(w.interval))
		w.mu.Unlock()
		var wake <-chan time.Time
		switch {
		case pause > 0:
			wake = time.After(pause)
		case inFlight == maxReloads:
			wake = time.After(w.interval)
		default:
			inFlight++
			w.round(finished)
			continue
		}
		select {
		case <-wake:
		case <-finished:
			inFlight--
		case <-w.ctx.Done():
		}
	}
}

// round starts a probe of each suspect node that has none under way, and
// a reload, which ends the suspicions it settles and then signals
// finished.
func (w *clusterWatch) round(finished chan<- struct{}) {
	w.mu.Lock()
	w.last = time.Now()
	for addr, wd := range w.suspects {
		if !wd.probing {
			wd.probing = true
			w.wg.Add(1)
			go w.probeOne(addr, wd)
		}
	}
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		primaries, err := w.reload(w.ctx)
		w.settle(primaries, err)
		finished <- struct{}{}
	}()
}

// settle ends the suspicion of each suspect node a reload shows serving no
// slot. A reload that failed, or names no primary at all, settles nothing.
func (w *clusterWatch) settle(primaries map[string]bool, err error) {
	if err != nil || len(primaries) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.replaced = map[string]bool{}
	for addr, wd := range w.suspects {
		if !primaries[addr] {
			w.replaced[addr] = true
			w.endLocked(addr, wd, watchMoved)
		}
	}
}

// giveUpLocked ends the suspicions older than giveUp.
func (w *clusterWatch) giveUpLocked() {
	for addr, wd := range w.suspects {
		if time.Since(wd.since) >= w.giveUp {
			w.endLocked(addr, wd, watchGaveUp)
		}
	}
}

// probeOne probes a suspect node once; an answer ends its suspicion.
func (w *clusterWatch) probeOne(addr string, wd *watched) {
	defer w.wg.Done()
	err := w.probe(w.ctx, addr)
	w.mu.Lock()
	defer w.mu.Unlock()
	wd.probing = false
	if err == nil && w.ctx.Err() == nil {
		w.endLocked(addr, wd, watchAnswered)
	}
}

// endLocked ends the suspicion wd of addr, if it is still the current one.
func (w *clusterWatch) endLocked(addr string, wd *watched, out watchOutcome) {
	if w.suspects[addr] != wd {
		return
	}
	delete(w.suspects, addr)
	w.count.Add(-1)
	wd.out = out
	close(wd.done)
}

// close releases every held command and stops the loop and the probes.
func (w *clusterWatch) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	for addr, wd := range w.suspects {
		w.endLocked(addr, wd, watchClosed)
	}
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
}
