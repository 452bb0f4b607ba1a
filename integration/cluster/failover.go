package cluster

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// FailoverMode is the kind of CLUSTER FAILOVER a replica is asked for.
type FailoverMode int

const (
	// Graceful is CLUSTER FAILOVER: the primary stops accepting writes until
	// the replica has caught up, then the replica is elected. No
	// acknowledged write is lost; the primary must be reachable.
	Graceful FailoverMode = iota
	// Force is CLUSTER FAILOVER FORCE: no handshake with the primary (which
	// may be down or hung), but a majority of primaries must still vote.
	// Writes the primary acknowledged but had not replicated are lost.
	Force
	// Takeover is CLUSTER FAILOVER TAKEOVER: no handshake and no vote; the
	// replica bumps its config epoch and claims the slots itself.
	Takeover
)

// String returns the mode as the CLUSTER FAILOVER option ("" for Graceful
// reads as "graceful").
func (m FailoverMode) String() string {
	switch m {
	case Graceful:
		return "graceful"
	case Force:
		return "FORCE"
	case Takeover:
		return "TAKEOVER"
	}
	return fmt.Sprintf("FailoverMode(%d)", int(m))
}

// Failover asks the replica at replicaAddr to take over from its primary
// and waits until it is a primary and the cluster is healthy again (see
// WaitHealthy; the old primary, if it runs, is then its replica). A manual
// failover the server abandoned (a graceful one whose primary did not
// answer in time) is asked for again until ctx ends.
func (c *Cluster) Failover(ctx context.Context, replicaAddr string, mode FailoverMode) error {
	ctx, cancel := c.waitCtx(ctx)
	defer cancel()
	if mode < Graceful || mode > Takeover {
		return fmt.Errorf("cluster: unknown failover mode %d", int(mode))
	}
	n, err := c.node(replicaAddr)
	if err != nil {
		return err
	}
	if c.state(n) != stateRunning {
		return fmt.Errorf("cluster: failover to %s: node is not running", replicaAddr)
	}
	topo, err := n.topology(ctx)
	if err != nil {
		return err
	}
	if self := topo.self(); self == nil || self.primary {
		return fmt.Errorf("cluster: failover to %s: node is not a replica", replicaAddr)
	}
	args := []any{"CLUSTER", "FAILOVER"}
	if mode != Graceful {
		args = append(args, mode.String())
	}
	// A manual failover that has not completed within the server's own
	// limit (5s) is abandoned by the replica; ask again after that.
	attempt := max(10*time.Second, 3*c.cfg.NodeTimeout)
	began := time.Now()
	for {
		if err := n.client.Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("cluster: %v on %s: %w", args, replicaAddr, err)
		}
		actx, acancel := context.WithTimeout(ctx, attempt)
		err := poll(actx, replicaAddr+" to become a primary", func(ctx context.Context) (string, error) {
			topo, err := n.topology(ctx)
			if err != nil {
				return err.Error(), nil
			}
			if self := topo.self(); self == nil || !self.primary {
				return replicaAddr + " is still a replica", nil
			}
			return "", nil
		})
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return err
		}
		c.cfg.Logf("cluster: %s failover to %s not done after %v; asking again", mode, replicaAddr, attempt)
	}
	if err := c.waitHealthy(ctx); err != nil {
		return err
	}
	c.cfg.Logf("cluster: %s failover to %s done in %v", mode, replicaAddr, time.Since(began).Round(time.Millisecond))
	return nil
}

// Kill kills the node's process with SIGKILL (kill -9), as a crash would,
// and returns once it has exited. It does not wait for the cluster to
// notice; WaitHealthy waits for the failover that follows.
func (c *Cluster) Kill(addr string) error {
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.state == stateKilled {
		return fmt.Errorf("cluster: kill %s: node is not running", addr)
	}
	if err := n.kill(); err != nil {
		return err
	}
	c.cfg.Logf("cluster: killed %s", addr)
	return nil
}

// Restart starts the node at addr again (killing it first if it runs) on
// the same port, directory and nodes.conf, so it rejoins with its identity,
// and waits until the cluster is healthy. A primary that was replaced
// meanwhile comes back as a replica of its replacement.
func (c *Cluster) Restart(ctx context.Context, addr string) error {
	ctx, cancel := c.waitCtx(ctx)
	defer cancel()
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	done, err := c.startNode(n)
	if err != nil {
		return err
	}
	if err := n.waitReady(ctx, done); err != nil {
		return err
	}
	c.cfg.Logf("cluster: restarted %s", addr)
	return c.waitHealthy(ctx)
}

// Pause stops the node's process with SIGSTOP: it keeps its sockets but
// answers nothing, like a hung server. Paused for longer than the node
// timeout, a primary is failed over.
func (c *Cluster) Pause(addr string) error {
	return c.transition(addr, stateRunning, statePaused, syscall.SIGSTOP)
}

// Resume continues a paused node with SIGCONT. It does not wait; call
// WaitHealthy for the cluster to settle.
func (c *Cluster) Resume(addr string) error {
	return c.transition(addr, statePaused, stateRunning, syscall.SIGCONT)
}

func (c *Cluster) transition(addr string, from, to nodeState, sig syscall.Signal) error {
	n, err := c.node(addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.state != from {
		return fmt.Errorf("cluster: %v to %s: node is %s", sig, addr, n.state)
	}
	if err := n.signal(sig); err != nil {
		return err
	}
	n.state = to
	return nil
}

func (c *Cluster) state(n *node) nodeState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return n.state
}

// Heal undoes what a test may have left behind: it resumes paused nodes,
// restarts killed ones, completes open migrations (moving their remaining
// keys), and waits until the cluster is healthy.
func (c *Cluster) Heal(ctx context.Context) error {
	ctx, cancel := c.waitCtx(ctx)
	defer cancel()
	var errs []error
	for _, n := range c.nodes {
		switch c.state(n) {
		case statePaused:
			c.cfg.Logf("cluster: heal: resuming %s", n.addr)
			errs = append(errs, c.Resume(n.addr))
		case stateKilled:
			c.cfg.Logf("cluster: heal: restarting %s", n.addr)
			done, err := c.startNode(n)
			if err == nil {
				err = n.waitReady(ctx, done)
			}
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.mu.Lock()
	var slots []int
	for s := range c.migrations {
		slots = append(slots, s)
	}
	c.mu.Unlock()
	for _, s := range slots {
		c.cfg.Logf("cluster: heal: finishing the migration of slot %d", s)
		for {
			moved, err := c.MigrateKeys(ctx, s, 0)
			if err != nil {
				return err
			}
			if moved == 0 {
				break
			}
		}
		if err := c.FinishMigration(ctx, s); err != nil {
			return err
		}
	}
	return c.waitHealthy(ctx)
}
