package redirect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
	"github.com/clusterhop/clusterhop/slotmap"
)

// Client is a cluster client with the whole go-redis command API: each
// command goes straight to the node serving its slot, and redirections,
// refusals to try later and connection failures are handled by the same
// engine as the Hook's. It implements redis.UniversalClient, so code written
// for go-redis's ClusterClient takes it unchanged.
//
// The topology is loaded on first use (or by Refresh), so NewClient does no
// network I/O.
type Client struct {
	// *redis.Client is the front: a go-redis client that never dials, whose
	// innermost hook routes every command. Embedding it gives the Client
	// every method of the go-redis release it is built with, new ones
	// included; the methods that must know the cluster (Process, Do,
	// Watch, the subscriptions, AddHook, PoolStats, Close) are the
	// Client's own.
	*redis.Client

	e       *engine
	latency latencies // RouteByLatency's measurements
	shards  shardSubs // sharded subscriptions that follow their slot

	mu    sync.Mutex   // protects the front and hooks (AddHook rebuilds the front)
	hooks []redis.Hook // the caller's hooks, outermost first
}

var _ redis.UniversalClient = (*Client)(nil)

// errFrontDial is what a connection of the front client fails with: the
// front routes every command in its hook and has nothing to dial, so only
// a go-redis method that needs a connection of its own meets it.
var errFrontDial = errors.New("redirect: this go-redis method needs a connection of its own, which a cluster client does not have; use a node's client")

// NewClient returns a Client for the cluster that Options.Seeds belong to.
func NewClient(opts Options) (*Client, error) {
	if len(opts.Seeds) == 0 {
		return nil, errors.New("redirect: Options.Seeds is empty: a Client needs at least one node address")
	}
	e, err := newEngine(opts, opts.ReadFromReplicas || opts.RouteByLatency)
	if err != nil {
		return nil, err
	}
	e.batch = newBatchLimits(opts.Batch)
	c := &Client{e: e}
	c.Client = c.newFront()
	e.onChange = c.shards.check
	return c, nil
}

// newFront builds the go-redis client whose hooks are the caller's, then the
// router.
func (c *Client) newFront() *redis.Client {
	o := &redis.Options{
		Addr:       "cluster",
		MaxRetries: -1,
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			return nil, errFrontDial
		},
	}
	frontOptions(o)
	f := redis.NewClient(o)
	for _, h := range c.hooks {
		f.AddHook(h)
	}
	f.AddHook(router{c: c})
	return f
}

// AddHook adds a go-redis hook that sees every command and pipeline as the
// caller sent it, before it is routed: once per call, whatever redirections
// and retries happen below it, with the final result. It sees no dial and
// no per-node traffic: for those (redisotel's per-node tracing and metrics,
// connection logs) use Options.OnNewNode, which hands over each node's
// client. Call the Client's AddHook, not the embedded front client's
// (cl.Client.AddHook), whose hooks would sit below the router and see
// nothing. Add hooks before using the client: like go-redis's own AddHook,
// it is not safe to call while commands run.
func (c *Client) AddHook(h redis.Hook) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hooks = append(c.hooks, h)
	old := c.Client
	c.Client = c.newFront()
	_ = old.Close()
}

// Process runs cmd through the caller's hooks and the router.
func (c *Client) Process(ctx context.Context, cmd redis.Cmder) error {
	return c.Client.Process(ctx, cmd)
}

// Do runs a command given as arguments.
func (c *Client) Do(ctx context.Context, args ...any) *redis.Cmd {
	cmd := redis.NewCmd(ctx, args...)
	_ = c.Process(ctx, cmd)
	return cmd
}

// Topology returns the current topology, or nil before the first load.
func (c *Client) Topology() *slotmap.Topology { return c.e.slots.Load() }

// Refresh reloads the topology now (still single-flight with any refresh
// under way).
func (c *Client) Refresh(ctx context.Context) error {
	return c.e.slots.Refresh(ctx, slotmap.ReasonManual)
}

// PoolStats adds up the connection pool figures of every node's client.
func (c *Client) PoolStats() *redis.PoolStats {
	var s redis.PoolStats
	for _, n := range c.e.nodes.all() {
		p := n.client.PoolStats()
		s.Hits += p.Hits
		s.Misses += p.Misses
		s.Timeouts += p.Timeouts
		s.TotalConns += p.TotalConns
		s.IdleConns += p.IdleConns
		s.StaleConns += p.StaleConns
	}
	return &s
}

// NodeStats returns each node's connection pool figures, by address.
func (c *Client) NodeStats() map[string]*redis.PoolStats {
	out := make(map[string]*redis.PoolStats)
	for _, n := range c.e.nodes.all() {
		out[n.addr] = n.client.PoolStats()
	}
	return out
}

// Close closes every node's client and stops the topology refresher.
func (c *Client) Close() error {
	c.mu.Lock()
	f := c.Client
	c.mu.Unlock()
	_ = f.Close()
	c.latency.stop()
	c.shards.close()
	return c.e.close()
}

