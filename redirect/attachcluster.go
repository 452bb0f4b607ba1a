package redirect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
)

// ClusterAttachOptions configures AttachCluster. Every zero value is a
// default.
type ClusterAttachOptions struct {
	// NodeOptions configures the hook added to each node's client, as
	// OnNewNode's: the in-doubt mode, and Report.
	NodeOptions

	// ReloadInterval is the least time between the starts of two reloads
	// of the ClusterClient's slot map while a node is suspect (default
	// 100ms; at least 10ms). A healthy cluster sees no reload from
	// AttachCluster.
	ReloadInterval time.Duration
	// ReloadTimeout is the deadline of one reload's context (default
	// 500ms). go-redis bounds its reads by it only with
	// ContextTimeoutEnabled, by each node's ReadTimeout otherwise: a reload
	// that hangs does not stop the next one an interval later (two at
	// most are under way).
	ReloadTimeout time.Duration
	// ProbeTimeout bounds the PING that asks a suspect node, on a
	// connection of its own, whether it answers again (default 1s).
	ProbeTimeout time.Duration
	// WatchFor is how long a node stays suspect at most (default 30s):
	// then the commands held for it fail, not sent, and the next failure
	// makes it suspect again.
	WatchFor time.Duration
}

const (
	defaultReloadInterval = 100 * time.Millisecond
	minReloadInterval     = 10 * time.Millisecond
	defaultReloadTimeout  = 500 * time.Millisecond
	defaultProbeTimeout   = time.Second
	defaultWatchFor       = 30 * time.Second
)

// withDefaults returns o with its zero durations replaced, or an error that
// names the first invalid field.
func (o ClusterAttachOptions) withDefaults() (ClusterAttachOptions, error) {
	fields := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ReloadInterval", &o.ReloadInterval, defaultReloadInterval},
		{"ReloadTimeout", &o.ReloadTimeout, defaultReloadTimeout},
		{"ProbeTimeout", &o.ProbeTimeout, defaultProbeTimeout},
		{"WatchFor", &o.WatchFor, defaultWatchFor},
	}
	for _, f := range fields {
		if *f.v < 0 {
			return o, fmt.Errorf("redirect: ClusterAttachOptions.%s is %v, want 0 (for %v) or more", f.name, *f.v, f.def)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if o.ReloadInterval < minReloadInterval {
		return o, fmt.Errorf("redirect: ClusterAttachOptions.ReloadInterval is %v, want at least %v: reloads that close together are a storm",
			o.ReloadInterval, minReloadInterval)
	}
	if err := o.Policy.Validate(); err != nil {
		return o, fmt.Errorf("redirect: ClusterAttachOptions.Policy: %w", err)
	}
	return o, nil
}

// ClusterAttachment is what AttachCluster added to a ClusterClient.
type ClusterAttachment struct {
	rdb  *redis.ClusterClient
	opts ClusterAttachOptions
	w    *clusterWatch

	mu    sync.Mutex               // protects nodes
	nodes map[string]redis.Options // each node client's options, for probes
}

// AttachCluster gives go-redis's own ClusterClient what it lacks when a
// primary dies or hangs: it finds the new primary as soon as the cluster
// has elected it, instead of on its next periodic reload (10s in go-redis
// v9.2, 60s in v9.23), and holds the commands for the failed node until
// then rather than sending them into it.
//
//	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds})
//	att, err := redirect.AttachCluster(rdb, redirect.ClusterAttachOptions{})
//	...
//	defer att.Close()
//
// Call it before the client's first command, so that every node's client
// gets its hook (go-redis offers no way to reach node clients made
// before), and do not add OnNewNode's hook too: AttachCluster adds it,
// with opts.NodeOptions. The node clients must not re-send commands on
// their own, which is ClusterOptions' default: AttachCluster refuses a
// positive MaxRetries, as Attach does.
//
// What it does:
//   - each node's client gets OnNewNode's hook (failures reported, in-doubt
//     re-sends stopped), and a refused dial, a broken connection or a
//     timeout on a node makes that node suspect;
//   - while a node is suspect, the ClusterClient's slot map is reloaded at
//     most once per ReloadInterval, single-flight, and the node is probed
//     with PING on a connection of its own, until a reload shows another
//     node serving its slots, the node answers, or WatchFor has passed;
//   - commands whose slot the suspect node serves are held before
//     ClusterClient routes them (bounded by their context) and go on once
//     the suspicion ends: to the new primary, which ClusterClient's
//     reloaded map names, or to the node that answered. A command that
//     ClusterClient had already routed to the node (its retry after a
//     refused dial, a read re-sent after a timeout) is held on the node
//     and then routed again; a pipeline or transaction there fails instead,
//     not sent (ClusterClient cannot be told to send it elsewhere). When
//     WatchFor passes first, held commands fail, not sent.
//
// The reload is ClusterClient's own (ForEachMaster's, which waits for it
// and shows its result; ReloadState only schedules one and, in go-redis
// v9.2, drops it when another ran less than 200ms before). It asks a
// random node; a CLUSTER command for a suspect node fails at once, not
// sent, so that it asks another rather than wait on the one that stopped
// answering. A healthy cluster sees no command from AttachCluster.
func AttachCluster(rdb *redis.ClusterClient, opts ClusterAttachOptions) (*ClusterAttachment, error) {
	if rdb == nil {
		return nil, errors.New("redirect: AttachCluster: the ClusterClient is nil")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	// ClusterOptions stores the default 0 as -1 and gives it to every node
	// client, which then sends each command once; a positive value is
	// re-sends inside the node client, before any hook sees a failure.
	if n := rdb.Options().MaxRetries; n > 0 {
		return nil, fmt.Errorf("redirect: AttachCluster: the ClusterClient's Options.MaxRetries is %d: its node clients would re-send "+
			"commands whose reply was lost, running them twice, before the hook sees a failure; set MaxRetries: -1", n)
	}
	a := &ClusterAttachment{rdb: rdb, opts: o, nodes: map[string]redis.Options{}}
	a.w = newClusterWatch(o.ReloadInterval, o.WatchFor, a.reload, a.probe)
	report := o.Report
	o.Report = func(ev NodeEvent) {
		if report != nil {
			report(ev)
		}
		if ev.Kind == classify.KindConnection || ev.Kind == classify.KindTimeout {
			a.w.suspect(ev.Addr)
		}
	}
	rdb.OnNewNode(func(c *redis.Client) {
		addr := c.Options().Addr
		a.mu.Lock()
		a.nodes[addr] = *c.Options()
		a.mu.Unlock()
		// Added first, so outermost: a command held and routed again
		// never reaches the reporting hook.
		c.AddHook(&nodeHold{a: a, addr: addr})
		c.AddHook(&nodeHook{addr: addr, opts: o.NodeOptions})
	})
	rdb.AddHook(&clusterHold{a: a})
	return a, nil
}

// Close stops watching: commands held now go on as if they had never been
// held, and from then on the hooks AttachCluster added pass everything
// through (go-redis cannot remove a hook). The ClusterClient is the
// caller's to close.
func (a *ClusterAttachment) Close() error {
	a.w.close()
	return nil
}

// reload reloads the ClusterClient's slot map and returns its primaries.
func (a *ClusterAttachment) reload(ctx context.Context) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.ReloadTimeout)
	defer cancel()
	var mu sync.Mutex
	primaries := map[string]bool{}
	err := a.rdb.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		primaries[c.Options().Addr] = true
		mu.Unlock()
		return nil
	})
	return primaries, err
}

