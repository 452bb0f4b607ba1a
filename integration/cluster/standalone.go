package cluster

import (
	"context"
	"fmt"
	"net"
)

// buildStandalone starts a replication group (Config.Standalone): the
// first node is the primary, every other one its replica.
func (c *Cluster) buildStandalone(ctx context.Context) error {
	ctx, cancel := c.waitCtx(ctx)
	defer cancel()
	if err := c.startProcesses(ctx); err != nil {
		return err
	}
	for _, n := range c.nodes {
		// Without cluster mode a node has no cluster id; its address
		// names it.
		n.id = n.addr
		c.byID[n.id] = n
	}
	primary := c.nodes[0]
	for _, n := range c.nodes[1:] {
		if err := n.client.Do(ctx, "REPLICAOF", c.cfg.Host, primary.port).Err(); err != nil {
			return fmt.Errorf("cluster: REPLICAOF %s on %s: %w", primary.addr, n.addr, err)
		}
	}
	return c.waitHealthy(ctx)
}

// Promote makes the node at addr of a standalone group (Config.Standalone)
// its primary, the way an operator swaps roles: REPLICAOF NO ONE on it,
// then REPLICAOF it on every other running node, including the old
// primary, and waits until every replica's link to it is up. Writes the old
// primary acknowledged but had not replicated yet are lost, as in any
// such swap.
func (c *Cluster) Promote(ctx context.Context, addr string) error {
	if !c.cfg.Standalone {
		return fmt.Errorf("cluster: Promote is for standalone groups; use Failover on a cluster")
	}
	ctx, cancel := c.waitCtx(ctx)
	defer cancel()
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	if err := n.client.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		return fmt.Errorf("cluster: REPLICAOF NO ONE on %s: %w", addr, err)
	}
	for _, m := range c.runningNodes() {
		if m == n {
			continue
		}
		if err := m.client.Do(ctx, "REPLICAOF", c.cfg.Host, n.port).Err(); err != nil {
			return fmt.Errorf("cluster: REPLICAOF %s on %s: %w", addr, m.addr, err)
		}
	}
	if err := c.waitHealthy(ctx); err != nil {
		return err
	}
	c.cfg.Logf("cluster: %s is the primary", addr)
	return nil
}

// standaloneHealthCheck is one round of WaitHealthy for a standalone group:
// "" when exactly one running node is a primary and every other running
// node replicates it with its link up; else what is not yet right.
func (c *Cluster) standaloneHealthCheck(ctx context.Context) (string, error) {
	running := c.runningNodes()
	if len(running) == 0 {
		return "", fmt.Errorf("cluster: no node is running")
	}
	lines := make([]nodeLine, 0, len(running))
	var primaries []string
	for _, n := range running {
		repl, err := n.client.Info(ctx, "replication").Result()
		if err != nil {
			return fmt.Sprintf("INFO replication on %s: %v", n.addr, err), nil
		}
		l := nodeLine{id: n.id, addr: n.addr}
		switch role := infoField(repl, "role"); role {
		case "master":
			l.primary = true
			primaries = append(primaries, n.addr)
		case "slave":
			l.primaryID = net.JoinHostPort(infoField(repl, "master_host"), infoField(repl, "master_port"))
			if link := infoField(repl, "master_link_status"); link != "up" {
				return fmt.Sprintf("replica %s has master_link_status:%s", n.addr, link), nil
			}
		default:
			return fmt.Sprintf("%s has role %q", n.addr, role), nil
		}
		lines = append(lines, l)
	}
	if len(primaries) != 1 {
		return fmt.Sprintf("%d primaries: %v", len(primaries), primaries), nil
	}
	for _, l := range lines {
		if !l.primary && l.primaryID != primaries[0] {
			return fmt.Sprintf("%s replicates %s, not %s", l.addr, l.primaryID, primaries[0]), nil
		}
	}
	c.mu.Lock()
	c.view = newTopology(lines)
	c.mu.Unlock()
	return "", nil
}
