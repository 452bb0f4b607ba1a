package clustertest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterhop/clusterhop/slotmap"
)

// Cluster is a running fake Redis Cluster. Its methods are safe for
// concurrent use, and topology changes are safe while clients run.
type Cluster struct {
	cfg   Config
	store *store
	topo  atomic.Pointer[topology] // read by nodes without a lock
	wg    sync.WaitGroup           // accept loops and connections
	done  chan struct{}            // closed by Close: ends latency waits

	// data is held for reading while a node checks a command's keys and
	// runs it, and for writing while keys move between shards.
	data sync.RWMutex

	mu      sync.Mutex // protects nodes, windows, closed; serializes topology changes
	nodes   []*node    // by node index
	windows map[*window]struct{}
	closed  bool
}

// New starts a cluster for a test and closes it when the test ends. It
// fails the test if the cluster cannot start or does not stop cleanly.
func New(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	c, err := Start(cfg)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("%v", err)
		}
	})
	return c
}

// Start starts a cluster; Close stops it.
func Start(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	st, err := newStore()
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, store: st, done: make(chan struct{}), windows: map[*window]struct{}{}}
	t := &topology{
		owner:      make([]int16, slotmap.SlotCount),
		migrations: map[int]migration{},
		preferred:  cfg.PreferredEndpoint,
	}
	evenSplit(t.owner, cfg.Shards)
	// Nodes are numbered as redis-cli creates them: the primaries first,
	// then the replicas shard by shard.
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range cfg.Shards {
		n, err := c.addNodeLocked(t, s, true)
		if err != nil {
			c.closeLocked()
			return nil, err
		}
		t.shards = append(t.shards, shardView{primary: n.idx})
		t.bumpEpoch(s)
	}
	for s := range cfg.Shards {
		for range cfg.ReplicasPerShard {
			n, err := c.addNodeLocked(t, s, false)
			if err != nil {
				c.closeLocked()
				return nil, err
			}
			t.shards[s].replicas = append(t.shards[s].replicas, n.idx)
		}
	}
	c.topo.Store(t)
	return c, nil
}

// addNodeLocked starts a node and adds it to t, which the caller publishes.
func (c *Cluster) addNodeLocked(t *topology, shard int, primary bool) (*node, error) {
	n, err := newNode(c, len(c.nodes))
	if err != nil {
		return nil, err
	}
	c.nodes = append(c.nodes, n)
	t.nodes = append(t.nodes, nodeView{
		id: n.id, addr: n.addr, host: n.host, hostname: c.cfg.Hostname(n.idx),
		port: n.port, shard: shard, primary: primary,
	})
	return n, nil
}

// Close stops every node and waits for their connections to end.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	return c.closeLocked()
}

func (c *Cluster) closeLocked() error {
	c.closed = true
	close(c.done)
	for w := range c.windows {
		w.timer.Stop()
	}
	for _, n := range c.nodes {
		n.kill()
	}
	// Closing the store wakes the commands blocked in it (BLPOP 0), which
	// would otherwise keep their connection's goroutine forever.
	c.store.close()
	c.wg.Wait()
	return nil
}

// delay waits d, and reports false if the cluster closed meanwhile.
func (c *Cluster) delay(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-c.done:
		return false
	}
}

// Addrs returns the address of every node: the primaries in shard order,
// then the replicas.
func (c *Cluster) Addrs() []string {
	t := c.topo.Load()
	var out []string
	for _, s := range t.shards {
		out = append(out, t.nodes[s.primary].addr)
	}
	for _, s := range t.shards {
		for _, r := range s.replicas {
			out = append(out, t.nodes[r].addr)
		}
	}
	return out
}

// Shards returns the number of shards, including those AddNode added.
func (c *Cluster) Shards() int { return len(c.topo.Load().shards) }

// Primary returns the address of shard's primary, or "" when there is no
// such shard.
func (c *Cluster) Primary(shard int) string {
	t := c.topo.Load()
	if shard < 0 || shard >= len(t.shards) {
		return ""
	}
	return t.primaryAddr(shard)
}

// Replicas returns the addresses of shard's replicas.
func (c *Cluster) Replicas(shard int) []string {
	t := c.topo.Load()
	if shard < 0 || shard >= len(t.shards) {
		return nil
	}
	var out []string
	for _, r := range t.shards[shard].replicas {
		out = append(out, t.nodes[r].addr)
	}
	return out
}

// SlotOwner returns the address of the primary that owns slot, or "" when
// no node serves it.
func (c *Cluster) SlotOwner(slot int) string {
	t := c.topo.Load()
	if slot < 0 || slot >= len(t.owner) || t.owner[slot] < 0 {
		return ""
	}
	return t.primaryAddr(int(t.owner[slot]))
}

// ShardOf returns the shard of the node at addr, or -1.
func (c *Cluster) ShardOf(addr string) int {
	t := c.topo.Load()
	for _, n := range t.nodes {
		if n.addr == addr {
			return n.shard
		}
	}
	return -1
}

// NodeID returns the 40-character ID of the node at addr, or "".
func (c *Cluster) NodeID(addr string) string {
	t := c.topo.Load()
	for _, n := range t.nodes {
		if n.addr == addr {
			return n.id
		}
	}
	return ""
}

// Stats returns the counters of the node at addr.
func (c *Cluster) Stats(addr string) (Stats, error) {
	n, err := c.node(addr)
	if err != nil {
		return emptyStats(), err
	}
	return n.stats.snapshot(), nil
}

// Counters returns the counters of every node added together.
func (c *Cluster) Counters() Stats {
	c.mu.Lock()
	nodes := slices.Clone(c.nodes)
	c.mu.Unlock()
	out := emptyStats()
	for _, n := range nodes {
		out.merge(n.stats.snapshot())
	}
	return out
}

// ResetStats sets every node's counters to zero.
func (c *Cluster) ResetStats() {
	c.mu.Lock()
	nodes := slices.Clone(c.nodes)
	c.mu.Unlock()
	for _, n := range nodes {
		n.stats.reset()
	}
}

// ErrUnknownNode is returned for an address that is not a node of the
// cluster.
var ErrUnknownNode = errors.New("clustertest: no node has that address")

func (c *Cluster) node(addr string) (*node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.addr == addr {
			return n, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownNode, addr)
}

// change applies f to a copy of the topology and publishes the copy, unless
// f fails. Callers hold c.mu.
func (c *Cluster) changeLocked(f func(t *topology) error) error {
	if c.closed {
		return ErrClosed
	}
	t := c.topo.Load().clone()
	if err := f(t); err != nil {
		return err
	}
	c.topo.Store(t)
	return nil
}

// ErrClosed is returned by topology changes after Close.
var ErrClosed = errors.New("clustertest: cluster closed")
