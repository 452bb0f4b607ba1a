package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Cluster is a running cluster of server processes on loopback. Its
// methods are safe for concurrent use; the ones that change the cluster
// (migrations, failovers, kills) are meant to be called from one goroutine
// while others send traffic.
type Cluster struct {
	cfg     Config
	server  string
	version string
	dir     string
	nodes   []*node // fixed after Start: primaries first, then their replicas
	byAddr  map[string]*node
	byID    map[string]*node

	acc      access    // TLS files and ACL users, fixed after Start
	watchdog *watchdog // nil if it could not start; sweepStale is the fallback

	mu         sync.Mutex // protects the nodes' process state, view, migrations, closed
	view       *topology  // as of the last Refresh or wait
	migrations map[int]migration
	closed     bool
	closeErr   error
}

// errPortInUse marks a start that lost a race for a port; Start retries.
var errPortInUse = errors.New("port already in use")

// Start starts a cluster as cfg describes and returns when it is healthy
// (see WaitHealthy). On error nothing is left running. Close the cluster
// when done; until then its processes also die with this process.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	server, err := FindServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	version, err := checkVersion(server)
	if err != nil {
		return nil, err
	}
	sweepStale(cfg.Dir, cfg.Logf)
	for attempt := 1; ; attempt++ {
		c, err := start(ctx, cfg, server, version)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == 3 {
			return nil, err
		}
		cfg.Logf("cluster: %v; retrying on other ports", err)
	}
}

func start(ctx context.Context, cfg Config, server, version string) (*Cluster, error) {
	began := time.Now()
	dir, err := makeDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		cfg: cfg, server: server, version: version, dir: dir,
		byAddr:     make(map[string]*node),
		byID:       make(map[string]*node),
		migrations: make(map[int]migration),
	}
	if c.watchdog, err = startWatchdog(dir); err != nil {
		cfg.Logf("%v; a crashed run will leave %s for a later Start to remove", err, dir)
	}
	register(c)
	build := c.build
	if cfg.Standalone {
		build = c.buildStandalone
	}
	if err := build(ctx); err != nil {
		err = fmt.Errorf("%w\n%s", err, c.logTails(15))
		if cerr := c.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	cfg.Logf("cluster: %s %s on %s%s: %d primaries, %d replicas each, healthy in %v; dir %s",
		server, version, cfg.Host, c.features(), cfg.Primaries, cfg.ReplicasPerPrimary, time.Since(began).Round(time.Millisecond), dir)
	return c, nil
}

// features describes the options of the cluster for its log line.
func (c *Cluster) features() string {
	var out string
	if c.cfg.Standalone {
		out += ", standalone"
	}
	if c.acc.tls != nil {
		out += ", TLS"
	}
	if c.acc.users != nil {
		out += ", ACL users"
	}
	return out
}

// startProcesses prepares the TLS files and ACL users the configuration
// asks for, then starts every node's process and waits until each answers.
func (c *Cluster) startProcesses(ctx context.Context) error {
	if c.cfg.TLS {
		files, err := makeTLS(c.dir)
		if err != nil {
			return err
		}
		c.acc.tls = files
	}
	if len(c.cfg.Users) > 0 {
		c.acc.users = c.cfg.Users
		c.acc.adminPass = rand.Text()
	}
	total := c.cfg.Primaries * (1 + c.cfg.ReplicasPerPrimary)
	ports, err := freePorts(c.cfg.Host, 2*total)
	if err != nil {
		return err
	}
	c.mu.Lock()
	for i := range total {
		n, err := newNode(c.dir, ports[2*i], ports[2*i+1], c.cfg, c.acc)
		if err == nil {
			err = n.start(c.server)
		}
		if n != nil {
			c.nodes = append(c.nodes, n)
			c.byAddr[n.addr] = n
		}
		if err != nil {
			c.mu.Unlock()
			return err
		}
	}
	c.mu.Unlock()
	for _, n := range c.nodes {
		if err := n.waitReady(ctx, n.done); err != nil {
			return err
		}
	}
	return nil
}

