package redirect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

// engine is the redirect loop that Hook and Client share: it sends a command
// to a node, classifies what went wrong, asks the policy what to do, and does
// it — redirect, wait and retry, refresh — until the command succeeds or the
// policy gives up.
type engine struct {
	opts    Options
	policy  retry.Policy
	budget  *retry.Budget
	breaker *retry.Breaker
	slots   *slotmap.Map
	table   *command.Table // command keys: the static table, and what servers taught it
	nodes   *nodeSet
	obs     *Observer // nil when Options.Observer is empty

	failover FailoverOptions // Options.Failover with defaults
	sus      suspects        // primaries whose commands are held

	// batch bounds the Client's batches (batch.go); nil: every command
	// goes alone (a Hook, or Options.Batch.Disabled). Set before first use.
	batch *batchLimits

	// onChange, when set, hears that the slot map changed (a refresh that
	// routes differently, a MOVED patch); set before first use.
	onChange func()

	// hooked is the address of the client a Hook is attached to: commands
	// sent through next go there. Empty for a Client.
	hooked atomic.Pointer[string]

	// Injected for tests; real time and randomness otherwise.
	now   func() time.Time
	rand  func() float64
	sleep func(ctx context.Context, d time.Duration) error
}

// target says where one attempt goes: a node of the cluster, or (addr "")
// the client a Hook is attached to, through next.
type target struct {
	addr   string
	asking bool // ASK: send ASKING first, in the same round trip
}

func newEngine(opts Options, readOnly bool) (*engine, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	// Every address the engine compares is in one form: the one net.Dial
	// accepts, as classify.CanonicalAddr writes it.
	seeds := make([]string, len(opts.Seeds))
	for i, s := range opts.Seeds {
		seeds[i] = canonical(s)
	}
	opts.Seeds = seeds
	e := &engine{
		opts:    opts,
		policy:  opts.Policy,
		budget:  retry.NewBudget(opts.Policy.Budget),
		breaker: retry.NewBreaker(opts.Policy.Breaker),
		nodes:   newNodeSet(opts.Template, opts.AddrMap, readOnly, opts.OnNewNode),
		table:   command.NewTable(),
		now:     time.Now,
		rand:    rand.Float64,
		sleep:   sleepCtx,

		failover: opts.Failover.withDefaults(),
	}
	e.sus.init()
	if o := opts.Observer; o.Redirect != nil || o.Retry != nil || o.Refresh != nil || o.GiveUp != nil || o.Breaker != nil {
		e.obs = &o
	}
	useTLS := opts.Template != nil && opts.Template.TLSConfig != nil
	m, err := slotmap.NewMap(slotmap.Config{
		Seeds: opts.Seeds,
		Fetch: func(ctx context.Context, addr string) (*slotmap.Topology, error) {
			n, err := e.nodes.get(addr)
			if err != nil {
				return nil, err
			}
			return slotmap.Fetch(ctx, n.client, addr, useTLS)
		},
		MinInterval: opts.RefreshInterval,
		Jitter:      opts.RefreshInterval / 2,
		Periodic:    opts.PeriodicRefresh,
		Observer:    e.onRefresh,
	})
	if err != nil {
		return nil, fmt.Errorf("redirect: %w", err)
	}
	e.slots = m
	e.nodes.known = e.knows
	return e, nil
}

// onRefresh retires the clients of nodes that left the topology and passes
// the event on.
func (e *engine) onRefresh(ev slotmap.RefreshEvent) {
	if ev.Changed {
		if t := e.slots.Load(); t != nil {
			addrs := t.Addrs()
			if h := e.hookedAddr(); h != "" {
				addrs = append(addrs, h)
			}
			e.nodes.retain(addrs)
		}
		if e.onChange != nil {
			e.onChange()
		}
	}
	if e.obs != nil && e.obs.Refresh != nil {
		e.obs.Refresh(ev)
	}
}

func (e *engine) hookedAddr() string {
	if p := e.hooked.Load(); p != nil {
		return *p
	}
	return ""
}

// addrOf returns the node address an attempt at t goes to.
func (e *engine) addrOf(t target) string {
	if t.addr == "" {
		return e.hookedAddr()
	}
	return t.addr
}

