package redirect

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
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
	table   *slotmap.Table // command keys: the static table, and what servers taught it
	nodes   *nodeSet
	obs     *Observer // nil when Options.Observer is empty

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
	e := &engine{
		opts:    opts,
		policy:  opts.Policy,
		budget:  retry.NewBudget(opts.Policy.Budget),
		breaker: retry.NewBreaker(opts.Policy.Breaker),
		nodes:   newNodeSet(opts.Template, opts.AddrMap, readOnly),
		table:   slotmap.NewTable(),
		now:     time.Now,
		rand:    rand.Float64,
		sleep:   sleepCtx,
	}
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

// send makes one attempt of cmd at t.
func (e *engine) send(ctx context.Context, t target, cmd redis.Cmder, next redis.ProcessHook) error {
	if t.addr == "" {
		return next(ctx, cmd)
	}
	if err := e.allow(t.addr); err != nil {
		cmd.SetErr(err)
		return err
	}
	n, err := e.nodes.get(t.addr)
	if err != nil {
		cmd.SetErr(err)
		return err
	}
	if !t.asking {
		return n.client.Process(ctx, cmd)
	}
	// ASKING and the command in one round trip, on one connection: the
	// ASKING flag lasts for the next command only.
	pipe := n.client.Pipeline()
	asking := redis.NewStatusCmd(ctx, "asking")
	_ = pipe.Process(ctx, asking)
	_ = pipe.Process(ctx, cmd)
	_, _ = pipe.Exec(ctx)
	if err := asking.Err(); err != nil {
		cmd.SetErr(err)
		return err
	}
	return cmd.Err()
}

// allow asks the breaker whether addr may be sent a command now, reading
// the clock only when some node has failures on record.
func (e *engine) allow(addr string) error {
	if !e.breaker.Watching() {
		return nil
	}
	return e.breaker.Allow(addr, e.now())
}