// build starts the processes and forms the cluster the way redis-cli
// --cluster create does: distinct config epochs, slots on the primaries,
// MEET, then REPLICATE once every node knows every other.
func (c *Cluster) build(ctx context.Context) error {
	ctx, cancel := c.waitCtx(ctx)
	defer cancel()
	if err := c.startProcesses(ctx); err != nil {
		return err
	}
	for _, n := range c.nodes {
		id, err := n.client.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return fmt.Errorf("cluster: CLUSTER MYID on %s: %w", n.addr, err)
		}
		n.id = id
		c.byID[id] = n
	}
	for i, n := range c.nodes {
		if err := n.client.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return fmt.Errorf("cluster: CLUSTER SET-CONFIG-EPOCH on %s: %w", n.addr, err)
		}
	}
	for i, n := range c.nodes[:c.cfg.Primaries] {
		lo, hi := i*slotCount/c.cfg.Primaries, (i+1)*slotCount/c.cfg.Primaries-1
		if err := n.client.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			return fmt.Errorf("cluster: CLUSTER ADDSLOTSRANGE %d %d on %s: %w", lo, hi, n.addr, err)
		}
	}
	first := c.nodes[0]
	for _, n := range c.nodes[1:] {
		if err := first.client.Do(ctx, "CLUSTER", "MEET", c.cfg.Host, n.port, n.busPort).Err(); err != nil {
			return fmt.Errorf("cluster: CLUSTER MEET %s from %s: %w", n.addr, first.addr, err)
		}
	}
	if err := c.waitAllKnown(ctx); err != nil {
		return err
	}
	for i, n := range c.nodes[c.cfg.Primaries:] {
		primary := c.nodes[i/c.cfg.ReplicasPerPrimary]
		if err := n.client.ClusterReplicate(ctx, primary.id).Err(); err != nil {
			return fmt.Errorf("cluster: CLUSTER REPLICATE %s on %s: %w", primary.addr, n.addr, err)
		}
	}
	return c.waitHealthy(ctx)
}

// waitAllKnown waits until every node lists every other as a member (its
// handshake done), which CLUSTER REPLICATE needs.
func (c *Cluster) waitAllKnown(ctx context.Context) error {
	return poll(ctx, "every node to know every other", func(ctx context.Context) (string, error) {
		for _, n := range c.nodes {
			topo, err := n.topology(ctx)
			if err != nil {
				return err.Error(), nil
			}
			for _, m := range c.nodes {
				line := topo.byID[m.id]
				if line == nil || line.handshake || line.addr == "" {
					return fmt.Sprintf("%s does not know %s yet", n.addr, m.addr), nil
				}
			}
		}
		return "", nil
	})
}

// waitCtx bounds ctx by the configured WaitTimeout.
func (c *Cluster) waitCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, c.cfg.WaitTimeout,
		fmt.Errorf("cluster: gave up after Config.WaitTimeout (%v)", c.cfg.WaitTimeout))
}

// Close kills every server process, waits for them to exit and removes the
// cluster's directory. It is safe to call more than once.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.closeErr
	}
	c.closed = true
	var errs []error
	for _, n := range c.nodes {
		errs = append(errs, n.kill())
		n.client.Close()
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("cluster: %w", err))
	}
	if c.watchdog != nil {
		c.watchdog.stop()
	}
	unregister(c)
	c.closeErr = errors.Join(errs...)
	return c.closeErr
}

// Addrs returns the address of every node, running or not, in start order.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr
	}
	return out
}

// Primaries returns the addresses of the primaries that are up, as of the
// last operation that waited for the cluster or Refresh, in start order.
func (c *Cluster) Primaries() []string {
	return c.members(func(l *nodeLine) bool { return l.primary })
}

// Replicas returns the addresses of the replicas of primary that are up,
// as of the last operation that waited for the cluster or Refresh.
func (c *Cluster) Replicas(primary string) []string {
	p := c.byAddr[primary]
	if p == nil {
		return nil
	}
	return c.members(func(l *nodeLine) bool { return !l.primary && l.primaryID == p.id })
}

func (c *Cluster) members(keep func(*nodeLine) bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.nodes {
		if n.state == stateKilled || c.view == nil {
			continue
		}
		if l := c.view.byID[n.id]; l != nil && !l.failed && keep(l) {
			out = append(out, n.addr)
		}
	}
	return out
}