// router is the innermost hook of the front client: it never calls next.
type router struct{ c *Client }

func (r router) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r router) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return r.c.process(ctx, cmd)
	}
}

func (r router) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return r.c.processPipeline(ctx, cmds)
	}
}

// errNoNext is what an attempt through a hook's next gets where there is
// none: the Client's router builds only targets that name a node, so it
// means a bug, reported rather than a panic.
var errNoNext = errors.New("redirect: internal error: an attempt through a hook chain the client does not have")

// ready loads the topology if it has never been loaded, and starts the
// RouteByLatency measurements in the background.
func (c *Client) ready(ctx context.Context) error {
	if err := c.e.load(ctx); err != nil {
		return err
	}
	if c.e.opts.RouteByLatency {
		c.latency.start(c.e)
	}
	return nil
}

// process routes one command.
func (c *Client) process(ctx context.Context, cmd redis.Cmder) error {
	if err := c.ready(ctx); err != nil {
		cmd.SetErr(err)
		return err
	}
	slot, flags, err := c.e.table.Route(cmd.Args())
	if errors.Is(err, command.ErrUnknownCommand) && c.learn(ctx, cmd) {
		slot, flags, err = c.e.table.Route(cmd.Args())
	}
	switch {
	case err != nil && classify.KindOf(err) == classify.KindCrossSlot && flags&command.FlagSplittable != 0:
		return c.split(ctx, cmd)
	case err != nil && !errors.Is(err, command.ErrUnknownCommand):
		// Cross-slot or malformed: the server would refuse it too; say so
		// before any traffic.
		cmd.SetErr(err)
		return err
	case flags&command.FlagConnection != 0 && cmd.Name() == "watch":
		cmd.SetErr(errWatchOutside)
		return errWatchOutside
	case slot < 0 && flags&command.FlagAllPrimaries != 0:
		return c.broadcast(ctx, cmd, flags)
	case c.e.opts.RouteByLatency && flags&command.FlagReadOnly != 0:
		c.latency.await(ctx)
	}
	v := routedVia(nil, flags, err)
	t, err := c.route(slot, flags)
	if err != nil {
		cmd.SetErr(err)
		return err
	}
	return c.e.process(ctx, cmd, t, v)
}

// learn asks a primary, once per command name, where the keys of a command
// the static table does not know are (module commands, commands newer than
// the table), so that it is routed like any other. It reports whether the
// table may know more now.
func (c *Client) learn(ctx context.Context, cmd redis.Cmder) bool {
	name, ok := cmd.Args()[0].(string)
	if !ok {
		return false
	}
	t, err := c.route(-1, 0)
	if err != nil {
		return false
	}
	n, err := c.e.nodes.get(t.addr)
	if err != nil {
		return false
	}
	return c.e.table.Learn(ctx, n.client, name) == nil
}

// processPipeline routes a pipeline or a transaction.
func (c *Client) processPipeline(ctx context.Context, cmds []redis.Cmder) error {
	if len(cmds) == 0 {
		return nil
	}
	if err := c.ready(ctx); err != nil {
		setErr(cmds, err)
		return err
	}
	if isTx(cmds) {
		return c.processTx(ctx, cmds)
	}
	groups := make(map[target][]redis.Cmder, 4)
	var refused []redis.Cmder
	for _, cmd := range cmds {
		slot, flags, err := c.e.table.Route(cmd.Args())
		if err != nil && !errors.Is(err, command.ErrUnknownCommand) {
			cmd.SetErr(err)
			refused = append(refused, cmd)
			continue
		}
		t, err := c.route(slot, flags)
		if err != nil {
			// The slot has no owner yet: send it to any node, whose MOVED
			// or CLUSTERDOWN the engine handles like any other.
			t = target{addr: randomPrimary(c.e.slots.Load())}
		}
		groups[t] = append(groups[t], cmd)
	}
	if len(groups) == 0 {
		return refused[0].Err()
	}
	return c.e.processPipeline(ctx, cmds, groups, via{})
}

// processTx sends a transaction to the node serving its one slot.
func (c *Client) processTx(ctx context.Context, cmds []redis.Cmder) error {
	inner := cmds[1 : len(cmds)-1]
	slot := -1
	for _, cmd := range inner {
		s, err := c.e.table.SlotOf(cmd.Args())
		if err != nil && !errors.Is(err, command.ErrUnknownCommand) {
			setErr(cmds, err)
			return err
		}
		if s < 0 {
			continue
		}
		if slot >= 0 && s != slot {
			err := fmt.Errorf("%w (a transaction runs on one node: its keys must share a slot; %s is in slot %d, an earlier key in slot %d)",
				classify.Parse("CROSSSLOT Keys in request don't hash to the same slot"), cmd.Name(), s, slot)
			setErr(cmds, err)
			return err
		}
		slot = s
	}
	t, err := c.route(slot, 0)
	if err != nil {
		setErr(cmds, err)
		return err
	}
	return c.e.processTx(ctx, cmds, t, via{}, false)
}
