package redirect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

// job is one unit of work the engine delivers: a command, or a transaction
// as a whole. Every path — single command, pipeline, transaction, Watch,
// Hook — keeps one per unit and hands it to decide after each failed
// attempt; only how an attempt is sent differs between them.
type job struct {
	name string // the command's name for the Observer; "exec" for a transaction
	args []any  // the command, for the policy's in-doubt rule; nil for a transaction

	// tx holds a transaction's queued commands: it is idempotent only if
	// each of them is.
	tx []redis.Cmder

	// pinned: the transaction may run under a WATCH on its connection,
	// so it is never re-sent anywhere (its check-and-set would be lost);
	// a failure is explained and returned instead.
	pinned bool

	// fetch: each attempt is itself a topology refresh (the first load),
	// so a retry's wait need not ask for one.
	fetch bool

	at target      // where the next attempt goes
	st retry.State // the policy's counters; started at the first failure
}

// ran reports whether an attempt of j failed in doubt: it may have run.
func (j *job) ran() bool { return j.st.InDoubt }

// decide is the attempt step every path shares. After an attempt of j at
// j.at failed with err it classifies the failure, tells the breaker, asks
// the policy, and prepares what the policy decided: for a redirect the
// next target (allow-checked, the slot map patched on MOVED) is in j.at;
// for a retry the caller waits (pause), alone or with the rest of a
// pipeline round; for a give-up d.Err is the error the caller must see.
// The Observer hears each redirect, retry and give-up here, and only here.
func (e *engine) decide(ctx context.Context, j *job, err error) retry.Decision {
	err, told := counted(err) // the batcher told the breaker of its batch's failure once
	err = classify.Classify(err)
	if classify.KindOf(err) == classify.KindTimeout && deadlinePassed(ctx, e.now()) {
		// The read gave up because the caller's deadline passed (node
		// clients read with the context's deadline): say so, keeping the
		// timeout and whether the command may have run.
		err = &classify.ClientError{Kind: classify.KindDeadline, Sent: classify.InDoubt(err),
			Err: fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)}
	}
	cause := abortCause(err)
	if j.st.Start.IsZero() {
		e.startState(ctx, j)
	}
	if !told {
		e.failed(j.at, cause)
	}
	e.suspect(j.st.Addr, cause)
	if classify.KindOf(cause) == classify.KindConnection && !classify.InDoubt(cause) {
		// A refused connection: a MOVED that sent us there was stale.
		e.slots.Drop(j.st.Addr)
	}
	if j.tx != nil && classify.InDoubt(cause) {
		j.st.Idempotent = allIdempotent(j.tx)
	}
	d := e.policy.Next(&j.st, cause, e.now(), e.rand)
	if d.Reconnect {
		e.nodes.reconnect(j.st.Addr)
	}
	switch d.Action {
	case retry.ActionRedirect:
		t, rerr := e.follow(ctx, j, d, cause)
		switch {
		case rerr != nil:
			return e.giveUp(j, rerr)
		case j.pinned:
			return e.giveUp(j, e.pinnedErr(j, err))
		}
		j.at = t
	case retry.ActionRetry:
		if j.pinned {
			return e.giveUp(j, e.pinnedErr(j, err))
		}
		if e.suspected(j.st.Addr) {
			// The retry waits in hold for the suspect's fate, which the
			// watch finds faster than a refresh would.
			d.Delay, d.Refresh = 0, false
		}
		if e.obs != nil && e.obs.Retry != nil {
			e.obs.Retry(RetryEvent{Kind: d.Kind, Command: j.name, Addr: j.st.Addr,
				Attempt: j.st.Retries, Delay: d.Delay, Refresh: d.Refresh})
		}
	default:
		if d.Refresh && !isAnswer(d.Err) {
			e.slots.RequestRefresh(refreshReason(cause))
		}
		return e.giveUp(j, d.Err)
	}
	return d
}

// deadlinePassed reports whether ctx's deadline is behind: node clients
// read with the context's deadline, whose timeout may come back a moment
// before the context itself says it is done.
func deadlinePassed(ctx context.Context, now time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !now.Before(dl)
}

// startState starts the policy's state of j at its first failure.
func (e *engine) startState(ctx context.Context, j *job) {
	j.st = retry.State{Start: e.now(), Addr: e.addrOf(j.at), Args: j.args, Budget: e.budget}
	if dl, ok := ctx.Deadline(); ok {
		j.st.Deadline = dl
	}
}

// follow turns a redirect decision into the next target. Whatever path
// learned the redirection, the target must pass the allow check before it
// is dialled or written into the slot map: a MOVED from a stranger must
// not make the client send the cluster's credentials anywhere.
func (e *engine) follow(ctx context.Context, j *job, d retry.Decision, cause error) (target, error) {
	if !e.allowed(ctx, d.Addr) {
		return target{}, &retry.GiveUpError{Reason: ErrAddrNotAllowed, Err: cause, Addr: d.Addr,
			Redirects: j.st.Redirects, Retries: j.st.Retries}
	}
	if m := new(classify.MovedError); errors.As(cause, &m) {
		e.slots.Patch(m.Slot, d.Addr)
		e.slots.RequestRefresh(slotmap.ReasonMoved)
		if e.onChange != nil {
			e.onChange()
		}
	}
	if e.obs != nil && e.obs.Redirect != nil {
		e.obs.Redirect(RedirectEvent{Kind: d.Kind, Command: j.name, Slot: redirectSlot(cause), From: j.st.Addr, To: d.Addr})
	}
	if d.Asking {
		return target{addr: d.Addr, asking: true}, nil
	}
	return e.targetOf(d.Addr), nil
}

