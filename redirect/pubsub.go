package redirect

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/slotmap"
)

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
