package redirect

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
	"github.com/clusterhop/clusterhop/retry"
)

// NodeOptions configures the hook that OnNewNode adds to the node clients of
// go-redis's own ClusterClient.
type NodeOptions struct {
	// Policy's InDoubt mode decides which commands whose reply was lost may
	// be re-sent by ClusterClient; its other fields do not apply (the
	// ClusterClient does the redirecting and retrying). Zero: reads only
	// (retry.InDoubtReadOnly).
	Policy retry.Policy

	// Report, when set, hears every failure a node returns, pipelines
	// included, classified, with the node's address.
	Report func(NodeEvent)
}

// NodeEvent is one failure a node of a ClusterClient returned.
type NodeEvent struct {
	Addr    string        // the node
	Command string        // the command's name
	Kind    classify.Kind // what failed: KindMoved, KindTryAgain, KindTimeout, ...
	Slot    int           // the slot a MOVED or ASK names; -1 otherwise
	To      string        // the address a MOVED or ASK names
	InDoubt bool          // the command may have run
	Stopped bool          // the hook kept ClusterClient from re-sending it
	Err     error         // the failure, classified
}

// OnNewNode returns a function for go-redis's ClusterClient.OnNewNode that
// adds a hook to each node's client:
//
//	rdb := redis.NewClusterClient(&redis.ClusterOptions{
//		Addrs:      seeds,
//		MaxRetries: -1, // node clients inherit it: no re-send before the hook sees a failure
//	})
//	rdb.OnNewNode(redirect.OnNewNode(redirect.NodeOptions{Report: count}))
//
// Call it before the first command, so that every node's client has it.
//
// What the hook does there:
//   - it reports every failure a node returns, MOVED, ASK, TRYAGAIN,
//     CLUSTERDOWN, timeouts ..., in pipelines too, with the node's address
//     (go-redis records none);
//   - it keeps ClusterClient from re-sending a command whose reply was lost
//     after sending (ClusterClient retries a timeout or a broken connection
//     on the same node, and so may run a write twice), unless the policy's
//     InDoubt mode allows it: such a command fails with a typed in-doubt
//     error (classify.InDoubt is true, classify.KindOf and errors.Is with
//     classify.ErrTimeout or ErrConnection work) that keeps the original
//     text but not its chain — errors.Is(err, io.EOF) does not hold, since
//     ClusterClient retries whatever does.
//
// What it cannot do: follow redirections or retry — ClusterClient does, with
// its own short fixed budget, and recognises a MOVED only as go-redis's own
// reply error, so every reply passes through unchanged and untyped (call
// classify.Classify on what ClusterClient returns); prevent the retries a
// node client makes before the hook sees the failure (set MaxRetries to -1,
// as above); refresh the topology on a refused connection. For those, use
// Client, or a Hook on a plain client.
func OnNewNode(opts NodeOptions) func(*redis.Client) {
	return func(c *redis.Client) {
		c.AddHook(&nodeHook{addr: c.Options().Addr, opts: opts})
	}
}

// nodeHook is the hook of one node client of a ClusterClient.
type nodeHook struct {
	addr string
	opts NodeOptions
}

func (h *nodeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *nodeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err == nil || isGoRedisAnswer(err) {
			return err
		}
		return h.failed(cmd, err, !setsUpConn(cmd))
	}
}

// setsUpConn reports whether a single command only sets up its connection
// (HELLO, AUTH, SELECT, READONLY, CLIENT SETNAME: keyless, flagged
// connection state; a transaction's EXEC goes down a pipeline). go-redis
// v9.23 sends a new connection's handshake through the hooks and strips
// one layer off its error, so a stop error there would reach the caller's
// command untyped; and sending a handshake again changes no data.
func setsUpConn(cmd redis.Cmder) bool {
	f, ok := command.FlagsOf(cmd.Args())
	return ok && f&command.FlagConnection != 0 && f&command.FlagKeyless != 0
}

func (h *nodeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		// ClusterClient collects a pipeline's failed commands for its next
		// round inside the call the hook wraps, whatever the hook returns;
		// so a command the hook stopped in an earlier round is held back
		// here when ClusterClient sends it again.
		send, stopped := held(cmds)
		if len(send) == 0 {
			return stopped
		}
		err := next(ctx, send)
		for _, c := range send {
			if cerr := c.Err(); cerr != nil && !isGoRedisAnswer(cerr) {
				if out := h.failed(c, cerr, true); out != cerr { //nolint:errorlint // identity: was the error replaced
					c.SetErr(out)
					stopped = out
				}
			}
		}
		if stopped != nil {
			return stopped
		}
		return err
	}
}

// held returns the commands of a pipeline to send: those the hook has not
// stopped, and the error of one it has, if any.
func held(cmds []redis.Cmder) ([]redis.Cmder, error) {
	var stopped error
	n := 0
	for _, c := range cmds {
		if s := new(stopError); errors.As(c.Err(), &s) {
			stopped = c.Err()
			continue
		}
		n++
	}
	if stopped == nil {
		return cmds, nil
	}
	send := make([]redis.Cmder, 0, n)
	for _, c := range cmds {
		if s := new(stopError); !errors.As(c.Err(), &s) {
			send = append(send, c)
		}
	}
	return send, stopped
}

// failed reports err and returns what ClusterClient must see: err itself,
// or, for a command that may have run and must not be re-sent (when
// mayStop), its classified form, which ClusterClient does not retry.
func (h *nodeHook) failed(cmd redis.Cmder, err error, mayStop bool) error {
	typed := classify.Classify(err)
	inDoubt := classify.InDoubt(typed)
	stop := mayStop && inDoubt && !h.opts.Policy.MayResend(cmd.Args())
	if h.opts.Report != nil {
		ev := NodeEvent{Addr: h.addr, Command: cmd.Name(), Kind: classify.KindOf(typed), Slot: -1,
			InDoubt: inDoubt, Stopped: stop, Err: typed}
		var m *classify.MovedError
		var a *classify.AskError
		switch {
		case errors.As(typed, &m):
			ev.Slot, ev.To = m.Slot, m.Addr
		case errors.As(typed, &a):
			ev.Slot, ev.To = a.Slot, a.Addr
		}
		h.opts.Report(ev)
	}
	if stop {
		// go-redis retries what unwraps to io.EOF or a timeout (newer
		// releases look through wrappers with errors.Is), so the error that
		// stops it keeps the failure's kind and text but not its chain.
		return &classify.ClientError{Kind: classify.KindOf(typed), Sent: true, Err: &stopError{text: err.Error()}}
	}
	return err
}

// stopError is the failure of a command the hook stopped: its text
// without its chain, and the mark that holds the command back if
// ClusterClient sends it again.
type stopError struct{ text string }

func (e *stopError) Error() string { return e.text }
