package redirect

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/retry"
)

// isTx reports whether cmds is a transaction: go-redis hands a TxPipeline to
// the pipeline hook as MULTI, the queued commands, EXEC.
func isTx(cmds []redis.Cmder) bool {
	n := len(cmds)
	return n >= 2 && cmds[0].Name() == "multi" && cmds[n-1].Name() == "exec"
}

// processTx runs a transaction as a unit on one node. A real server answers
// a redirected queued command with MOVED or ASK and then fails EXEC with
// EXECABORT, and go-redis keeps only the EXECABORT; so on EXECABORT the
// engine asks the node why (probeTx, which executes nothing) and follows the
// answer. resend says whether the transaction may be re-sent at all: not
// when it may run under a WATCH that re-sending would drop.
func (e *engine) processTx(ctx context.Context, cmds []redis.Cmder, t target, next redis.ProcessPipelineHook, resend bool) error {
	err := e.sendTx(ctx, t, cmds, next)
	if err == nil {
		e.succeeded(t)
		return nil
	}
	inner := cmds[1 : len(cmds)-1]
	st := e.newState(ctx, cmds[len(cmds)-1], t)
	st.Args = nil // the transaction is idempotent only if every queued command is
	ran := false  // an attempt failed in doubt: the transaction may have run
	for {
		if isGoRedisAnswer(err) {
			return err
		}
		err = classify.Classify(err)
		cause := err
		if classify.KindOf(err) == classify.KindExecAbort {
			if why := e.probeTx(ctx, t, inner); why != nil {
				cause = why
			}
		}
		e.failed(t, cause)
		if classify.InDoubt(cause) {
			ran = true
			st.Idempotent = allIdempotent(inner)
		}
		if !resend && cause != err {
			// The transaction did not run; say why, and learn where the
			// slot went, but leave the re-run to the caller's WATCH loop.
			if m := new(classify.MovedError); errors.As(cause, &m) {
				e.slots.Patch(m.Slot, m.Addr)
				e.slots.RequestRefresh(refreshReason(cause))
			}
			return e.txGiveUp(cmds, st.Addr, fmt.Errorf("%w (the transaction did not run: %w; not re-sent because a WATCH may be open)", err, cause))
		}
		d := e.policy.Next(&st, cause, e.now(), e.rand)
		if d.Reconnect {
			e.nodes.reconnect(st.Addr)
		}
		switch d.Action {
		case retry.ActionRedirect:
			nt, rerr := e.redirectTarget(ctx, "exec", st.Addr, d, cause)
			if rerr != nil {
				return e.txGiveUp(cmds, st.Addr, rerr)
			}
			t = nt
		case retry.ActionRetry:
			if e.obs != nil && e.obs.Retry != nil {
				e.obs.Retry(RetryEvent{Kind: classify.KindOf(cause), Command: "exec", Addr: st.Addr,
					Attempt: st.Retries, Delay: d.Delay, Refresh: d.Refresh})
			}
			prev := t
			if werr := e.wait(ctx, d, cause, ran, func() bool { return e.rerouteTx(inner, prev) != prev }); werr != nil {
				return e.txGiveUp(cmds, st.Addr, werr)
			}
			t = e.rerouteTx(inner, t)
		default:
			return e.txGiveUp(cmds, st.Addr, d.Err)
		}
		st.Addr = e.addrOf(t)
		if err = e.sendTx(ctx, t, cmds, next); err == nil {
			e.succeeded(t)
			return nil
		}
	}
}