// probe sends PING to the node at addr on a new connection of its own, with
// the node client's options (auth, TLS), ProbeTimeout at most.
func (a *ClusterAttachment) probe(ctx context.Context, addr string) error {
	a.mu.Lock()
	o, ok := a.nodes[addr]
	a.mu.Unlock()
	if !ok {
		return fmt.Errorf("redirect: no node client for %s", addr)
	}
	o.PoolSize, o.MinIdleConns, o.MaxRetries, o.Limiter = 1, 0, -1, nil
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout =
		a.opts.ProbeTimeout, a.opts.ProbeTimeout, a.opts.ProbeTimeout, a.opts.ProbeTimeout
	c := redis.NewClient(&o)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, a.opts.ProbeTimeout)
	defer cancel()
	return c.Ping(ctx).Err()
}

// holdRouted holds cmd, before ClusterClient routes it, while the node its
// slot maps to is suspect. It returns nil when the command may go on.
func (a *ClusterAttachment) holdRouted(ctx context.Context, cmd redis.Cmder) error {
	if a.w.count.Load() == 0 {
		return nil
	}
	key, ok := firstKey(cmd.Args())
	if !ok {
		return nil
	}
	owner, err := a.rdb.MasterForKey(ctx, key)
	if err != nil {
		return nil
	}
	addr := owner.Options().Addr
	wd := a.w.watching(addr)
	if wd == nil {
		return nil
	}
	out, err := a.w.wait(ctx, wd)
	if err != nil {
		return err
	}
	if out == watchGaveUp {
		return a.gaveUp(addr)
	}
	return nil
}

// firstKey returns the first key of a command, when it is a string (as
// ClusterClient hashes keys).
func firstKey(args []any) (string, bool) {
	var buf [4]int
	idx, _, ok := command.Keys(buf[:0], args)
	if !ok || len(idx) == 0 {
		return "", false
	}
	k, ok := args[idx[0]].(string)
	return k, ok
}

