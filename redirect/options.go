package redirect

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/retry"
)

// Options configures a Hook or a Client. The zero value of every field is a
// documented default; Seeds is the only field a Client needs.
type Options struct {
	// Seeds are "host:port" addresses of cluster nodes to load the topology
	// from. A Client needs at least one. A Hook may leave it empty: it then
	// learns the address of the client it is attached to (Attach, or the
	// first connection that client dials).
	Seeds []string

	// Template holds the settings of the per-node clients (auth, TLS,
	// timeouts, protocol, pool sizes). Addr is ignored and MaxRetries is
	// always forced to -1: retrying is this package's job, and go-redis's own
	// retries would re-send commands that may have run. Nil means go-redis
	// defaults. With TLS and an empty ServerName, each node's client verifies
	// the node's own host name.
	Template *redis.Options

	// Policy decides what to do after each failure. The zero value is
	// retry's documented default policy.
	Policy retry.Policy

	// AddrMap rewrites a node address before it is dialled, for clusters
	// behind NAT whose nodes announce addresses the client cannot reach.
	// Topology, MOVED and ASK addresses are kept as the server sent them;
	// only the dial address changes. Nil means no rewriting.
	AddrMap func(addr string) string

	// AllowAddr decides whether a redirection target may be dialled. Nil
	// means: only addresses the topology knows, or that a fresh topology
	// refresh confirms — a MOVED to a stranger must not make the client dial
	// it with the cluster's credentials.
	AllowAddr func(addr string) bool

	// RefreshInterval is the minimum time between two topology fetches,
	// plus a random jitter of up to half of it (default
	// slotmap.DefaultMinInterval, 1s, and slotmap.DefaultJitter);
	// refreshes asked for in between are coalesced into the next one. A
	// MOVED needs no fetch: it patches its slot at once.
	RefreshInterval time.Duration

	// PeriodicRefresh reloads the topology on a timer when positive
	// (default 0: only on demand, when a MOVED, a connection failure or an
	// uncovered slot says the topology changed).
	PeriodicRefresh time.Duration

	// ReadFromReplicas routes read-only commands of a Client to replicas
	// (sending READONLY on their connections), falling back to the primary
	// when no healthy replica is known. Default false: everything goes to
	// primaries. The Hook ignores it.
	ReadFromReplicas bool

	// RouteByLatency sends each read-only command of a Client to the node
	// of its slot, primary or online replica, with the lowest round trip,
	// measured with PING when the topology first loads and every 5s after
	// (as go-redis's ClusterOptions.RouteByLatency). It implies
	// ReadFromReplicas. Default false.
	RouteByLatency bool

	// Observer hears every redirect, retry, refresh and give-up. Nil costs
	// nothing.
	Observer Observer

	// OnNewNode, when set, is called with each per-node client the Client
	// or Hook makes, before its first command, as go-redis's
	// ClusterClient.OnNewNode: add hooks there (redisotel's tracing and
	// metrics, a logger) to see every command and every dial as it goes to
	// a node. Nil: nothing is called.
	OnNewNode func(*redis.Client)

	// Failover tunes how commands ride out a primary that stops answering:
	// they are held, not sent into it, while the engine probes it and polls
	// its replicas for the promotion. The zero value is on, with defaults.
	Failover FailoverOptions

	// Batch bounds the Client's automatic pipelining of concurrent
	// commands to the same node, on by default (see BatchOptions). The
	// Hook ignores it: its commands go through the caller's client.
	Batch BatchOptions
}

// Validate reports the first option that cannot work, naming it.
func (o *Options) Validate() error {
	for i, s := range o.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("redirect: Options.Seeds[%d] %q is not host:port: %w", i, s, err)
		}
	}
	if o.RefreshInterval < 0 {
		return fmt.Errorf("redirect: Options.RefreshInterval is negative (%v)", o.RefreshInterval)
	}
	if o.PeriodicRefresh < 0 {
		return fmt.Errorf("redirect: Options.PeriodicRefresh is negative (%v)", o.PeriodicRefresh)
	}
	if err := o.Failover.validate(); err != nil {
		return err
	}
	if err := o.Batch.validate(); err != nil {
		return err
	}
	if err := o.Policy.Validate(); err != nil {
		return fmt.Errorf("redirect: Options.Policy: %w", err)
	}
	return nil
}

// ErrAddrNotAllowed is returned (wrapping the redirection) when a MOVED or
// ASK names an address that Options.AllowAddr refuses, or that the topology
// does not know even after a refresh.
var ErrAddrNotAllowed = errors.New("redirect: redirection target not allowed")

// ErrClosed is returned by a Hook or Client used after Close. It is
// classify.ErrClosed, the project's one "closed".
var ErrClosed = classify.ErrClosed

// ErrWatched is the reason (errors.Is) a transaction that may run under a
// WATCH on its connection was given up instead of re-sent after a
// redirection or a refusal: re-sending it elsewhere would drop its
// check-and-set. It did not run; the caller's WATCH loop runs it again.
// The *retry.GiveUpError carrying it also wraps the MOVED, ASK or refusal.
var ErrWatched = errors.New("redirect: transaction not re-sent, a WATCH may be open on its connection")
