package redirect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
)

// BatchOptions bounds the Client's automatic pipelining: commands that
// concurrent callers send to the same node while that node's connections
// are busy wait for the next free one and go out together, as one go-redis
// pipeline, in one write and one read. Each command keeps its own context,
// redirection, retry and in-doubt handling: a batch is only how its
// commands travel. The zero value is on, with the defaults below.
type BatchOptions struct {
	// Disabled sends every command on its own, as go-redis's
	// ClusterClient does. Default false.
	Disabled bool

	// MaxCommands is the most commands one batch carries (default
	// DefaultBatchCommands).
	MaxCommands int

	// MaxBytes bounds a batch by the approximate size of its commands'
	// arguments (default DefaultBatchBytes); a command larger than that
	// travels alone.
	MaxBytes int

	// MaxInFlight is the most batches one node has in flight at once, a
	// command sent alone included (default DefaultBatchInFlight). A
	// command finding them all busy waits to join the next batch; a lone
	// caller never waits and costs no goroutine hand-off.
	MaxInFlight int
}

// The defaults of BatchOptions.
const (
	DefaultBatchCommands = 256
	DefaultBatchBytes    = 64 << 10
	DefaultBatchInFlight = 2
)

// validate reports the first field that cannot work, naming it.
func (o BatchOptions) validate() error {
	switch {
	case o.MaxCommands < 0:
		return fmt.Errorf("redirect: Options.Batch.MaxCommands is negative (%d)", o.MaxCommands)
	case o.MaxBytes < 0:
		return fmt.Errorf("redirect: Options.Batch.MaxBytes is negative (%d)", o.MaxBytes)
	case o.MaxInFlight < 0:
		return fmt.Errorf("redirect: Options.Batch.MaxInFlight is negative (%d)", o.MaxInFlight)
	}
	return nil
}

// batchLimits are BatchOptions with the defaults filled in.
type batchLimits struct {
	commands, bytes, inFlight int
}

// newBatchLimits returns the limits o sets, or nil when batching is off.
func newBatchLimits(o BatchOptions) *batchLimits {
	if o.Disabled {
		return nil
	}
	l := &batchLimits{commands: o.MaxCommands, bytes: o.MaxBytes, inFlight: o.MaxInFlight}
	if l.commands == 0 {
		l.commands = DefaultBatchCommands
	}
	if l.bytes == 0 {
		l.bytes = DefaultBatchBytes
	}
	if l.inFlight == 0 {
		l.inFlight = DefaultBatchInFlight
	}
	return l
}

// sendNode makes one attempt of cmd on the node n: in a batch when the
// Client batches and the command may share a pipeline, else on its own.
func (e *engine) sendNode(ctx context.Context, n *node, cmd redis.Cmder) error {
	if e.batch == nil || !batchable(e.table, cmd) {
		return n.client.Process(ctx, cmd)
	}
	return n.batch.send(ctx, e, n, cmd)
}

// batchable reports whether cmd may travel in a pipeline with strangers'
// commands, by the command table's flags. Never: a blocking command
// (its reply waits for data, not for the server, and would hold the whole
// batch; go-redis also reads a pipeline with the node's ReadTimeout, not
// the command's own), a command on the state of its connection (MULTI,
// WATCH, SELECT ... — the batch's connection is anyone's), the pub/sub
// family, and a command the table does not know (its flags are unknown).
func batchable(t *command.Table, cmd redis.Cmder) bool {
	f, ok := t.Flags(cmd.Args())
	return ok && f&(command.FlagBlocking|command.FlagConnection|command.FlagPubSub) == 0
}

// batcher coalesces one node's commands. It has no goroutine: a caller
// that finds a free slot (fewer than MaxInFlight batches in flight and
// none queued) sends its command itself, at once; the others queue in a
// batch, and when a slot frees, one of the queued callers is woken to send
// its batch, its own command and its neighbours' — the writer flushes
// when it runs out of queued work. The zero value is ready.
type batcher struct {
	mu       sync.Mutex // protects every field, and the entries of queued batches
	inFlight int        // slots in use: batches being sent, or handed to a leader
	queue    []*batch   // waiting for a slot, oldest first; only the last takes more
}