// allow asks the breaker whether addr may be sent a command now, reading
// the clock only when some node has failures on record.
func (e *engine) allow(addr string) error {
	if !e.breaker.Watching() {
		return nil
	}
	return e.breaker.Allow(addr, e.now())
}

// process delivers one command from its first target t: the first
// attempt costs no retry bookkeeping; a failure goes to the attempt step.
func (e *engine) process(ctx context.Context, cmd redis.Cmder, t target, v via) error {
	err := e.sendOne(ctx, t, cmd, v)
	if err == nil || isGoRedisAnswer(err) {
		e.succeeded(t)
		return err
	}
	j := job{name: cmd.Name(), args: cmd.Args(), at: t}
	send := func(t target) error { return e.sendOne(ctx, t, cmd, v) }
	reroute := func(prev target) target { return e.reroute(cmd, prev) }
	d := e.decide(ctx, &j, err)
	if err = e.resume(ctx, &j, d, err, send, reroute); err != nil {
		cmd.SetErr(err)
	}
	return err
}

// load fetches the first topology, through the attempt step like any
// command: a seed that refuses the connection or times out is retried
// within the policy's budgets and the caller's deadline, and a failure is
// typed (errors.Is(err, classify.ErrConnection), ...), wrapped in a
// *retry.GiveUpError when the policy gave up.
func (e *engine) load(ctx context.Context) error {
	if e.slots.Load() != nil {
		return nil
	}
	j := job{name: "cluster shards", fetch: true, at: target{addr: e.opts.Seeds[0]}}
	send := func(target) error {
		if err := e.slots.Refresh(ctx, slotmap.ReasonInitial); err != nil {
			return fmt.Errorf("redirect: loading the cluster topology: %w", err)
		}
		return nil
	}
	return e.run(ctx, &j, send, func(t target) target { return t })
}

// succeeded refunds the retry budget and closes the node's breaker.
func (e *engine) succeeded(t target) {
	e.budget.Success()
	if t.addr == "" || !e.breaker.Watching() {
		return
	}
	if e.obs == nil || e.obs.Breaker == nil {
		e.breaker.Success(t.addr)
		return
	}
	before := e.breaker.State(t.addr, e.now())
	e.breaker.Success(t.addr)
	if before != retry.BreakerClosed {
		e.obs.Breaker(BreakerEvent{Addr: t.addr, Open: false})
	}
}

// failed feeds a failure to the node's breaker, which counts only the
// connection-level ones: a node that replies is up.
func (e *engine) failed(t target, err error) {
	if t.addr == "" {
		return
	}
	now := e.now()
	if e.obs == nil || e.obs.Breaker == nil {
		e.breaker.Record(t.addr, err, now)
		return
	}
	before := e.breaker.State(t.addr, now)
	e.breaker.Record(t.addr, err, now)
	if after := e.breaker.State(t.addr, now); after != before && after == retry.BreakerOpen {
		e.obs.Breaker(BreakerEvent{Addr: t.addr, Open: true})
	}
}

// allowed applies Options.AllowAddr, or the default rule: known to the
// topology, or confirmed by a fresh refresh.
func (e *engine) allowed(ctx context.Context, addr string) bool {
	if e.opts.AllowAddr != nil {
		return e.opts.AllowAddr(addr)
	}
	if e.knows(addr) {
		return true
	}
	_ = e.slots.Refresh(ctx, slotmap.ReasonUnknownNode)
	return e.knows(addr)
}

func (e *engine) knows(addr string) bool {
	if addr == e.hookedAddr() {
		return true
	}
	for _, s := range e.opts.Seeds {
		if s == addr {
			return true
		}
	}
	t := e.slots.Load()
	return t != nil && t.Has(addr)
}

// canonical returns addr in the form the project compares
// (classify.CanonicalAddr), or addr itself when it is not host:port.
func canonical(addr string) string {
	if c, ok := classify.CanonicalAddr(addr); ok {
		return c
	}
	return addr
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// close stops the refresher and closes every node client.
func (e *engine) close() error {
	e.sus.stop()
	err := e.slots.Close()
	if cerr := e.nodes.close(); err == nil {
		err = cerr
	}
	return err
}
