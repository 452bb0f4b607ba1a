package retry

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterhop/clusterhop/classify"
)

// Breaker defaults: libmemcached's server_failure_limit (5) and
// retry_timeout (2 s), which pylibmc exposes as failure_limit and
// retry_timeout.
const (
	DefaultFailureLimit = 5
	DefaultBreakerPause = 2 * time.Second
	DefaultMaxNodes     = 1024
)

// BreakerConfig configures a client's per-node breaker.
type BreakerConfig struct {
	// FailureLimit is the number of consecutive connection failures or
	// timeouts after which a node is ejected. Default 5.
	FailureLimit int `json:"failure_limit,omitempty"`

	// Pause is how long an ejected node gets no commands; then one probe
	// command goes through (half-open): its success brings the node back,
	// its failure ejects it for another Pause. Default 2s.
	Pause time.Duration `json:"pause,omitempty"`

	// MaxNodes bounds the nodes the breaker remembers failures of; past
	// it, the records of healthy-again nodes are dropped first. Default 1024.
	MaxNodes int `json:"max_nodes,omitempty"`

	// Disabled turns the breaker off: NewBreaker returns nil, and a nil
	// *Breaker allows every node. Default false.
	Disabled bool `json:"disabled,omitempty"`
}

func (c BreakerConfig) validate() error {
	switch {
	case c.FailureLimit < 0:
		return &ConfigError{Field: "breaker_failure_limit", Value: strconv.Itoa(c.FailureLimit), Reason: "must not be negative (0 means 5)"}
	case c.Pause < 0:
		return &ConfigError{Field: "breaker_pause", Value: c.Pause.String(), Reason: "must not be negative (0 means 2s)"}
	case c.MaxNodes < 0:
		return &ConfigError{Field: "breaker_max_nodes", Value: strconv.Itoa(c.MaxNodes), Reason: "must not be negative (0 means 1024)"}
	}
	return nil
}

// OpenError says a node is ejected. Breaker.Allow returns it inside a
// *classify.ClientError of kind classify.KindBreakerOpen (not sent, so Next
// retries it after a refresh); errors.Is(err, ErrBreakerOpen) holds.
type OpenError struct {
	Addr     string    // the ejected node
	Failures int       // consecutive failures counted
	Until    time.Time // when the next probe may go through
}

func (e *OpenError) Error() string {
	return "clusterhop: node " + e.Addr + " ejected after " + plural(e.Failures, "consecutive failure") +
		" until " + e.Until.Format("15:04:05.000")
}

// Is makes errors.Is(err, ErrBreakerOpen) hold.
func (e *OpenError) Is(target error) bool { return target == ErrBreakerOpen }

// Breaker ejects nodes that keep failing, per node: after FailureLimit
// consecutive connection failures or timeouts, commands for the node fail
// fast for Pause instead of waiting for dial timeouts; then one probe is
// let through. Safe for concurrent use; while no node has failed, Allow and
// Success take no lock. A nil *Breaker allows everything.
type Breaker struct {
	limit    int
	pause    time.Duration
	maxNodes int

	tracked atomic.Int32     // len(nodes), read without mu to skip it when zero
	mu      sync.Mutex       // protects nodes and the records in it
	nodes   map[string]*node // nodes with at least one failure since their last success
}

type node struct {
	failures int
	until    time.Time // zero: closed (counting); else ejected until then
	probing  bool      // half-open: a probe went through at probeAt
	probeAt  time.Time
}

// NewBreaker returns a breaker with every node closed, or nil when
// c.Disabled.
func NewBreaker(c BreakerConfig) *Breaker {
	if c.Disabled {
		return nil
	}
	b := &Breaker{limit: c.FailureLimit, pause: c.Pause, maxNodes: c.MaxNodes, nodes: map[string]*node{}}
	if b.limit <= 0 {
		b.limit = DefaultFailureLimit
	}
	if b.pause <= 0 {
		b.pause = DefaultBreakerPause
	}
	if b.maxNodes <= 0 {
		b.maxNodes = DefaultMaxNodes
	}
	return b
}