// sendTx makes one attempt of the transaction cmds (MULTI ... EXEC) at t.
func (e *engine) sendTx(ctx context.Context, t target, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
	if t.addr == "" {
		return next(ctx, cmds)
	}
	if err := e.allow(t.addr); err != nil {
		setErr(cmds, err)
		return err
	}
	n, err := e.nodes.get(t.addr)
	if err != nil {
		setErr(cmds, err)
		return err
	}
	inner := cmds[1 : len(cmds)-1]
	var pipe redis.Pipeliner
	if t.asking {
		// One ASKING before MULTI covers the whole transaction: the server
		// keeps the flag until EXEC. It must travel on the transaction's
		// connection, hence a dedicated one.
		cn := n.client.Conn()
		defer cn.Close()
		if err := cn.Process(ctx, redis.NewStatusCmd(ctx, "asking")); err != nil {
			setErr(cmds, err)
			return err
		}
		pipe = cn.TxPipeline()
	} else {
		pipe = n.client.TxPipeline()
	}
	for _, c := range inner {
		_ = pipe.Process(ctx, c)
	}
	_, err = pipe.Exec(ctx)
	// MULTI and EXEC were the caller's placeholders; they end as the
	// transaction did.
	cmds[0].SetErr(err)
	cmds[len(cmds)-1].SetErr(err)
	return err
}

// errRefusalGone is the cause of an EXECABORT whose probe queued every
// command: whatever refused one of them (the end of a LOADING, of a
// CLUSTERDOWN window, of a migration step) is over. An aborted transaction
// ran nothing, so it may be sent again, within the retry budget.
var errRefusalGone = classify.Parse("TRYAGAIN the refusal that aborted the transaction is over")

// probeTx asks the node at t why it would refuse the transaction: it queues
// the same commands between MULTI and DISCARD, which executes none of them.
// It returns the first queued reply that is a redirection or a refusal to
// try later; errRefusalGone when every command queued; nil when a queued
// command is refused for good (bad arguments, OOM, ...): that EXECABORT
// stands.
func (e *engine) probeTx(ctx context.Context, t target, inner []redis.Cmder) error {
	addr := e.addrOf(t)
	if addr == "" {
		return nil
	}
	n, err := e.nodes.get(addr)
	if err != nil {
		return nil
	}
	pipe := n.client.Pipeline()
	if t.asking {
		_ = pipe.Process(ctx, redis.NewStatusCmd(ctx, "asking"))
	}
	_ = pipe.Process(ctx, redis.NewStatusCmd(ctx, "multi"))
	queued := make([]*redis.StatusCmd, len(inner))
	for i, c := range inner {
		queued[i] = redis.NewStatusCmd(ctx, c.Args()...)
		_ = pipe.Process(ctx, queued[i])
	}
	discard := redis.NewStatusCmd(ctx, "discard")
	_ = pipe.Process(ctx, discard)
	_, _ = pipe.Exec(ctx)
	if discard.Err() != nil {
		return nil // the probe itself failed: it tells nothing
	}
	for _, q := range queued {
		qerr := q.Err()
		if qerr == nil {
			continue
		}
		qerr = classify.Classify(qerr)
		if errors.Is(qerr, classify.ErrRedirect) || errors.Is(qerr, classify.ErrTryLater) {
			return qerr
		}
		return nil
	}
	return errRefusalGone
}

func (e *engine) txGiveUp(cmds []redis.Cmder, addr string, err error) error {
	if e.obs != nil && e.obs.GiveUp != nil {
		e.obs.GiveUp(GiveUpEvent{Kind: classify.KindOf(err), Command: "exec", Addr: addr, Err: err})
	}
	setErr(cmds, err)
	return err
}

// rerouteTx picks the node of a transaction's retry from its first keyed command.
func (e *engine) rerouteTx(inner []redis.Cmder, prev target) target {
	for _, c := range inner {
		if owner, ok := e.ownerOfCmd(c); ok {
			return e.targetOf(owner)
		}
	}
	return target{addr: prev.addr}
}

// allIdempotent reports whether every queued command may safely run twice.
func allIdempotent(inner []redis.Cmder) bool {
	for _, c := range inner {
		if !retry.Idempotent(c.Args()) {
			return false
		}
	}
	return true
}

// isGoRedisAnswer reports the go-redis sentinels that callers compare with
// ==, and that must reach them unchanged.
func isGoRedisAnswer(err error) bool {
	return err == redis.Nil || err == redis.TxFailedErr //nolint:errorlint // compared as go-redis users do
}
