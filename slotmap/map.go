package slotmap

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterhop/clusterhop/classify"
)

// ErrClosed is returned by Refresh once the map is closed, wrapped in a
// *classify.ClientError of kind classify.KindClosed.
var ErrClosed = classify.ErrClosed

var errClosed error = &classify.ClientError{Kind: classify.KindClosed, Err: ErrClosed}

// Map holds the current topology of a cluster and keeps it current: MOVED
// patches one slot at once, and full refreshes are shared, rate limited and
// never replace a newer view with an older one.
//
// Which view is newer. CLUSTER SHARDS and CLUSTER SLOTS carry no config
// epoch, so the map orders views by what it has seen itself:
//
//  1. A view fetched while a patch was being applied is older than that
//     patch: if it routes the patched slot elsewhere it is discarded whole.
//  2. A view that routes every slot as the last accepted fetched view did
//     brings no news (the nodes asked have not learned of the change yet),
//     so every patch applied since stays in force on top of it.
//  3. Otherwise the fetched view wins and the patches are forgotten.
//
// Among the replies of the nodes one refresh asks, the map prefers the view
// that agrees with the most outstanding patches, then the one most nodes
// sent, then the one covering the most slots.
type Map struct {
	cfg  Config
	view atomic.Pointer[Topology] // the published view; read without locks

	ctx    context.Context // canceled by Close; parent of every fetch
	cancel context.CancelFunc
	wg     sync.WaitGroup // fetch goroutines, the timer of next, the periodic loop

	mu          sync.Mutex    // protects the fields below and writes to view
	gen         uint64        // patches and RefreshFrom views applied so far; orders them and fetches
	floor       uint64        // fetches started before this gen are older than a RefreshFrom view
	patches     map[int]patch // outstanding patches by slot
	lastFetched *Topology     // the last fetched view accepted, before patches
	flight      *flight       // the fetch running, if any
	next        *flight       // the fetch waiting for the rate limit, if any
	timer       *time.Timer   // starts next
	nextAt      time.Time     // earliest start of the next fetch
	pending     bool          // a request came during flight: run one more after it
	pendReason  Reason        // the reason of that request
	closed      bool
}

// patch is a MOVED the map applied and no fetched view has confirmed or
// superseded yet.
type patch struct {
	gen  uint64
	addr string
}

// NewMap validates cfg and returns a map with no view: Load returns nil
// until the first refresh (or patch). With cfg.Periodic set it starts the
// background refresh; Close stops it.
func NewMap(cfg Config) (*Map, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Map{cfg: cfg.withDefaults(), patches: make(map[int]patch)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if m.cfg.Periodic > 0 {
		m.wg.Add(1)
		go m.periodic()
	}
	return m, nil
}

// Load returns the current view without locking; nil before the first
// successful refresh or patch. The view never changes; later views replace it.
func (m *Map) Load() *Topology { return m.view.Load() }

// Patch records a MOVED reply: slot is served by the primary at addr from
// now on. The new view is published before Patch returns. An address the
// view does not know becomes a new primary. An out-of-range slot or an
// address without a host and port is ignored: it cannot be routed to.
//
// Patch changes one slot; callers also call RequestRefresh(ReasonMoved),
// since slots usually move together.
func (m *Map) Patch(slot int, addr string) {
	if uint(slot) >= SlotCount || !dialable(addr) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	cur := m.view.Load()
	next := cur.withSlot(slot, addr)
	m.gen++
	m.patches[slot] = patch{gen: m.gen, addr: addr}
	if next != cur {
		m.view.Store(next)
	}
}

// Drop forgets the outstanding patches that route slots to addr, for a node
// that refused a connection: the MOVED that named it was stale (or false),
// and a refused connection says more about the node than the MOVED did.
// The slots go back to where the last fetched view (with the other
// patches) routes them, so retries stop dialling a dead node even when the
// next refresh brings no news. Without a fetched view, nothing changes.
func (m *Map) Drop(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.lastFetched == nil {
		return
	}
	dropped := false
	for slot, p := range m.patches {
		if p.addr == addr {
			delete(m.patches, slot)
			dropped = true
		}
	}
	if !dropped {
		return
	}
	next := m.lastFetched
	for slot, p := range m.patches {
		next = next.withSlot(slot, p.addr)
	}
	m.view.Store(next)
}

// dialable reports whether addr has a host and a port: a MOVED to ":6380"
// must be completed with the replying node's host by the caller, and "?"
// names no endpoint at all.
func dialable(addr string) bool {
	i := len(addr) - 1
	for i >= 0 && addr[i] != ':' {
		i--
	}
	return i > 0 && i < len(addr)-1 && addr[:i] != "?"
}

// Close stops the periodic refresh, fails the refreshes not started yet,
// cancels the one running and waits for every goroutine the map started.
func (m *Map) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.cancel()
	if m.next != nil {
		if m.timer.Stop() {
			m.wg.Done()
		}
		m.next.finish(errClosed)
		m.next = nil
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

func (m *Map) periodic() {
	defer m.wg.Done()
	for {
		m.mu.Lock()
		d := m.cfg.Periodic + m.jitterLocked()
		m.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-m.ctx.Done():
			t.Stop()
			return
		case <-t.C:
			m.RequestRefresh(ReasonPeriodic)
		}
	}
}

func (m *Map) jitterLocked() time.Duration {
	if m.cfg.Jitter <= 0 {
		return 0
	}
	return time.Duration(m.cfg.Rand(int(m.cfg.Jitter)))
}
