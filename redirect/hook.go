package redirect

import (
	"context"
	"fmt"
	"net"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
	"github.com/clusterhop/clusterhop/slotmap"
)

// Hook is a go-redis hook that makes a plain *redis.Client pointed at any
// node of a cluster follow the cluster: it classifies errors, follows MOVED
// and ASK (in pipelines and transactions too), retries what the policy says
// may be retried, and once it knows the topology, sends each command
// straight to the node that serves its slot.
//
// Attach is the safe way to add it. One Hook serves one client (and the Tx
// and Conn values that client makes).
type Hook struct {
	e     *engine
	conns connStates // what each chain's connection has open (WATCH, MULTI)
}

var _ redis.Hook = (*Hook)(nil)

// NewHook returns a Hook. Prefer Attach, which also checks the client.
// Options.Seeds may be empty: the hook then learns the node from the first
// connection its client dials.
func NewHook(opts Options) (*Hook, error) {
	e, err := newEngine(opts, false)
	if err != nil {
		return nil, err
	}
	return &Hook{e: e}, nil
}

// Attach adds a new Hook to c, after checking that c does not retry on its
// own. With Options.Template nil, the hook's per-node clients take c's
// options (auth, TLS, protocol, timeouts, OnConnect; not its Dialer).
// The check: go-redis re-sends a command whose reply timed out up to
// MaxRetries times before a hook sees the failure, which can run a write
// several times.
// Set MaxRetries: -1 in c's options; the hook does the retrying, never
// re-running a command that may have run (unless the policy allows it).
func Attach(c *redis.Client, opts Options) (*Hook, error) {
	o := c.Options()
	// go-redis stores MaxRetries -1 as 0 and the default 0 as 3.
	if o.MaxRetries > 0 {
		return nil, fmt.Errorf("redirect: the client's Options.MaxRetries is %d: go-redis would re-send commands whose reply was lost, "+
			"running them twice; set MaxRetries: -1 and let the hook retry", o.MaxRetries)
	}
	if len(opts.Seeds) == 0 {
		opts.Seeds = []string{o.Addr}
	}
	if opts.Template == nil {
		// The hook's own node clients talk to the same cluster as c: same
		// credentials, TLS, protocol, timeouts and OnConnect. Not c's
		// Dialer, which go-redis built for c's address and TLS name.
		tmpl := *o
		tmpl.Dialer = nil
		opts.Template = &tmpl
	}
	h, err := NewHook(opts)
	if err != nil {
		return nil, err
	}
	addr := canonical(o.Addr)
	h.e.hooked.Store(&addr)
	c.AddHook(h)
	return h, nil
}

// Topology returns the topology the hook knows, or nil before it learned
// one (from a first MOVED, or Refresh).
func (h *Hook) Topology() *slotmap.Topology { return h.e.slots.Load() }

// Refresh loads the topology now, from the seeds and the node the hooked
// client talks to (still single-flight with any refresh under way).
func (h *Hook) Refresh(ctx context.Context) error {
	return h.e.slots.Refresh(ctx, slotmap.ReasonManual)
}

// Close closes the hook's per-node clients and stops its topology
// refresher. The client the hook is attached to is the caller's to close.
func (h *Hook) Close() error { return h.e.close() }

// DialHook learns the address of the node the hooked client talks to.
func (h *Hook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h.e.hooked.Load() == nil {
			a := canonical(addr)
			h.e.hooked.CompareAndSwap(nil, &a)
		}
		return next(ctx, network, addr)
	}
}

// ProcessHook runs one command through the redirect engine. go-redis
// builds a hook chain for the client and one for each Tx and Conn it
// makes, each with its own connection; the state of that connection
// (an open WATCH or MULTI) is kept with the chain.
func (h *Hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	cs := h.conns.begin()
	return func(ctx context.Context, cmd redis.Cmder) error {
		// One pass over the command table gives both facts the hook needs.
		slot, flags, err := h.e.table.Route(cmd.Args())
		if flags&command.FlagConnection != 0 || cs.inMulti() {
			return h.processConnState(ctx, cmd, next, cs)
		}
		return h.e.process(ctx, cmd, h.e.prerouteSlot(slot, err), routedVia(next, flags, err))
	}
}

// processConnState runs a command that belongs to its connection (WATCH,
// MULTI, SELECT, a command queued inside MULTI, ...): it must run on the
// connection the caller chose, so it is neither redirected nor retried,
// only classified, and the connection's state follows it.
func (h *Hook) processConnState(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook, cs *connStateOf) error {
	err := next(ctx, cmd)
	cs.after(cmd.Name(), err)
	if err == nil || isGoRedisAnswer(err) {
		return err
	}
	return classify.Classify(err)
}

// ProcessPipelineHook runs pipelines and transactions through the engine.
func (h *Hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	cs := h.conns.join()
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) == 0 {
			return next(ctx, cmds)
		}
		if h.e.hasConnState(cmds) || cs.inMulti() {
			// Connection set-up (go-redis pipelines HELLO, AUTH, CLIENT
			// SETINFO on a new connection) and stateful pipelines run as
			// sent, on the caller's connection.
			err := next(ctx, cmds)
			for _, c := range cmds {
				cs.after(c.Name(), c.Err())
			}
			return err
		}
		if isTx(cmds) {
			// A transaction runs where its client sent it, on a connection
			// that may hold a WATCH: it is not routed ahead, and re-sent
			// only when its connection is known to hold none. EXEC ends the
			// WATCH whatever happens.
			pinned := cs.watching()
			err := h.e.processTx(ctx, cmds, target{}, via{pipeline: next}, pinned)
			cs.after("exec", err)
			return err
		}
		return h.e.processPipeline(ctx, cmds, h.e.group(cmds), via{pipeline: next})
	}
}

// hasConnState reports a pipeline holding a command that changes the state
// of its connection, MULTI and EXEC of a transaction aside.
func (e *engine) hasConnState(cmds []redis.Cmder) bool {
	for i, c := range cmds {
		if e.connState(c) && !(isTx(cmds) && (i == 0 || i == len(cmds)-1)) {
			return true
		}
	}
	return false
}

// connState reports commands that belong to their connection (WATCH,
// MULTI, SELECT, HELLO, SUBSCRIBE, WAIT, ...), by the command table's
// connection flag: they only make sense on the connection the caller
// chose.
func (e *engine) connState(cmd redis.Cmder) bool {
	f, _ := e.table.Flags(cmd.Args())
	return f&command.FlagConnection != 0
}