// batch is the commands that will travel together.
type batch struct {
	entries []entry
	bytes   int  // their arguments' approximate size
	queued  int  // entries still queued: neither taken nor gone
	granted bool // a slot is the batch's: lead carries, or will carry, the token

	lead chan struct{} // one token: the waiter that takes it sends the batch
	done chan struct{} // closed once every taken command has its outcome
	ctx  batchContext  // the pipeline's context
}

// entry is one caller's command in a batch.
type entry struct {
	ctx   context.Context
	cmd   redis.Cmder
	state entryState
}

type entryState uint8

const (
	entryQueued entryState = iota // waiting; its caller may still leave
	entryTaken                    // in the pipeline: its caller waits for done
	entryGone                     // never sent: its context ended first
)

// send delivers cmd through the batcher and returns its outcome.
func (q *batcher) send(ctx context.Context, e *engine, n *node, cmd redis.Cmder) error {
	size := argsSize(cmd.Args())
	q.mu.Lock()
	if len(q.queue) == 0 && q.inFlight < e.batch.inFlight {
		q.inFlight++
		q.mu.Unlock()
		err := n.client.Process(ctx, cmd)
		q.release()
		return err
	}
	b, i := q.enqueue(ctx, cmd, size, e.batch)
	q.mu.Unlock()
	select {
	case <-b.done:
		return cmd.Err()
	case <-b.lead:
		return q.lead(ctx, e, n, b, i)
	case <-ctx.Done():
		return q.leave(b, i)
	}
}

// enqueue adds cmd to the last queued batch, or to a new one when that is
// full; q.mu is held.
func (q *batcher) enqueue(ctx context.Context, cmd redis.Cmder, size int, l *batchLimits) (*batch, int) {
	var b *batch
	if k := len(q.queue); k > 0 {
		b = q.queue[k-1]
		if len(b.entries) >= l.commands || b.bytes+size > l.bytes {
			b = nil
		}
	}
	if b == nil {
		b = &batch{lead: make(chan struct{}, 1), done: make(chan struct{})}
		q.queue = append(q.queue, b)
	}
	b.entries = append(b.entries, entry{ctx: ctx, cmd: cmd})
	b.bytes += size
	b.queued++
	return b, len(b.entries) - 1
}

// release frees the caller's slot: the oldest queued batch gets it, and
// one of its waiters the token that makes it the batch's sender.
func (q *batcher) release() {
	q.mu.Lock()
	if len(q.queue) == 0 {
		q.inFlight--
		q.mu.Unlock()
		return
	}
	b := q.queue[0]
	q.queue[0] = nil
	q.queue = q.queue[1:]
	b.granted = true
	q.mu.Unlock()
	b.lead <- struct{}{}
}

// leave is a queued caller whose context ended: its command is taken out
// of the batch and fails not sent, unless the batch's sender already took
// it, in which case the caller waits for its reply like the others: a
// command on the wire cannot be called back.
func (q *batcher) leave(b *batch, i int) error {
	q.mu.Lock()
	en := &b.entries[i]
	switch en.state {
	case entryTaken:
		q.mu.Unlock()
		<-b.done
		return en.cmd.Err()
	case entryGone:
		q.mu.Unlock()
		return en.cmd.Err()
	}
	q.gone(en)
	err := en.cmd.Err()
	if b.queued > 0 {
		q.mu.Unlock()
		return err
	}
	// The batch is empty. Queued, it is dropped; granted, its slot passes
	// on: the token is for this caller, the last one who could take it.
	if !b.granted {
		q.drop(b)
		q.mu.Unlock()
		return err
	}
	q.mu.Unlock()
	<-b.lead
	q.release()
	return err
}

// gone marks a queued entry as never sent; q.mu is held.
func (q *batcher) gone(en *entry) {
	en.state = entryGone
	en.cmd.SetErr(classify.NotSent(context.Cause(en.ctx)))
	en.ctx = nil
}

// drop removes the empty batch b from the queue; q.mu is held.
func (q *batcher) drop(b *batch) {
	for i, qb := range q.queue {
		if qb == b {
			q.queue = append(q.queue[:i], q.queue[i+1:]...)
			return
		}
	}
}

