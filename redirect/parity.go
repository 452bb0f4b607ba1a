package redirect

import (
	"context"
	"iter"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/slotmap"
)

// This file holds the methods of go-redis's ClusterClient that reach single
// nodes, with its semantics, so that code written for ClusterClient runs on
// a Client. The node clients they hand out are the Client's own (made from
// Options.Template, seen by Options.OnNewNode): a command sent through one
// goes to that node only, with no redirect or retry handling, as with
// ClusterClient's node clients.

// ForEachMaster calls fn on the client of every primary, concurrently, waits
// for every call to return and returns the first error, as go-redis's
// ClusterClient does: for commands that act on one node's whole dataset
// (FLUSHALL, SCRIPT LOAD, DBSIZE, SCAN through ScanAll). Every primary the
// topology lists is called, including one that serves no slot yet. The
// topology is the current one, loaded first if it never was; Refresh before
// for a view fetched now.
func (c *Client) ForEachMaster(ctx context.Context, fn func(ctx context.Context, client *redis.Client) error) error {
	return c.forEach(ctx, fn, true, false)
}

// ForEachSlave calls fn on the client of every replica that may serve reads
// (those the cluster reports online; loading or failed ones are left out),
// as ForEachMaster does for primaries. A replica's client sends READONLY on
// its connections only when Options.ReadFromReplicas or RouteByLatency is
// set; without it, a replica answers a read of a key with MOVED.
func (c *Client) ForEachSlave(ctx context.Context, fn func(ctx context.Context, client *redis.Client) error) error {
	return c.forEach(ctx, fn, false, true)
}

// ForEachShard calls fn on the client of every node, primaries and the
// replicas ForEachSlave calls, as ForEachMaster does. The name is
// go-redis's: it means each node, not once per shard.
func (c *Client) ForEachShard(ctx context.Context, fn func(ctx context.Context, client *redis.Client) error) error {
	return c.forEach(ctx, fn, true, true)
}

func (c *Client) forEach(ctx context.Context, fn func(context.Context, *redis.Client) error, primaries, replicas bool) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	var clients []*redis.Client
	for _, sh := range c.e.slots.Load().Shards() {
		var addrs []string
		if primaries {
			addrs = append(addrs, sh.Primary.Addr)
		}
		if replicas {
			for _, r := range sh.Replicas {
				addrs = append(addrs, r.Addr)
			}
		}
		for _, a := range addrs {
			n, err := c.e.nodes.get(a)
			if err != nil {
				return err
			}
			clients = append(clients, n.client)
		}
	}
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, cl := range clients {
		wg.Go(func() {
			if err := fn(ctx, cl); err != nil {
				once.Do(func() { first = err })
			}
		})
	}
	wg.Wait()
	return first
}

// MasterForKey returns the client of the primary serving key's slot, to
// run a command on that node (a script, a module command the Client cannot
// route). An uncovered slot is an error of kind classify.KindSlotNotCovered,
// where go-redis would pick a random node.
func (c *Client) MasterForKey(ctx context.Context, key string) (*redis.Client, error) {
	sh, err := c.shardOf(ctx, key)
	if err != nil {
		return nil, err
	}
	n, err := c.e.nodes.get(sh.Primary.Addr)
	if err != nil {
		return nil, err
	}
	return n.client, nil
}

// SlaveForKey returns the client of a replica of key's slot, to run a
// read-only command (such as a read-only script) there: with
// RouteByLatency the node of the slot with the lowest round trip, else an
// online replica picked at random, else the primary when the slot has no
// online replica, as go-redis's ClusterClient does. See ForEachSlave for
// READONLY.
func (c *Client) SlaveForKey(ctx context.Context, key string) (*redis.Client, error) {
	sh, err := c.shardOf(ctx, key)
	if err != nil {
		return nil, err
	}
	addr := ""
	if c.e.opts.RouteByLatency {
		addr = c.latency.nearest(sh)
	}
	if addr == "" {
		addr = healthyReplica(sh)
	}
	if addr == "" {
		addr = sh.Primary.Addr
	}
	n, err := c.e.nodes.get(addr)
	if err != nil {
		return nil, err
	}
	return n.client, nil
}

func (c *Client) shardOf(ctx context.Context, key string) (*slotmap.Shard, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	return c.e.slots.Load().Shard(slotmap.Slot(key))
}

// ReloadState asks for a topology refresh and returns at once, as
// go-redis's ClusterClient does; it is coalesced with any refresh already
// asked for. Refresh waits for the fetch and reports its error.
func (c *Client) ReloadState(ctx context.Context) {
	c.e.slots.RequestRefresh(slotmap.ReasonManual)
}

// Scan runs SCAN on one primary picked at random for each call, as
// go-redis's ClusterClient does: it sees the keys of that node only, and a
// cursor it returns means nothing to the next call, which may reach
// another node (so ScanCmd.Iterator mixes nodes too). To go through every
// key of the cluster use ScanAll; to scan one node, its client from
// ForEachMaster or MasterForKey.
func (c *Client) Scan(ctx context.Context, cursor uint64, match string, count int64) *redis.ScanCmd {
	return c.Client.Scan(ctx, cursor, match, count)
}

// ScanAll returns the keys matching match (every key when empty) of every
// primary, one primary after the other, running SCAN with count as its
// hint (0: the server's default) until the node's cursor comes back to 0.
// An error ends the iteration, yielded with an empty key. Stopping early
// (break) sends no further SCAN.
//
// SCAN's guarantee holds per node: a key present on its node from start to
// end is yielded; a key written meanwhile may or may not be. A slot that
// migrates during the iteration can make a key appear twice (moved to a
// primary not yet scanned) or not at all (moved to one already scanned).
// The primaries are those of the topology when the iteration starts.
func (c *Client) ScanAll(ctx context.Context, match string, count int64) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if err := c.ready(ctx); err != nil {
			yield("", err)
			return
		}
		for _, sh := range c.e.slots.Load().Shards() {
			n, err := c.e.nodes.get(sh.Primary.Addr)
			if err != nil {
				yield("", err)
				return
			}
			var cursor uint64
			for {
				keys, next, err := n.client.Scan(ctx, cursor, match, count).Result()
				if err != nil {
					yield("", err)
					return
				}
				for _, k := range keys {
					if !yield(k, nil) {
						return
					}
				}
				if next == 0 {
					break
				}
				cursor = next
			}
		}
	}
}