// process runs cmd from its first target until it succeeds or the policy
// gives up, and returns the error the caller must see (typed), or nil.
func (e *engine) process(ctx context.Context, cmd redis.Cmder, t target, next redis.ProcessHook) error {
	err := e.send(ctx, t, cmd, next)
	if err == nil {
		e.succeeded(t)
		return nil
	}
	if err == redis.Nil { //nolint:errorlint // go-redis returns redis.Nil itself, never wrapped
		return err
	}
	return e.recover(ctx, cmd, t, err, next)
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

// recover is the slow path of process: the first attempt failed.
func (e *engine) recover(ctx context.Context, cmd redis.Cmder, t target, err error, next redis.ProcessHook) error {
	st := e.newState(ctx, cmd, t)
	ran := false // an attempt failed in doubt: the command may have run
	for {
		err = classify.Classify(err)
		if errors.Is(err, redis.Nil) {
			return err
		}
		ran = ran || classify.InDoubt(err)
		e.failed(t, err)
		d := e.policy.Next(&st, err, e.now(), e.rand)
		if d.Reconnect {
			e.nodes.reconnect(st.Addr)
		}
		switch d.Action {
		case retry.ActionRedirect:
			nt, rerr := e.redirectTarget(ctx, cmd.Name(), st.Addr, d, err)
			if rerr != nil {
				return e.giveUp(cmd, st.Addr, rerr)
			}
			t = nt
		case retry.ActionRetry:
			if e.obs != nil && e.obs.Retry != nil {
				e.obs.Retry(RetryEvent{Kind: classify.KindOf(err), Command: cmd.Name(), Addr: st.Addr,
					Attempt: st.Retries, Delay: d.Delay, Refresh: d.Refresh})
			}
			prev := t
			if werr := e.wait(ctx, d, err, ran, func() bool { return e.reroute(cmd, prev) != prev }); werr != nil {
				return e.giveUp(cmd, st.Addr, werr)
			}
			t = e.reroute(cmd, t)
		default:
			return e.giveUp(cmd, st.Addr, d.Err)
		}
		st.Addr = e.addrOf(t)
		if err = e.send(ctx, t, cmd, next); err == nil {
			e.succeeded(t)
			return nil
		}
	}
}

// newState starts the retry state of a command whose first attempt at t failed.
func (e *engine) newState(ctx context.Context, cmd redis.Cmder, t target) retry.State {
	st := retry.State{Start: e.now(), Addr: e.addrOf(t), Args: cmd.Args(), Budget: e.budget}
	if dl, ok := ctx.Deadline(); ok {
		st.Deadline = dl
	}
	return st
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

func (e *engine) giveUp(cmd redis.Cmder, addr string, err error) error {
	if e.obs != nil && e.obs.GiveUp != nil && !isAnswer(err) {
		e.obs.GiveUp(GiveUpEvent{Kind: classify.KindOf(err), Command: cmd.Name(), Addr: addr, Err: err})
	}
	cmd.SetErr(err)
	return err
}

// redirectTarget turns a redirect decision into the next target: it fills
// an empty host, checks the address may be dialled, and patches the slot
// map on MOVED. (An unknown endpoint, "?", is no redirect: the policy
// retries it after a refresh.)
func (e *engine) redirectTarget(ctx context.Context, name, from string, d retry.Decision, err error) (target, error) {
	addr := d.Addr
	var moved *classify.MovedError
	isMoved := errors.As(err, &moved)
	if addr[0] == ':' {
		// "MOVED 3999 :6380": the host of the node that replied.
		host, _, serr := net.SplitHostPort(from)
		if serr != nil {
			return target{}, fmt.Errorf("%w: empty host, and the replying node %q has no host: %w", err, from, serr)
		}
		addr = net.JoinHostPort(host, addr[1:])
	}
	if !e.allowed(ctx, addr) {
		return target{}, fmt.Errorf("%w: %q: %w", ErrAddrNotAllowed, addr, err)
	}
	if isMoved {
		e.slots.Patch(moved.Slot, addr)
		e.slots.RequestRefresh(slotmap.ReasonMoved)
		if e.onChange != nil {
			e.onChange()
		}
	}
	if e.obs != nil && e.obs.Redirect != nil {
		e.obs.Redirect(RedirectEvent{Kind: classify.KindOf(err), Command: name, Slot: redirectSlot(err), From: from, To: addr})
	}
	if d.Asking {
		return target{addr: addr, asking: true}, nil
	}
	return e.targetOf(addr), nil
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

// ownerOf returns the primary address of slot in the current topology.
func (e *engine) ownerOf(slot int) (string, error) {
	t := e.slots.Load()
	if t == nil {
		return "", &classify.ClientError{Kind: classify.KindSlotNotCovered,
			Err: fmt.Errorf("clusterhop: slot %d: no topology loaded", slot)}
	}
	return t.PrimaryAddr(slot)
}

// ownerOfCmd returns the primary serving cmd's slot, when the command has
// keys of one slot and the topology knows the slot's owner.
func (e *engine) ownerOfCmd(cmd redis.Cmder) (string, bool) {
	slot, _, err := e.table.Route(cmd.Args())
	if err != nil || slot < 0 {
		return "", false
	}
	owner, err := e.ownerOf(slot)
	return owner, err == nil
}

// targetOf returns the target of a node: through next when it is the node
// a Hook's client talks to.
func (e *engine) targetOf(addr string) target {
	if addr == e.hookedAddr() {
		return target{}
	}
	return target{addr: addr}
}

// reroute picks the target of a retry: the slot's owner by the (possibly
// refreshed) topology, or the previous node when the topology cannot say.
func (e *engine) reroute(cmd redis.Cmder, prev target) target {
	if owner, ok := e.ownerOfCmd(cmd); ok {
		return e.targetOf(owner)
	}
	return target{addr: prev.addr}
}

// redirectSlot returns the slot a MOVED or ASK names, or -1.
func redirectSlot(err error) int {
	var m *classify.MovedError
	if errors.As(err, &m) {
		return m.Slot
	}
	var a *classify.AskError
	if errors.As(err, &a) {
		return a.Slot
	}
	return -1
}

// refreshReason names why a retry asks for a topology refresh.
func refreshReason(err error) slotmap.Reason {
	switch classify.KindOf(err) {
	case classify.KindConnection, classify.KindTimeout, classify.KindBreakerOpen:
		return slotmap.ReasonConnError
	case classify.KindSlotNotCovered, classify.KindClusterDown:
		return slotmap.ReasonUncovered
	case classify.KindAsk:
		return slotmap.ReasonAsk
	}
	return slotmap.ReasonMoved
}

// wait carries out a retry decision's pause: a topology refresh first when
// the decision says the topology may have changed (a dead primary, an
// uncovered slot, a node turned replica), so that the retry goes where the
// slot is now rather than spending the retry budget on a node that is gone;
// then the delay. The refresh is shared with every command that asked for
// one and rate limited, so a failover costs the cluster one fetch per
// interval however many commands fail. It returns the error to give up
// with if ctx ends first.
//
// The context's error is marked not sent (nothing was in flight while
// waiting) unless mayHaveRun says an earlier attempt may have run.
//
// When the refresh shows the command's slot served elsewhere (moved says so),
// the delay is skipped: the failover or resharding that caused the failure
// is over for this slot, and waiting longer only delays the command.
func (e *engine) wait(ctx context.Context, d retry.Decision, last error, mayHaveRun bool, moved func() bool) error {
	if d.Refresh {
		_ = e.slots.Refresh(ctx, refreshReason(last))
		if moved != nil && moved() {
			return nil
		}
	}
	if err := e.sleep(ctx, d.Delay); err != nil {
		cerr := classify.Classify(err)
		if !mayHaveRun {
			cerr = classify.NotSent(err)
		}
		return fmt.Errorf("%w (while waiting to retry after: %w)", cerr, last)
	}
	return nil
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
	err := e.slots.Close()
	if cerr := e.nodes.close(); err == nil {
		err = cerr
	}
	return err
}