// lead sends batch b, the caller having taken its token; i is the
// caller's entry. A caller whose own context has ended hands the token to
// another waiter instead, so that it never waits on strangers' commands.
func (q *batcher) lead(ctx context.Context, e *engine, n *node, b *batch, i int) error {
	q.mu.Lock()
	own := &b.entries[i]
	if ctx.Err() != nil && own.state == entryQueued {
		q.gone(own)
		err := own.cmd.Err()
		q.mu.Unlock()
		if b.queued > 0 {
			b.lead <- struct{}{}
		} else {
			q.release()
		}
		return err
	}
	sent := q.take(b)
	q.mu.Unlock()
	q.exec(e, n, b, sent)
	q.release()
	close(b.done)
	return own.cmd.Err()
}

// take moves every queued entry of b into the pipeline, but those whose
// context has ended, which fail not sent; q.mu is held. It returns how
// many it took, and sets the pipeline's deadline: the latest of theirs.
func (q *batcher) take(b *batch) int {
	taken := 0
	b.ctx = batchContext{bounded: true}
	for i := range b.entries {
		en := &b.entries[i]
		if en.state != entryQueued {
			continue
		}
		if en.ctx.Err() != nil {
			q.gone(en)
			continue
		}
		en.state = entryTaken
		taken++
		b.ctx.add(en.ctx)
	}
	b.queued = 0
	return taken
}

// exec sends the taken commands of b: one alone, with its caller's
// context; several as one pipeline. Every command gets its own outcome.
// Once taken, b's entries no longer change.
func (q *batcher) exec(e *engine, n *node, b *batch, taken int) {
	if taken == 0 {
		return
	}
	if taken == 1 {
		for _, en := range b.entries {
			if en.state == entryTaken {
				_ = n.client.Process(en.ctx, en.cmd)
			}
		}
		return
	}
	pipe := n.client.Pipeline()
	for _, en := range b.entries {
		if en.state == entryTaken {
			_ = pipe.Process(en.ctx, en.cmd)
		}
	}
	cmds, err := pipe.Exec(&b.ctx)
	unsent(cmds, err)
	countOnce(e, n, cmds)
}

// countOnce tells the breaker of a failed batch once, not once per
// command: a connection that broke under twenty commands is one failure
// of the node. The commands' errors are marked so that the attempt step,
// which tells the breaker of each failure it decides on, does not count
// them again.
func countOnce(e *engine, n *node, cmds []redis.Cmder) {
	var first error
	for _, c := range cmds {
		err := c.Err()
		if err == nil {
			continue
		}
		switch classify.KindOf(classify.Classify(err)) {
		case classify.KindConnection, classify.KindTimeout:
			if first == nil {
				first = classify.Classify(err)
			}
			c.SetErr(&countedError{err: err})
		}
	}
	if first != nil {
		e.failed(target{addr: n.addr}, first)
	}
}

// countedError is the failure of a batched command that the breaker has
// already heard of, as its batch's failure.
type countedError struct{ err error }

func (c *countedError) Error() string { return c.err.Error() }
func (c *countedError) Unwrap() error { return c.err }

// counted returns err without its countedError mark, and whether it had
// one: the attempt step then does not tell the breaker again.
func counted(err error) (error, bool) {
	var c *countedError
	if errors.As(err, &c) {
		return c.err, true
	}
	return err, false
}

// batchContext is a pipeline's context: no cancellation (a caller whose
// context ends while its command is on the wire waits for the reply, and
// must not cut its neighbours' replies short) and the latest deadline of
// its commands, none if one of them has none; go-redis caps the read at
// the node's ReadTimeout as for any command.
type batchContext struct {
	deadline time.Time
	bounded  bool
}

// add bounds the pipeline by ctx's deadline too.
func (c *batchContext) add(ctx context.Context) {
	dl, ok := ctx.Deadline()
	switch {
	case !ok:
		c.deadline, c.bounded = time.Time{}, false
	case c.bounded && dl.After(c.deadline):
		c.deadline = dl
	}
}

func (c *batchContext) Deadline() (time.Time, bool) { return c.deadline, c.bounded }
func (c *batchContext) Done() <-chan struct{}       { return nil }
func (c *batchContext) Err() error                  { return nil }
func (c *batchContext) Value(any) any               { return nil }

// argsSize estimates what a command's arguments weigh on the wire.
func argsSize(args []any) int {
	n := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		default:
			n += 8
		}
		n += 16 // RESP framing
	}
	return n
}