// gaveUp is the error of a command held for a node that stayed suspect
// for WatchFor: not sent, and not an error ClusterClient retries.
func (a *ClusterAttachment) gaveUp(addr string) error {
	return &classify.ClientError{Kind: classify.KindConnection, Err: fmt.Errorf(
		"redirect: node %s did not answer and no other node took its slots within %v; not sent", addr, a.opts.WatchFor)}
}

// errSuspectNode marks the refusals of suspectErr.
var errSuspectNode = errors.New("stopped answering; not sent")

// suspectErr is the error of a CLUSTER command for a suspect node, and of
// a dial to it: not sent.
func suspectErr(addr string) error {
	return &classify.ClientError{Kind: classify.KindConnection, Err: fmt.Errorf(
		"redirect: node %s %w", addr, errSuspectNode)}
}

// replaced is the error of a pipeline or transaction held on a node whose
// slots another node took: not sent.
func replaced(addr string) error {
	return &classify.ClientError{Kind: classify.KindConnection, Err: fmt.Errorf(
		"redirect: node %s stopped answering and another node took its slots while the commands waited; not sent", addr)}
}

// setErrs gives every command of a pipeline err.
func setErrs(cmds []redis.Cmder, err error) {
	for _, c := range cmds {
		c.SetErr(err)
	}
}

// clusterHold is the hook AttachCluster adds to the ClusterClient itself:
// it holds commands for a suspect node before ClusterClient routes them, so
// that it routes them by the reloaded slot map.
type clusterHold struct{ a *ClusterAttachment }

func (h *clusterHold) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *clusterHold) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := h.a.holdRouted(ctx, cmd); err != nil {
			return err
		}
		return next(ctx, cmd)
	}
}

func (h *clusterHold) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if err := h.a.holdRouted(ctx, c); err != nil {
				setErrs(cmds, err)
				return err
			}
		}
		return next(ctx, cmds)
	}
}

// nodeHold is the hook AttachCluster adds first to each node's client: it
// holds what ClusterClient sends to a suspect node after routing it there.
type nodeHold struct {
	a    *ClusterAttachment
	addr string
}

// DialHook refuses to dial a suspect node: a command that waited for a
// connection to it then fails not sent, and is held (ProcessHook) rather
// than sent into a node that stopped answering.
func (h *nodeHold) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h.a.w.watching(h.addr) != nil {
			return nil, suspectErr(h.addr)
		}
		return next(ctx, network, addr)
	}
}

func (h *nodeHold) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		switch cmd.Name() {
		case "cluster":
			// A reload's CLUSTER SLOTS must not wait for what it is there
			// to find out, nor hang on a node that stopped answering (for
			// the node's ReadTimeout: go-redis does not bound it by the
			// context): failed at once, not sent, the reload asks another
			// node.
			if h.a.w.watching(h.addr) != nil {
				return suspectErr(h.addr)
			}
			return next(ctx, cmd)
		case "command":
			return next(ctx, cmd)
		}
		out, err := h.hold(ctx)
		if err != nil {
			return err
		}
		if out != watchMoved {
			sendErr := next(ctx, cmd)
			if sendErr == nil || !notSent(sendErr) {
				return sendErr
			}
			// It waited for a connection to the node (go-redis's pool
			// timeout) or could not dial it: held too, if the node is
			// suspect now.
			if out, err = h.hold(ctx); err != nil {
				return err
			}
			if out != watchMoved && !errors.Is(sendErr, errSuspectNode) {
				return sendErr
			}
			// Moved, or refused by DialHook while the node was suspect
			// and released since: routed again either way.
		}
		// ClusterClient routes a command that failed with ErrClosed again
		// by its slot map, at once, without counting a failure of the
		// node: and its map is the reloaded one.
		return redis.ErrClosed
	}
}

// notSent reports whether err is a failure before the command was sent
// (no connection), other than the caller's context ending.
func notSent(err error) bool {
	var ce *classify.ClientError
	if !errors.As(classify.Classify(err), &ce) || ce.Sent {
		return false
	}
	return ce.Kind != classify.KindCanceled && ce.Kind != classify.KindDeadline
}

func (h *nodeHold) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		out, err := h.hold(ctx)
		if err == nil && out == watchMoved {
			err = replaced(h.addr)
		}
		if err != nil {
			setErrs(cmds, err)
			return err
		}
		return next(ctx, cmds)
	}
}

// hold waits while the node is suspect. It returns watchAnswered when the
// command may go to the node.
func (h *nodeHold) hold(ctx context.Context) (watchOutcome, error) {
	wd := h.a.w.watching(h.addr)
	if wd == nil {
		return watchAnswered, nil
	}
	out, err := h.a.w.wait(ctx, wd)
	switch {
	case err != nil:
		return out, err
	case out == watchGaveUp:
		return out, h.a.gaveUp(h.addr)
	case out == watchClosed:
		return watchAnswered, nil
	}
	return out, nil
}