// NodeID returns the cluster node id of the node at addr ("" if unknown).
// It does not change when the node restarts.
func (c *Cluster) NodeID(addr string) string {
	if n := c.byAddr[addr]; n != nil {
		return n.id
	}
	return ""
}

// Owner returns the address of the primary that owns slot, as of the last
// operation that waited for the cluster or Refresh ("" when unassigned or
// out of range).
func (c *Cluster) Owner(slot int) string {
	if slot < 0 || slot >= slotCount {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.view == nil {
		return ""
	}
	if n := c.byID[c.view.owner[slot]]; n != nil {
		return n.addr
	}
	return ""
}

// SlotsOf returns the slots owned by the primary at addr, ascending, as of
// the last operation that waited for the cluster or Refresh.
func (c *Cluster) SlotsOf(addr string) []int {
	n := c.byAddr[addr]
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == nil || c.view == nil {
		return nil
	}
	var out []int
	for s, id := range c.view.owner {
		if id == n.id {
			out = append(out, s)
		}
	}
	return out
}

// Refresh re-reads the topology (CLUSTER NODES) from a running primary
// (from any running node if no primary answers), without waiting for the
// nodes to agree. A primary is asked first because the harness tells every
// primary about a migrated slot, while replicas learn it by gossip.
func (c *Cluster) Refresh(ctx context.Context) error {
	var errs []error
	var view *topology
	for _, n := range c.runningNodes() {
		topo, err := n.topology(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		self := topo.self()
		primary := self != nil && self.primary
		if view == nil || primary {
			view = topo
		}
		if primary {
			break
		}
	}
	if view == nil {
		return fmt.Errorf("cluster: no node answered CLUSTER NODES: %w", errors.Join(errs...))
	}
	c.mu.Lock()
	c.view = view
	c.mu.Unlock()
	return nil
}

// Dir is the cluster's temporary directory: one node-PORT directory per
// node, each with server.conf, nodes.conf and server.log.
func (c *Cluster) Dir() string { return c.dir }

// Host is the loopback address the nodes bind to and announce.
func (c *Cluster) Host() string { return c.cfg.Host }

// Admin returns the ACL user and password the harness authenticates as on
// a cluster started with Config.Users ("", "" without access control).
func (c *Cluster) Admin() (username, password string) {
	if c.acc.users == nil {
		return "", ""
	}
	return adminUser, c.acc.adminPass
}

// Server is the path of the server binary.
func (c *Cluster) Server() string { return c.server }

// Version is the server's "major.minor" version.
func (c *Cluster) Version() string { return c.version }

// LogTail returns the last lines of the log of the node at addr.
func (c *Cluster) LogTail(addr string, lines int) string {
	if n := c.byAddr[addr]; n != nil {
		return n.tail(lines)
	}
	return ""
}

// DumpLogs writes the last lines of every node's log to w, for a failed test.
func (c *Cluster) DumpLogs(w io.Writer, lines int) {
	fmt.Fprint(w, c.logTails(lines))
}

func (c *Cluster) logTails(lines int) string {
	var out string
	for _, n := range c.nodes {
		out += fmt.Sprintf("---- %s (%s) last %d log lines:\n%s\n", n.addr, n.id, lines, n.tail(lines))
	}
	return out
}

// runningNodes returns the nodes whose process runs and is not stopped.
func (c *Cluster) runningNodes() []*node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*node
	for _, n := range c.nodes {
		if n.state == stateRunning {
			out = append(out, n)
		}
	}
	return out
}

// node returns the node at addr or an error naming it.
func (c *Cluster) node(addr string) (*node, error) {
	n := c.byAddr[addr]
	if n == nil {
		return nil, fmt.Errorf("cluster: no node at %q (nodes: %v)", addr, c.Addrs())
	}
	return n, nil
}

// startNode starts n's process again (after Kill, or to heal) and returns
// the channel closed when that process exits.
func (c *Cluster) startNode(n *node) (<-chan struct{}, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("cluster: start %s: cluster is closed", n.addr)
	}
	err := n.kill()
	if err == nil {
		err = n.start(c.server)
	}
	return n.done, err
}
