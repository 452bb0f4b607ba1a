package slotmap

import (
	"context"
	"errors"
	"sync"
)

func failingFetch(context.Context, string) (*Topology, error) {
	return nil, errors.New("no cluster here")
}

// fakeNodes answers Fetch for test maps: each address has a view or an
// error, every call is recorded, and a gate can hold fetches until released.
type fakeNodes struct {
	mu    sync.Mutex
	views map[string]*Topology
	errs  map[string]error
	calls []string
	gate  chan struct{}            // when set, Fetch waits for it to close (or ctx)
	slow  map[string]chan struct{} // per address: Fetch waits for it to close (or ctx)
}

func newFakeNodes() *fakeNodes {
	return &fakeNodes{views: map[string]*Topology{}, errs: map[string]error{}}
}

func (f *fakeNodes) set(view *Topology, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range addrs {
		f.views[a] = view
		delete(f.errs, a)
	}
}

func (f *fakeNodes) fail(err error, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range addrs {
		f.errs[a] = err
	}
}

func (f *fakeNodes) hold() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = make(chan struct{})
}

func (f *fakeNodes) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.gate)
	f.gate = nil
}

func (f *fakeNodes) fetch(ctx context.Context, addr string) (*Topology, error) {
	f.mu.Lock()
	f.calls = append(f.calls, addr)
	gate := f.gate
	if g := f.slow[addr]; g != nil {
		gate = g
	}
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs[addr]; err != nil {
		return nil, err
	}
	if v := f.views[addr]; v != nil {
		return v, nil
	}
	return nil, errors.New("connection refused: " + addr)
}

// holdAddr holds the fetches from addr alone until the returned function
// is called.
func (f *fakeNodes) holdAddr(addr string) (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.slow == nil {
		f.slow = map[string]chan struct{}{}
	}
	g := make(chan struct{})
	f.slow[addr] = g
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.slow, addr)
		close(g)
	}
}

func (f *fakeNodes) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeNodes) callsSnapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// events collects RefreshEvents.
type events struct {
	mu  sync.Mutex
	evs []RefreshEvent
}

func (e *events) observe(ev RefreshEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *events) all() []RefreshEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]RefreshEvent(nil), e.evs...)
}

func (e *events) last() RefreshEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.evs) == 0 {
		return RefreshEvent{}
	}
	return e.evs[len(e.evs)-1]
}
