package slotmap

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// flight is one fetch that any number of callers wait for.
type flight struct {
	reason   Reason
	startGen uint64        // Map.gen when the fetch started
	done     chan struct{} // closed when err is set
	err      error
}

func (f *flight) finish(err error) {
	f.err = err
	close(f.done)
}

// Refresh fetches the topology and publishes it, unless it is older than the
// map's view. Concurrent callers share one fetch: the one running, or else
// the next one, which starts as soon as the rate limit allows. Each caller
// stops waiting when its own ctx ends (returning context.Cause(ctx)); the
// fetch goes on for the others, bounded by Config.Timeout.
func (m *Map) Refresh(ctx context.Context, reason Reason) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed
	}
	f := m.flight
	if f == nil {
		f = m.next
	}
	if f == nil {
		f = m.scheduleLocked(reason)
	}
	m.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// RequestRefresh asks for a refresh and returns at once. Requests coalesce:
// while a fetch waits for the rate limit they join it, and while one runs
// they are served by a single fetch after it, whose view is then newer than
// whatever made them ask.
func (m *Map) RequestRefresh(reason Reason) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed, m.next != nil:
	case m.flight != nil:
		if !m.pending {
			m.pending, m.pendReason = true, reason
		}
	default:
		m.scheduleLocked(reason)
	}
}

// scheduleLocked creates a fetch and starts it now, or when the rate limit
// allows.
func (m *Map) scheduleLocked(reason Reason) *flight {
	f := &flight{reason: reason, done: make(chan struct{})}
	wait := time.Until(m.nextAt)
	if wait <= 0 {
		m.startLocked(f)
		return f
	}
	m.next = f
	m.wg.Add(1)
	m.timer = time.AfterFunc(wait, func() {
		defer m.wg.Done()
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.next == f {
			m.next = nil
			m.startLocked(f)
		}
	})
	return f
}

func (m *Map) startLocked(f *flight) {
	f.startGen = m.gen
	m.flight = f
	m.nextAt = time.Now().Add(m.cfg.MinInterval + m.jitterLocked())
	targets, seeds := m.targetsLocked()
	m.wg.Add(1)
	go m.run(f, targets, seeds)
}

// targetsLocked picks up to Sample nodes at random among the view's
// primaries and readable replicas, so that no single node (the first seed,
// the primary of slot 0) answers every client. Seeds are kept for when
// every node asked fails, or are the targets when no node is known.
func (m *Map) targetsLocked() (targets, seeds []string) {
	seeds = m.sampleLocked(m.cfg.Seeds)
	var known []string
	if t := m.view.Load(); t != nil {
		for _, a := range t.addrs {
			if t.nodes[a].Routable() {
				known = append(known, a)
			}
		}
	}
	if len(known) == 0 {
		return seeds, nil
	}
	return m.sampleLocked(known), seeds
}

// sampleLocked returns up to Sample distinct elements of from, at random.
func (m *Map) sampleLocked(from []string) []string {
	from = append([]string(nil), from...)
	n := min(m.cfg.Sample, len(from))
	for i := range n {
		j := i + m.cfg.Rand(len(from)-i)
		from[i], from[j] = from[j], from[i]
	}
	return from[:n]
}

// reply is one node's answer to a fetch.
type reply struct {
	addr string
	view *Topology
	err  error
}

func (m *Map) run(f *flight, targets, seeds []string) {
	defer m.wg.Done()
	start := time.Now()
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Timeout)
	replies := m.ask(ctx, targets)
	if !anyView(replies) && len(seeds) > 0 {
		replies = append(replies, m.ask(ctx, seeds)...)
	}
	cancel()

	m.mu.Lock()
	ev := m.applyLocked(f, replies)
	m.flight = nil
	if m.pending && !m.closed {
		m.pending = false
		m.scheduleLocked(m.pendReason)
	}
	m.mu.Unlock()

	ev.Reason = f.reason
	ev.Duration = time.Since(start)
	if m.cfg.Observer != nil {
		m.cfg.Observer(ev)
	}
	f.finish(ev.Err)
}