// pinnedErr is the give-up of a transaction that may run under a WATCH:
// it did not run (err is the EXECABORT, explained by the redirection or
// refusal that caused it), and the caller's own WATCH loop must run it
// again.
func (e *engine) pinnedErr(j *job, err error) error {
	return &retry.GiveUpError{Reason: ErrWatched, Err: err, Redirects: j.st.Redirects, Retries: j.st.Retries}
}

// giveUp ends j with err, telling the Observer unless err is the command's
// own answer. It returns the decision carrying err.
func (e *engine) giveUp(j *job, err error) retry.Decision {
	if e.obs != nil && e.obs.GiveUp != nil && !isAnswer(err) {
		e.obs.GiveUp(GiveUpEvent{Kind: classify.KindOf(err), Command: j.name, Addr: j.st.Addr, Err: err})
	}
	return retry.Decision{Action: retry.ActionGiveUp, Kind: classify.KindOf(err), Err: err}
}

// pause carries out a retry's wait (the longest of a pipeline round's): a
// topology refresh first when the decision says the topology may have
// changed (a dead primary, an uncovered slot, a node turned replica), so
// that the retry goes where the slot is now; then the delay. The refresh
// is shared with every command that asked for one and rate limited, so a
// failover costs the cluster one fetch per interval however many commands
// fail. When moved reports that the refresh sent the slot elsewhere, the
// delay is skipped: the change that caused the failure is over for this
// slot. It returns the context's cause if the context ends first.
func (e *engine) pause(ctx context.Context, d retry.Decision, last error, moved func() bool) error {
	if d.Refresh {
		_ = e.slots.Refresh(ctx, refreshReason(last))
		if moved != nil && moved() {
			return nil
		}
	}
	return e.sleep(ctx, d.Delay)
}

// interrupted ends j whose wait was cut by the end of its context (cause).
// Nothing was in flight while waiting, so the failure is not in doubt
// unless an earlier attempt was.
func (e *engine) interrupted(j *job, cause error) error {
	cerr := classify.NotSent(cause)
	if j.ran() {
		cerr = classify.Classify(cause)
	}
	reason := retry.ErrCanceled
	if errors.Is(cause, context.DeadlineExceeded) {
		reason = retry.ErrDeadline
	}
	g := &retry.GiveUpError{Reason: reason, Err: cerr, Last: j.st.Last, Addr: j.st.Addr,
		Redirects: j.st.Redirects, Retries: j.st.Retries}
	return e.giveUp(j, g).Err
}

// run delivers j: send makes one attempt at a target, and after each
// failure the attempt step decides; reroute says where a retry goes after
// its wait. It returns nil, the command's answer, or the give-up.
func (e *engine) run(ctx context.Context, j *job, send func(target) error, reroute func(target) target) error {
	err := send(j.at)
	if err == nil || isGoRedisAnswer(err) {
		e.succeeded(j.at)
		return err
	}
	return e.resume(ctx, j, e.decide(ctx, j, err), err, send, reroute)
}

// resume carries out d, the decision on j's failed attempt (err), and goes
// on sending and deciding until an attempt succeeds or the step gives up.
func (e *engine) resume(ctx context.Context, j *job, d retry.Decision, err error, send func(target) error, reroute func(target) target) error {
	for {
		switch d.Action {
		case retry.ActionRedirect:
		case retry.ActionRetry:
			prev := j.at
			d.Refresh = d.Refresh && !j.fetch
			if perr := e.pause(ctx, d, err, func() bool { return reroute(prev) != prev }); perr != nil {
				return e.interrupted(j, perr)
			}
			j.at = reroute(j.at)
		default:
			return d.Err
		}
		j.st.Addr = e.addrOf(j.at)
		if err = send(j.at); err == nil || isGoRedisAnswer(err) {
			e.succeeded(j.at)
			return err
		}
		d = e.decide(ctx, j, err)
	}
}

// abortCause returns what an EXECABORT explained by the engine's probe
// wraps (the redirection or refusal that aborted the transaction, which the
// policy decides on), or err itself.
func abortCause(err error) error {
	if classify.KindOf(err) != classify.KindExecAbort {
		return err
	}
	var a *abortError
	if errors.As(err, &a) {
		return a.cause
	}
	return err
}

// isAnswer reports whether err is the command's own answer rather than a
// failure to deliver it: redis.Nil and reply errors that are not about the
// cluster (WRONGTYPE, NOSCRIPT, ERR ...).
func isAnswer(err error) bool {
	if errors.Is(err, redis.Nil) {
		return true
	}
	k := classify.KindOf(err)
	if !k.IsReply() || errors.Is(err, classify.ErrRedirect) || errors.Is(err, classify.ErrTryLater) {
		return false
	}
	var g *retry.GiveUpError
	return !errors.As(err, &g)
}

// isGoRedisAnswer reports the go-redis sentinels that callers compare with
// ==, and that must reach them unchanged.
func isGoRedisAnswer(err error) bool {
	return err == redis.Nil || err == redis.TxFailedErr //nolint:errorlint // compared as go-redis users do
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
