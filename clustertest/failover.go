package clustertest

import (
	"fmt"
	"time"
)

// FailoverOptions shape what clients see while a shard fails over.
type FailoverOptions struct {
	// DownFor is how long every node answers ReplyClusterDown for the
	// shard's slots once the replica has taken over, as a real cluster
	// does between detecting a failed primary and electing a replica.
	// Zero means no window: a manual CLUSTER FAILOVER.
	DownFor time.Duration

	// RefuseConns makes the old primary crash: its connections drop and it
	// refuses new ones until DownFor ends, when it comes back as a
	// replica. With a zero DownFor it stays down until RestartNode.
	RefuseConns bool
}

// Failover promotes the first healthy replica of shard to primary and
// turns the old primary into its replica: from then on the old primary
// answers MOVED to the new one for the shard's slots.
func (c *Cluster) Failover(shard int, opts FailoverOptions) error {
	if opts.DownFor < 0 {
		return fmt.Errorf("clustertest: FailoverOptions.DownFor is %v, want 0 or more", opts.DownFor)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := -1
	err := c.changeLocked(func(t *topology) error {
		if shard < 0 || shard >= len(t.shards) {
			return fmt.Errorf("clustertest: no shard %d", shard)
		}
		sh := &t.shards[shard]
		promoted := -1
		for i, r := range sh.replicas {
			if !t.nodes[r].failed {
				promoted = i
				break
			}
		}
		if promoted < 0 {
			return fmt.Errorf("clustertest: shard %d has no healthy replica to promote", shard)
		}
		old = sh.primary
		next := sh.replicas[promoted]
		sh.replicas = append(append(sh.replicas[:promoted:promoted], sh.replicas[promoted+1:]...), old)
		sh.primary = next
		t.nodes[next].primary = true
		t.nodes[old].primary = false
		t.bumpEpoch(shard)
		sh.down = opts.DownFor > 0
		if opts.RefuseConns {
			t.nodes[old].failed = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if opts.RefuseConns {
		c.nodes[old].kill()
	}
	if opts.DownFor > 0 {
		w := new(window)
		w.timer = time.AfterFunc(opts.DownFor, func() { c.endFailover(w, shard, old, opts.RefuseConns) })
		c.windows[w] = struct{}{}
	}
	return nil
}

// endFailover ends a failover's window: the shard serves again and a
// crashed old primary comes back as a replica.
func (c *Cluster) endFailover(w *window, shard, old int, restart bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.windows, w)
	if c.closed {
		return
	}
	if restart {
		// The port may have been taken meanwhile; the node then stays
		// failed, as a process that could not bind would.
		if err := c.nodes[old].listen(); err != nil {
			restart = false
		}
	}
	_ = c.changeLocked(func(t *topology) error {
		t.shards[shard].down = false
		if restart {
			t.nodes[old].failed = false
		}
		return nil
	})
}

// KillNode stops the node at addr as a crash would: its connections drop
// and new ones are refused. Its data and role stay; the cluster flags it
// as failed. RestartNode brings it back.
func (c *Cluster) KillNode(addr string) error {
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.changeLocked(func(t *topology) error {
		t.nodes[n.idx].failed = true
		return nil
	}); err != nil {
		return err
	}
	n.kill()
	return nil
}

// RestartNode makes a killed node, or one whose listener was closed,
// accept connections again on its address, with its data and role.
// Faults injected before stay in place.
func (c *Cluster) RestartNode(addr string) error {
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if err := n.listen(); err != nil {
		return err
	}
	return c.changeLocked(func(t *topology) error {
		t.nodes[n.idx].failed = false
		return nil
	})
}

// AddNode starts an empty primary that owns no slot yet, in a new shard,
// and returns its address; BeginMigration or MigrateSlot give it slots.
func (c *Cluster) AddNode() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var addr string
	err := c.changeLocked(func(t *topology) error {
		shard := len(t.shards)
		n, err := c.addNodeLocked(t, shard, true)
		if err != nil {
			return err
		}
		t.shards = append(t.shards, shardView{primary: n.idx})
		t.bumpEpoch(shard)
		addr = n.addr
		return nil
	})
	return addr, err
}

// window is a failover window waiting to end.
type window struct {
	timer *time.Timer // read under Cluster.mu
}
