package redirect

import (
	"context"
	"maps"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// retireDelay is how long the client of a node that left the topology (or
// that is being reconnected) stays open, so that commands already using it
// finish instead of failing with "client is closed".
const retireDelay = 5 * time.Second

// transientIdle is how long the client of a node outside the topology (an
// ASK target the topology never listed, a REDIRECT target of a standalone
// server) may sit unused before it is closed.
const transientIdle = 30 * time.Second

// node is one cluster node's go-redis client.
type node struct {
	addr   string // as the cluster names it (before AddrMap)
	client *redis.Client
	batch  batcher // the Client's batches of commands to this node

	// transient: the node was outside the topology when its client was
	// made; used (unix nanoseconds of the last get) tells when it idles.
	transient atomic.Bool
	used      atomic.Int64

	// inflight counts the engine's round trips under way to the node;
	// progress (unix nanoseconds) is when it last replied, or when it last
	// went from idle to busy: a node with round trips under way and no
	// progress for a while has stopped answering (stalled).
	inflight atomic.Int32
	progress atomic.Int64
}

// begin records a round trip starting now, reading the clock only when
// the node was idle.
func (n *node) begin(now func() time.Time) {
	if n.inflight.Add(1) == 1 {
		n.progress.Store(now().UnixNano())
	}
}

// end records a round trip ending at now.
func (n *node) end(now time.Time) {
	n.progress.Store(now.UnixNano())
	n.inflight.Add(-1)
}

// stalled reports whether the node has had round trips under way and no
// reply for longer than after.
func (n *node) stalled(now func() time.Time, after time.Duration) bool {
	return n.inflight.Load() > 0 && now().UnixNano()-n.progress.Load() > int64(after)
}

// retired is a client closed after retireDelay, or at nodeSet.close.
type retired struct {
	timer  *time.Timer
	client *redis.Client
	closed *atomic.Bool // the timer fired and closed client
}

// nodeSet holds one client per node address, created on first use. Reads
// are lock-free: the map is replaced, never mutated, once published.
type nodeSet struct {
	template  *redis.Options
	addrMap   func(string) string
	readOnly  bool                // send READONLY on every new connection (replica reads)
	onNewNode func(*redis.Client) // Options.OnNewNode, or nil

	// known reports whether an address belongs to the cluster as known
	// (topology, seeds, the hooked client); nil: every address does. Set
	// before first use.
	known func(addr string) bool
	idle  time.Duration // how long a transient node may idle (transientIdle)

	view atomic.Pointer[map[string]*node] // the published map

	mu      sync.Mutex // protects writes to view, retired and closed
	retired []retired
	closed  bool
}

func newNodeSet(template *redis.Options, addrMap func(string) string, readOnly bool, onNewNode func(*redis.Client)) *nodeSet {
	s := &nodeSet{template: template, addrMap: addrMap, readOnly: readOnly, onNewNode: onNewNode, idle: transientIdle}
	s.view.Store(&map[string]*node{})
	return s
}

// get returns the client of addr, creating it on first use.
func (s *nodeSet) get(addr string) (*node, error) {
	if n, ok := (*s.view.Load())[addr]; ok {
		if n.transient.Load() {
			n.used.Store(time.Now().UnixNano())
		}
		return n, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	cur := *s.view.Load()
	if n, ok := cur[addr]; ok {
		return n, nil
	}
	n := &node{addr: addr, client: redis.NewClient(s.options(addr))}
	if s.onNewNode != nil {
		s.onNewNode(n.client)
	}
	if s.known != nil && !s.known(addr) {
		n.transient.Store(true)
		n.used.Store(time.Now().UnixNano())
		s.retireIdle(n)
	}
	next := maps.Clone(cur)
	next[addr] = n
	s.view.Store(&next)
	return n, nil
}

// retireIdle retires the transient node n once it has been unused for
// s.idle, unless it has joined the cluster as known by then.
func (s *nodeSet) retireIdle(n *node) {
	var check func()
	check = func() {
		idle := time.Since(time.Unix(0, n.used.Load()))
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || (*s.view.Load())[n.addr] != n {
			return
		}
		if s.known(n.addr) {
			n.transient.Store(false)
			return
		}
		if idle < s.idle {
			time.AfterFunc(s.idle-idle, check)
			return
		}
		next := maps.Clone(*s.view.Load())
		delete(next, n.addr)
		s.view.Store(&next)
		s.retireLocked(n.client)
	}
	time.AfterFunc(s.idle, check)
}

// options derives a node's client options from the template.
func (s *nodeSet) options(addr string) *redis.Options {
	var o redis.Options
	if s.template != nil {
		o = *s.template
	}
	dial := addr
	if s.addrMap != nil {
		dial = s.addrMap(addr)
	}
	o.Addr = dial
	// Retrying is the engine's job: go-redis would re-send a command whose
	// reply timed out, and that command may have run.
	o.MaxRetries = -1
	// The caller's context bounds every wait of a command, reads and
	// writes included, as the package documents: without this, go-redis
	// waits for ReadTimeout whatever the context's deadline.
	o.ContextTimeoutEnabled = true
	dialOnce(&o)
	if o.TLSConfig != nil && o.TLSConfig.ServerName == "" {
		// Each node presents its own certificate: verify the name the node
		// is dialled by, as a per-node client of a cluster must.
		cfg := o.TLSConfig.Clone()
		if host, _, err := net.SplitHostPort(dial); err == nil {
			cfg.ServerName = host
		}
		o.TLSConfig = cfg
	}
	if s.readOnly {
		prev := o.OnConnect
		o.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
			if prev != nil {
				if err := prev(ctx, cn); err != nil {
					return err
				}
			}
			return cn.ReadOnly(ctx).Err()
		}
	}
	return &o
}

// dialOnce makes a node's client dial once per connection unless the
// template says otherwise. Newer go-redis releases retry a failed dial
// inside the pool (DialerRetries, 5 attempts 100ms apart) before a command
// sees the failure; but a refused connection from a cluster node is a
// topology signal the engine acts on at once (refresh, reroute), and the
// policy does the waiting. The field does not exist in older releases,
// hence it is set by name.
func dialOnce(o *redis.Options) {
	if f := reflect.ValueOf(o).Elem().FieldByName("DialerRetries"); f.IsValid() && f.CanSet() && f.Kind() == reflect.Int && f.Int() == 0 {
		f.SetInt(1)
	}
}

// retain retires the clients of nodes not in addrs.
func (s *nodeSet) retain(addrs []string) {
	keep := make(map[string]struct{}, len(addrs))
	for _, a := range addrs {
		keep[a] = struct{}{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.view.Load()
	var next map[string]*node
	for addr, n := range cur {
		if _, ok := keep[addr]; ok {
			continue
		}
		if next == nil {
			next = maps.Clone(cur)
		}
		delete(next, addr)
		s.retireLocked(n.client)
	}
	if next != nil {
		s.view.Store(&next)
	}
}

// reconnect replaces addr's client by a new one on next use, for a node whose
// name now resolves elsewhere (a MOVED that names the node that sent it).
func (s *nodeSet) reconnect(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := *s.view.Load()
	n, ok := cur[addr]
	if !ok {
		return
	}
	next := maps.Clone(cur)
	delete(next, addr)
	s.view.Store(&next)
	s.retireLocked(n.client)
}

func (s *nodeSet) retireLocked(c *redis.Client) {
	if s.closed {
		_ = c.Close()
		return
	}
	// Forget the clients already closed, so that a long-lived client
	// through many topology changes keeps no list of them.
	live := s.retired[:0]
	for _, r := range s.retired {
		if !r.closed.Load() {
			live = append(live, r)
		}
	}
	clear(s.retired[len(live):])
	s.retired = live
	closed := new(atomic.Bool)
	t := time.AfterFunc(retireDelay, func() {
		_ = c.Close()
		closed.Store(true)
	})
	s.retired = append(s.retired, retired{timer: t, client: c, closed: closed})
}

// all returns every live node.
func (s *nodeSet) all() []*node {
	cur := *s.view.Load()
	out := make([]*node, 0, len(cur))
	for _, n := range cur {
		out = append(out, n)
	}
	return out
}

// close closes every client, retired ones included.
func (s *nodeSet) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var first error
	for _, n := range *s.view.Load() {
		if err := n.client.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.view.Store(&map[string]*node{})
	for _, r := range s.retired {
		if r.timer.Stop() { // not fired yet: its client is still open
			_ = r.client.Close()
		}
	}
	s.retired = nil
	return first
}