// Watching reports whether some node has failures on record; while none
// has, Allow passes every node whatever the time, so a caller may skip
// reading the clock.
func (b *Breaker) Watching() bool { return b != nil && b.tracked.Load() > 0 }

// Allow returns nil when a command may be sent to addr now, and a
// *classify.ClientError (KindBreakerOpen, wrapping an *OpenError) when the
// node is ejected. After the pause, the first caller is the probe and gets
// nil; the others are refused until the probe reports (or, should it never
// report, until another pause has passed).
func (b *Breaker) Allow(addr string, now time.Time) error {
	if b == nil || b.tracked.Load() == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.nodes[addr]
	switch {
	case n == nil || n.until.IsZero():
		return nil
	case now.Before(n.until):
		return open(addr, n.failures, n.until)
	case n.probing && now.Before(n.probeAt.Add(b.pause)):
		return open(addr, n.failures, n.probeAt.Add(b.pause))
	}
	n.probing, n.probeAt = true, now
	return nil
}

func open(addr string, failures int, until time.Time) error {
	return &classify.ClientError{
		Kind: classify.KindBreakerOpen,
		Err:  &OpenError{Addr: addr, Failures: failures, Until: until},
	}
}

// Success records that addr answered (any reply, error replies included:
// the node is alive). It closes the node's breaker.
func (b *Breaker) Success(addr string) {
	if b == nil || b.tracked.Load() == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forget(addr)
}

// Failure records a connection failure or timeout of addr at now. The
// FailureLimit-th consecutive one ejects the node until now+Pause; a failed
// probe ejects it again.
func (b *Breaker) Failure(addr string, now time.Time) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.nodes[addr]
	if n == nil {
		if len(b.nodes) >= b.maxNodes {
			b.evict()
		}
		n = &node{}
		b.nodes[addr] = n
		b.tracked.Store(int32(len(b.nodes)))
	}
	n.failures++
	switch {
	case n.probing:
		n.probing = false
		n.until = now.Add(b.pause)
	case n.until.IsZero() && n.failures >= b.limit:
		n.until = now.Add(b.pause)
	}
}

// Record calls Success or Failure for the outcome err of an attempt sent
// to addr: nil and server replies are successes, connection failures and
// timeouts are failures, anything else (a canceled context, an exhausted
// pool) says nothing about the node.
func (b *Breaker) Record(addr string, err error, now time.Time) {
	switch k := classify.KindOf(err); {
	case k == classify.KindNone || k.IsReply():
		b.Success(addr)
	case k == classify.KindConnection || k == classify.KindTimeout:
		b.Failure(addr, now)
	}
}

// Forget drops what the breaker knows of addr (a node removed from the
// topology).
func (b *Breaker) Forget(addr string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forget(addr)
}

// BreakerState is the state of one node in a Breaker.
type BreakerState uint8

const (
	BreakerClosed   BreakerState = iota // commands go through; failures are counted
	BreakerOpen                         // ejected: commands are refused
	BreakerHalfOpen                     // the pause is over: one probe may go (or went) through
)

func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("BreakerState(%d)", uint8(s))
}

// State returns addr's state at now, for observers and tests.
func (b *Breaker) State(addr string, now time.Time) BreakerState {
	if b == nil {
		return BreakerClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.nodes[addr]
	switch {
	case n == nil || n.until.IsZero():
		return BreakerClosed
	case now.Before(n.until):
		return BreakerOpen
	}
	return BreakerHalfOpen
}

// forget removes addr; b.mu must be held.
func (b *Breaker) forget(addr string) {
	delete(b.nodes, addr)
	b.tracked.Store(int32(len(b.nodes)))
}

// evict makes room for one record, dropping a closed node's failure count
// before an ejected node; b.mu must be held.
func (b *Breaker) evict() {
	victim, found := "", false
	for addr, n := range b.nodes {
		victim, found = addr, true
		if n.until.IsZero() {
			break
		}
	}
	if found {
		b.forget(victim)
	}
}
