package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// pollEvery is the pause between two checks of a condition the harness
// waits for: short enough not to slow tests, long enough not to load a
// 2-core machine.
const pollEvery = 100 * time.Millisecond

// poll calls check until it reports nothing left to wait for (an empty
// string), returns an error, or ctx ends. The last report is part of the
// timeout error, so a failed wait says what it was still waiting for.
func poll(ctx context.Context, what string, check func(ctx context.Context) (string, error)) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		pending, err := check(cctx)
		cancel()
		if err != nil {
			return err
		}
		if pending == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for %s: %w; still: %s", what, context.Cause(ctx), pending)
		case <-time.After(pollEvery):
		}
	}
}

// topology asks the node for CLUSTER NODES.
func (n *node) topology(ctx context.Context) (*topology, error) {
	text, err := n.client.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: CLUSTER NODES on %s: %w", n.addr, err)
	}
	lines, err := parseNodes(text)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, n.addr)
	}
	return newTopology(lines), nil
}

// infoField returns one "field:value" of an INFO or CLUSTER INFO reply.
func infoField(text, field string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// WaitHealthy waits until the cluster is settled: every running node (not
// killed, not paused) reports cluster_state:ok, sees every other running
// node as healthy, and agrees with the others on which primary owns each
// slot and on every node's role; every slot is owned by a running primary;
// and every running replica's link to its primary is up. It then updates
// the view that Primaries, Replicas and Owner report.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	ctx, cancel := c.waitCtx(ctx)
	defer cancel()
	return c.waitHealthy(ctx)
}

func (c *Cluster) waitHealthy(ctx context.Context) error {
	check := c.healthCheck
	if c.cfg.Standalone {
		check = c.standaloneHealthCheck
	}
	err := poll(ctx, "a healthy cluster", check)
	if err != nil {
		c.cfg.Logf("cluster: %v", err)
	}
	return err
}

// healthCheck is one round of WaitHealthy: "" when healthy, else what is
// not yet right.
func (c *Cluster) healthCheck(ctx context.Context) (string, error) {
	running := c.runningNodes()
	if len(running) == 0 {
		return "", fmt.Errorf("cluster: no node is running")
	}
	live := make([]string, len(running))
	for i, n := range running {
		live[i] = n.id
	}
	var first *topology
	var firstSig string
	for _, n := range running {
		info, err := n.client.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Sprintf("CLUSTER INFO on %s: %v", n.addr, err), nil
		}
		if state := infoField(info, "cluster_state"); state != "ok" {
			return fmt.Sprintf("%s has cluster_state:%s", n.addr, state), nil
		}
		topo, err := n.topology(ctx)
		if err != nil {
			return err.Error(), nil
		}
		for _, m := range running {
			l := topo.byID[m.id]
			if l == nil || l.handshake || l.failed || l.pfail || l.addr != m.addr {
				return fmt.Sprintf("%s does not see %s as a healthy member", n.addr, m.addr), nil
			}
		}
		self := topo.self()
		if self == nil || self.id != n.id {
			return "", fmt.Errorf("cluster: CLUSTER NODES on %s has no line for itself (id %s)", n.addr, n.id)
		}
		if !self.primary {
			repl, err := n.client.Info(ctx, "replication").Result()
			if err != nil {
				return fmt.Sprintf("INFO replication on %s: %v", n.addr, err), nil
			}
			if link := infoField(repl, "master_link_status"); link != "up" {
				return fmt.Sprintf("replica %s has master_link_status:%s", n.addr, link), nil
			}
		}
		sig := topo.signature(live)
		if first == nil {
			first, firstSig = topo, sig
			continue
		}
		if sig != firstSig {
			return fmt.Sprintf("%s and %s disagree on the slot map or roles:\n  %s\n  %s",
				running[0].addr, n.addr, firstSig, sig), nil
		}
	}
	for s, id := range first.owner {
		owner := c.byID[id]
		if owner == nil || !slices.Contains(running, owner) {
			return fmt.Sprintf("slot %d is owned by %q, not by a running primary", s, id), nil
		}
	}
	c.mu.Lock()
	c.view = first
	c.mu.Unlock()
	return "", nil
}