// ask fetches from every addr at once and waits for all of them.
func (m *Map) ask(ctx context.Context, addrs []string) []reply {
	replies := make([]reply, len(addrs))
	done := make(chan struct{}, len(addrs))
	for i, a := range addrs {
		go func() {
			defer func() { done <- struct{}{} }()
			v, err := m.cfg.Fetch(ctx, a)
			if err == nil && v.Covered() == 0 {
				// A node that was reset or has not joined yet knows only
				// itself; its view would make every slot uncovered.
				err = fmt.Errorf("slotmap: %s reports a view covering no slots", a)
			}
			replies[i] = reply{addr: a, view: v, err: err}
		}()
	}
	for range addrs {
		<-done
	}
	return replies
}

func anyView(rs []reply) bool {
	for _, r := range rs {
		if r.err == nil {
			return true
		}
	}
	return false
}

// applyLocked chooses among the replies and publishes the chosen view under
// the rules in the Map documentation.
func (m *Map) applyLocked(f *flight, replies []reply) RefreshEvent {
	if len(replies) == 0 {
		return RefreshEvent{Err: errors.New("slotmap: refresh: no node to ask (no seeds and no known node)")}
	}
	best := m.chooseLocked(replies)
	if best < 0 {
		errs := make([]error, len(replies))
		for i, r := range replies {
			errs[i] = r.err
		}
		return RefreshEvent{Addr: replies[0].addr, Err: fmt.Errorf("slotmap: refresh: every node asked failed: %w", errors.Join(errs...))}
	}
	view := replies[best].view
	ev := RefreshEvent{Addr: replies[best].addr}
	if f.startGen < m.floor {
		// A RefreshFrom view newer than this fetch was published meanwhile.
		ev.Discarded = true
		return ev
	}
	for slot, p := range m.patches {
		if p.gen > f.startGen && !routesTo(view, slot, p.addr) {
			ev.Discarded = true
			return ev
		}
	}
	next := view
	if m.lastFetched != nil && sameRouting(view, m.lastFetched) {
		for slot, p := range m.patches {
			next = next.withSlot(slot, p.addr)
		}
	} else {
		clear(m.patches)
	}
	m.lastFetched = view
	cur := m.view.Load()
	ev.Changed = !sameRouting(cur, next)
	m.view.Store(next)
	return ev
}

// chooseLocked returns the index of the view to use, or -1 if every reply
// failed.
func (m *Map) chooseLocked(replies []reply) int {
	best, bestAgree, bestVotes, bestCovered := -1, 0, 0, 0
	for i, r := range replies {
		if r.err != nil {
			continue
		}
		agree := 0
		for slot, p := range m.patches {
			if routesTo(r.view, slot, p.addr) {
				agree++
			}
		}
		votes := 0
		for _, o := range replies {
			if o.err == nil && sameRouting(r.view, o.view) {
				votes++
			}
		}
		covered := r.view.Covered()
		if best < 0 || agree > bestAgree ||
			agree == bestAgree && (votes > bestVotes || votes == bestVotes && covered > bestCovered) {
			best, bestAgree, bestVotes, bestCovered = i, agree, votes, covered
		}
	}
	return best
}

func routesTo(t *Topology, slot int, addr string) bool {
	a, err := t.PrimaryAddr(slot)
	return err == nil && a == addr
}

// RefreshFrom fetches the topology from the node at addr at once, outside
// the rate limit, and publishes it under the rules of every refresh (a
// view that would undo a newer MOVED patch is discarded). It is for a node
// known to hold news the others may not have yet: a replica that reports
// itself primary after its primary stopped answering. Once its view is
// published, the reply of a fetch that started before it is discarded,
// since it may still name the old primary.
//
// It returns the fetch's error, or nil with the published view (Load) now
// the node's, or discarded (the event says which).
func (m *Map) RefreshFrom(ctx context.Context, addr string, reason Reason) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed
	}
	f := &flight{reason: reason, startGen: m.gen, done: make(chan struct{})}
	m.wg.Add(1)
	m.mu.Unlock()
	defer m.wg.Done()

	start := time.Now()
	fctx, cancel := context.WithTimeout(m.ctx, m.cfg.Timeout)
	stop := context.AfterFunc(ctx, cancel)
	replies := m.ask(fctx, []string{addr})
	stop()
	cancel()

	m.mu.Lock()
	ev := m.applyLocked(f, replies)
	if ev.Err == nil && !ev.Discarded {
		m.gen++
		m.floor = m.gen
	}
	m.mu.Unlock()

	ev.Reason = reason
	ev.Duration = time.Since(start)
	if m.cfg.Observer != nil {
		m.cfg.Observer(ev)
	}
	f.finish(ev.Err)
	return ev.Err
}
