package redirect

import (
	"context"
	"errors"

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

// processTx runs a transaction as a unit on one node, through the attempt
// step like any command. A real server answers a redirected queued command
// with MOVED or ASK and then fails EXEC with EXECABORT, and go-redis keeps
// only the EXECABORT; so each attempt that ends in EXECABORT asks the node
// why (probeTx, which executes nothing) and the step decides on the
// answer. pinned says the transaction may run under a WATCH on its
// connection: it is then never re-sent, only explained.
func (e *engine) processTx(ctx context.Context, cmds []redis.Cmder, t target, v via, pinned bool) error {
	inner := cmds[1 : len(cmds)-1]
	j := job{name: "exec", tx: inner, pinned: pinned, at: t}
	send := func(t target) error { return e.sendTx(ctx, t, cmds, v) }
	reroute := func(prev target) target { return e.rerouteTx(inner, prev) }
	err := e.run(ctx, &j, send, reroute)
	if err != nil && !isGoRedisAnswer(err) {
		setErr(cmds, err)
	}
	return err
}

// sendTx makes one attempt of the transaction cmds (MULTI ... EXEC) at t.
// An EXECABORT comes back explained by probeTx when the probe can tell why.
func (e *engine) sendTx(ctx context.Context, t target, cmds []redis.Cmder, v via) error {
	for _, c := range cmds {
		c.SetErr(nil)
	}
	if err := ended(ctx); err != nil {
		setErr(cmds, err)
		return err
	}
	err := e.execTx(ctx, t, cmds, v)
	if classify.KindOf(err) == classify.KindExecAbort {
		if cause := e.probeTx(ctx, t, cmds[1:len(cmds)-1]); cause != nil {
			err = &abortError{abort: classify.Classify(err), cause: cause}
			setErr(cmds, err)
		}
	}
	return err
}

// execTx sends the transaction once.
func (e *engine) execTx(ctx context.Context, t target, cmds []redis.Cmder, v via) error {
	if t.addr == "" {
		if v.pipeline == nil {
			setErr(cmds, errNoNext)
			return errNoNext
		}
		if err := e.hold(ctx, e.hookedAddr()); err != nil {
			setErr(cmds, err)
			return err
		}
		return v.pipeline(ctx, cmds)
	}
	n, err := e.reach(ctx, t.addr)
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
	n.begin(e.now)
	_, err = pipe.Exec(ctx)
	n.end(e.now())
	// MULTI and EXEC were the caller's placeholders; they end as the
	// transaction did.
	cmds[0].SetErr(err)
	cmds[len(cmds)-1].SetErr(err)
	return err
}

// abortError is an EXECABORT explained: cause is the redirection or the
// refusal that made the node abort the transaction, which ran nothing.
// Error() is the server's EXECABORT text followed by the cause's; KindOf
// is KindExecAbort, and errors.As finds both.
type abortError struct {
	abort error // the EXECABORT reply, classified
	cause error // what the probe found
}

func (e *abortError) Error() string {
	return e.abort.Error() + " (the transaction did not run: " + e.cause.Error() + ")"
}

func (e *abortError) Unwrap() []error { return []error{e.abort, e.cause} }

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

// allIdempotent reports whether every queued command may safely run twice.
func allIdempotent(inner []redis.Cmder) bool {
	for _, c := range inner {
		if !retry.Idempotent(c.Args()) {
			return false
		}
	}
	return true
}
