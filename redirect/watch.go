package redirect

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

// Watch runs fn in an optimistic transaction on the node serving the keys'
// slot; the keys must share a slot. When the slot moves (a MOVED on WATCH or
// inside fn), fn runs again from the start on the new owner — WATCH
// included, so its check-and-set still holds. While the slot is being
// migrated (ASK), fn runs on the importing node, with ASKING before WATCH,
// before each command and before MULTI, on the transaction's connection.
// redis.TxFailedErr (a watched key changed) is returned as is, for the
// caller's own retry loop.
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
	var st retry.State
	ran := false // an attempt failed in doubt: fn's transaction may have run
	for {
		err := c.watchOnce(ctx, t, fn, keys)
		if err == nil {
			c.e.succeeded(t)
			return nil
		}
		if isGoRedisAnswer(err) {
			return err
		}
		err = classify.Classify(err)
		ran = ran || classify.InDoubt(err)
		if st.Start.IsZero() {
			st = retry.State{Start: c.e.now(), Addr: t.addr, Budget: c.e.budget}
			if dl, ok := ctx.Deadline(); ok {
				st.Deadline = dl
			}
		}
		c.e.failed(t, err)
		d := c.e.policy.Next(&st, err, c.e.now(), c.e.rand)
		if d.Reconnect {
			c.e.nodes.reconnect(st.Addr)
		}
		switch d.Action {
		case retry.ActionRedirect:
			nt, rerr := c.e.redirectTarget(ctx, "watch", st.Addr, d, err)
			if rerr != nil {
				return rerr
			}
			t = nt
		case retry.ActionRetry:
			prev := t
			moved := func() bool { nt, err := c.route(slot, 0); return err == nil && nt != prev }
			if werr := c.e.wait(ctx, d, err, ran, moved); werr != nil {
				return werr
			}
			if nt, rerr := c.route(slot, 0); rerr == nil {
				t = nt
			}
		default:
			return d.Err
		}
		st.Addr = t.addr
	}
}

// watchOnce runs fn once at t.
func (c *Client) watchOnce(ctx context.Context, t target, fn func(*redis.Tx) error, keys []string) error {
	if err := c.e.allow(t.addr); err != nil {
		return err
	}
	if !t.asking {
		n, err := c.e.nodes.get(t.addr)
		if err != nil {
			return err
		}
		return n.client.Watch(ctx, fn, keys...)
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
	return ac.Watch(ctx, fn, keys...)
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

// Subscribe subscribes to channels on one node: the cluster forwards every
// PUBLISH to every node, so any node serves.
func (c *Client) Subscribe(ctx context.Context, channels ...string) *redis.PubSub {
	return c.anyNode(ctx).Subscribe(ctx, channels...)
}

// PSubscribe subscribes to channel patterns on one node.
func (c *Client) PSubscribe(ctx context.Context, channels ...string) *redis.PubSub {
	return c.anyNode(ctx).PSubscribe(ctx, channels...)
}

// SSubscribe subscribes to shard channels on the primary serving their slot
// (the channels must share a slot, as the server requires), and follows the
// slot: after a failover or a resharding the subscription moves to the new
// owner. A PubSub read through Channel() follows without a gap the caller
// sees; ReceiveMessage returns the broken connection's error once, as
// go-redis does after any broken connection, and then goes on. Each sharded
// subscription holds a small client of its own until the Client is closed.
func (c *Client) SSubscribe(ctx context.Context, channels ...string) *redis.PubSub {
	if len(channels) == 0 || c.ready(ctx) != nil {
		return c.anyNode(ctx).SSubscribe(ctx, channels...)
	}
	s := &shardSub{c: c, slot: slotmap.Slot(channels[0])}
	owner, err := c.e.ownerOf(s.slot)
	if err != nil {
		return c.anyNode(ctx).SSubscribe(ctx, channels...)
	}
	o := c.e.nodes.options(owner)
	o.Addr = "shard-subscription"
	o.Dialer = s.dial
	o.TLSConfig = nil // dial does TLS, with the name of the node it reaches
	s.client = redis.NewClient(o)
	c.shards.add(c, s)
	return s.client.SSubscribe(ctx, channels...)
}

// anyNode returns a random primary's client, or the first seed's before the
// topology is known.
func (c *Client) anyNode(ctx context.Context) *redis.Client {
	addr := c.e.opts.Seeds[0]
	if c.ready(ctx) == nil {
		if a := randomPrimary(c.e.slots.Load()); a != "" {
			addr = a
		}
	}
	n, err := c.e.nodes.get(addr)
	if err != nil {
		// Closed: the front client, closed too, whose PubSub reports it.
		return c.Client
	}
	return n.client
}
