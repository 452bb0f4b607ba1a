// Package failover takes a primary of a real cluster (integration/cluster)
// down while clients run, the same way for the benchmark and the
// integration tests, and times what the cluster did: when the fault hit
// and when the victim's replica became primary.
package failover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/integration/cluster"
)

// Fault is how the victim goes down.
type Fault int

const (
	// Kill is kill -9: the process dies; its connections reset and new
	// ones are refused.
	Kill Fault = iota
	// Freeze is SIGSTOP until the replica has been promoted, then
	// SIGCONT: a hung process (or a partition) that answers nothing but
	// keeps its connections and accepts new ones.
	Freeze
)

// String names the fault as the benchmark prints it.
func (f Fault) String() string {
	switch f {
	case Kill:
		return "kill -9"
	case Freeze:
		return "SIGSTOP until promotion"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Timeline is what happened, in order.
type Timeline struct {
	Victim  string // the primary taken down
	Replica string // its replica, polled for the promotion
	// Fault is when the victim went down: its process had died (Kill) or
	// stopped (Freeze).
	Fault time.Time
	// Promoted is when the replica first answered ROLE as primary.
	Promoted time.Time
	// Resumed is when a frozen victim got SIGCONT (zero for Kill).
	Resumed time.Time
	// Healthy is when the cluster was settled again.
	Healthy time.Time
}

// Promotion is the time from the fault to the promotion.
func (t Timeline) Promotion() time.Duration { return t.Promoted.Sub(t.Fault) }

// pollEvery is how often the replica is asked for its role.
const pollEvery = 10 * time.Millisecond

// Watch is what the caller of Inject follows the fault with.
type Watch struct {
	// AtFault, when set, hears the moment the victim went down, for the
	// caller's recovery measurement.
	AtFault func(time.Time)
	// Recovered, for Freeze, reports whether the caller's clients have all
	// recovered: the victim stays stopped after the promotion until it
	// does (polled every 10ms), or until MaxFrozen has passed since the
	// fault. Resumed at once, the old primary would answer MOVED to the
	// new one and lead even a client that found nothing out to it, as a
	// hung process or a partition that lasts does not.
	Recovered func() bool
	// MaxFrozen bounds how long the victim stays stopped (default 25s).
	MaxFrozen time.Duration
}

// Inject takes the primary victim of c down by fault while the caller's
// clients run, waits for the promotion of its replica, resumes a frozen
// victim after it (see Watch), and returns once the cluster is healthy
// again.
//
// Replication is asynchronous: a write the victim acknowledged but had not
// yet sent to its replica dies with it, whatever the client did. So that
// any lost acknowledged write is the client's, the victim first stops
// running writes (CLIENT PAUSE WRITE: they wait, unanswered, and are in
// doubt when it goes down) and WAIT 1 returns once the replica has every
// write it acknowledged; the fault follows at once. A frozen victim keeps
// the writes it receives from then on unrun too, until it knows it is a
// replica; then they get MOVED.
func Inject(ctx context.Context, c *cluster.Cluster, victim string, fault Fault, w Watch) (Timeline, error) {
	tl := Timeline{Victim: victim}
	if fault != Kill && fault != Freeze {
		return tl, fmt.Errorf("failover: unknown fault %d", int(fault))
	}
	replicas := c.Replicas(victim)
	if len(replicas) == 0 {
		return tl, fmt.Errorf("failover: %s has no replica to promote", victim)
	}
	tl.Replica = replicas[0]
	admin, poller := nodeClient(c, victim), nodeClient(c, tl.Replica)
	defer admin.Close()
	defer poller.Close()
	if err := pauseWrites(ctx, admin); err != nil {
		return tl, fmt.Errorf("failover: on %s: %w", victim, err)
	}
	var err error
	if fault == Kill {
		err = c.Kill(victim)
	} else {
		err = c.Pause(victim)
	}
	if err != nil {
		return tl, err
	}
	tl.Fault = time.Now()
	if w.AtFault != nil {
		w.AtFault(tl.Fault)
	}
	if tl.Promoted, err = waitRole(ctx, poller, "master"); err != nil {
		return tl, fmt.Errorf("failover: waiting for %s to be promoted: %w", tl.Replica, err)
	}
	if fault == Freeze {
		if err := resume(ctx, c, admin, &tl, w); err != nil {
			return tl, err
		}
	}
	if err := c.WaitHealthy(ctx); err != nil {
		return tl, err
	}
	tl.Healthy = time.Now()
	return tl, nil
}

// pauseWrites holds the node's writes unrun and waits until its replica
// has every write it acknowledged.
func pauseWrites(ctx context.Context, admin *redis.Client) error {
	if err := admin.Do(ctx, "CLIENT", "PAUSE", "300000", "WRITE").Err(); err != nil {
		return fmt.Errorf("CLIENT PAUSE: %w", err)
	}
	n, err := admin.Do(ctx, "WAIT", "1", "10000").Int()
	if err == nil && n != 1 {
		err = fmt.Errorf("%d replicas acknowledged", n)
	}
	if err != nil {
		return fmt.Errorf("WAIT 1: %w", err)
	}
	return nil
}

// resume continues a frozen victim once the watch allows and, once it
// knows it is a replica now, lifts its write pause: the writes it held
// then get MOVED rather than run on a node that is no longer primary.
func resume(ctx context.Context, c *cluster.Cluster, admin *redis.Client, tl *Timeline, w Watch) error {
	limit := w.MaxFrozen
	if limit <= 0 {
		limit = 25 * time.Second
	}
	for w.Recovered != nil && !w.Recovered() && time.Since(tl.Fault) < limit && ctx.Err() == nil {
		time.Sleep(pollEvery)
	}
	if err := c.Resume(tl.Victim); err != nil {
		return err
	}
	tl.Resumed = time.Now()
	if _, err := waitRole(ctx, admin, "slave"); err != nil {
		return fmt.Errorf("failover: waiting for %s to become a replica: %w", tl.Victim, err)
	}
	if err := admin.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		return fmt.Errorf("failover: CLIENT UNPAUSE on %s: %w", tl.Victim, err)
	}
	return nil
}

// waitRole asks the node for its ROLE every pollEvery until it is role,
// and returns when it first was.
func waitRole(ctx context.Context, c *redis.Client, role string) (time.Time, error) {
	for {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		v, err := c.Do(qctx, "ROLE").Slice()
		cancel()
		if err == nil && len(v) > 0 && v[0] == role {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, errors.Join(ctx.Err(), err)
		case <-time.After(pollEvery):
		}
	}
}

// nodeClient is a connection of its own to one node, as the harness's
// admin user, that never retries.
func nodeClient(c *cluster.Cluster, addr string) *redis.Client {
	user, pass := c.Admin()
	return redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: pass, TLSConfig: c.TLSConfig(),
		PoolSize: 1, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
}
