package redirect

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/slotmap"
)

// Watch runs fn in an optimistic transaction on the node serving the keys'
// slot; the keys must share a slot. When the slot moves (a MOVED on WATCH,
// on a command inside fn, or on a queued command, which aborts EXEC), fn
// runs again from the start on the new owner — WATCH included, so its
// check-and-set still holds; an aborted transaction ran nothing. While the
// slot is being migrated (ASK), fn runs on the importing node, with ASKING
// before WATCH, before each command and before MULTI, on the
// transaction's connection. redis.TxFailedErr (a watched key changed) is
// returned as is, for the caller's own retry loop. fn should return the
// error of its TxPipelined call, as go-redis's examples do: that error is
// how Watch learns that the slot moved.
func (c *Client) Watch(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	slot := -1
	for _, k := range keys {
		s := slotmap.Slot(k)
		if slot >= 0 && s != slot {
			return fmt.Errorf("%w (Watch: %q is in slot %d, an earlier key in slot %d)",
				classify.Parse("CROSSSLOT Keys in request don't hash to the same slot"), k, s, slot)
		}
		slot = s
	}
	t, err := c.route(slot, 0)
	if err != nil {
		return err
	}
	j := job{name: "watch", at: t}
	send := func(t target) error { return c.watchOnce(ctx, t, fn, keys) }
	reroute := func(prev target) target {
		if nt, err := c.route(slot, 0); err == nil {
			return nt
		}
		return prev
	}
	return c.e.run(ctx, &j, send, reroute)
}

// watchOnce runs fn once at t. The transaction fn runs carries a hook that
// explains an EXECABORT, as the engine's own transactions are explained.
func (c *Client) watchOnce(ctx context.Context, t target, fn func(*redis.Tx) error, keys []string) error {
	if err := ended(ctx); err != nil {
		return err
	}
	n, err := c.e.reach(ctx, t.addr)
	if err != nil {
		return err
	}
	explained := func(tx *redis.Tx) error {
		tx.AddHook(abortHook{e: c.e, at: t})
		return fn(tx)
	}
	if !t.asking {
		return n.client.Watch(ctx, explained, keys...)
	}
	// A client of its own, with one connection and a hook that sends
	// ASKING before each command on it: the importing node serves the slot
	// only to ASKING clients, one command at a time (MULTI ... EXEC counts
	// as one).
	opt := c.e.nodes.options(t.addr)
	opt.PoolSize = 1
	ac := redis.NewClient(opt)
	defer ac.Close()
	ac.AddHook(&askingHook{})
	return ac.Watch(ctx, explained, keys...)
}

// abortHook explains the EXECABORT of a transaction that a Watch function
// runs: it asks the node why (probeTx) and returns the EXECABORT with its
// cause, so that Watch can follow a MOVED that struck a queued command.
type abortHook struct {
	e  *engine
	at target
}

func (h abortHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h abortHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h abortHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if !isTx(cmds) || classify.KindOf(err) != classify.KindExecAbort {
			return err
		}
		cause := h.e.probeTx(ctx, h.at, cmds[1:len(cmds)-1])
		if cause == nil {
			return err
		}
		return &abortError{abort: classify.Classify(err), cause: cause}
	}
}

// askingHook sends ASKING before every command, and before a transaction's
// MULTI, on the connection that carries them. It serves one Watch call: the
// process hook it keeps is the one of the transaction's chain, built last.
type askingHook struct {
	process redis.ProcessHook
}

func (h *askingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *askingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	h.process = next
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := next(ctx, redis.NewStatusCmd(ctx, "asking")); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (h *askingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if isTx(cmds) && h.process != nil {
			if err := h.process(ctx, redis.NewStatusCmd(ctx, "asking")); err != nil {
				setErr(cmds, err)
				return err
			}
		}
		return next(ctx, cmds)
	}
}
