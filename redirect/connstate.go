package redirect

import (
	"sync"
	"sync/atomic"
)

// connStateOf is what one connection of a Hook's client has open: a WATCH
// (a transaction on it must not be re-sent elsewhere, or its check-and-set
// would be lost) and a MULTI (commands on it are queued, and must stay on
// it). go-redis gives the hook no connection, but it builds one hook chain
// per connection owner — the client's pool, each Tx, each Conn — so the
// state lives with the chain.
//
// A nil *connStateOf is a chain whose connection is unknown: treated as
// watching, so its transactions are never re-sent.
type connStateOf struct {
	watch atomic.Bool // a WATCH may be open
	multi atomic.Bool // inside MULTI ... EXEC sent command by command
	lost  atomic.Bool // its pairing with a pipeline chain is uncertain
}

// after updates the state once name was sent with outcome err.
func (s *connStateOf) after(name string, err error) {
	if s == nil {
		return
	}
	switch name {
	case "watch":
		// A failed WATCH (a MOVED, say) watched nothing; an earlier one on
		// the same connection stays open.
		if err == nil {
			s.watch.Store(true)
		}
	case "multi":
		if err == nil {
			s.multi.Store(true)
		}
	case "exec", "discard":
		// Both end the transaction and every WATCH, whatever their reply.
		s.watch.Store(false)
		s.multi.Store(false)
	case "unwatch":
		s.watch.Store(false)
	case "reset":
		s.watch.Store(false)
		s.multi.Store(false)
	}
}

// watching reports whether a transaction on this connection may run under a
// WATCH.
func (s *connStateOf) watching() bool {
	return s == nil || s.lost.Load() || s.watch.Load()
}

func (s *connStateOf) inMulti() bool { return s != nil && s.multi.Load() }

// connStates pairs the chains go-redis builds: for each hook it calls
// ProcessHook, then ProcessPipelineHook for pipelines, then for
// transactions, one chain at a time per goroutine. begin (ProcessHook)
// makes a chain's state; the next two joins (ProcessPipelineHook) take it.
// When two chains are built at once, their calls interleave and cannot be
// told apart: both states are then marked lost, so that their transactions
// are never re-sent — the safe side. A pipeline hook with nothing to pair
// with gets nil (unknown), the safe side too.
type connStates struct {
	mu      sync.Mutex   // protects pending and uses
	pending *connStateOf // the state of the chain being built
	uses    int          // joins left for pending
}

func (c *connStates) begin() *connStateOf {
	s := new(connStateOf)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending != nil && c.uses > 0 {
		c.pending.lost.Store(true)
		s.lost.Store(true)
	}
	c.pending, c.uses = s, 2
	return s
}

func (c *connStates) join() *connStateOf {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uses == 0 {
		return nil
	}
	c.uses--
	s := c.pending
	if c.uses == 0 {
		c.pending = nil
	}
	return s
}
