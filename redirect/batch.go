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
// commands travel. Hooks added to the node clients (Options.OnNewNode) see
// a batch as a pipeline. The zero value is on, with the defaults below.
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
	// caller never waits and costs no goroutine hand-off. One batch at a
	// time keeps batches deep: the commands whose callers return while it
	// is on the wire come back together as the next; more slots make
	// batches shallower (measured on a 3-primary cluster: no faster at 64
	// or 256 goroutines, a higher p99).
	MaxInFlight int
}

// The defaults of BatchOptions.
const (
	DefaultBatchCommands = 256
	DefaultBatchBytes    = 64 << 10
	DefaultBatchInFlight = 1
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
func (e *engine) sendNode(ctx context.Context, n *node, cmd redis.Cmder, v via) error {
	f, known := v.flags, v.known
	if !known {
		f, known = e.table.Flags(cmd.Args())
	}
	switch {
	case known && f&command.FlagBlocking != 0:
		// Its reply waits for data, not for the node: not a round trip
		// the stall check may time.
		return n.client.Process(ctx, cmd)
	case e.batch == nil || !batchable(f, known):
		return e.roundTrip(ctx, n, cmd)
	}
	return n.batch.send(ctx, e, n, cmd)
}

// batchable reports whether a command with the table flags f (known: the
// table knows it) may travel in a pipeline with strangers' commands.
// Never: a blocking command (its reply waits for data, not for the server,
// and would hold the whole batch; go-redis also reads a pipeline with the node's ReadTimeout, not
// the command's own), a command on the state of its connection (MULTI,
// WATCH, SELECT ... — the batch's connection is anyone's), the pub/sub
// family, and a command the table does not know (its flags are unknown).
func batchable(f command.Flags, known bool) bool {
	return known && f&(command.FlagBlocking|command.FlagConnection|command.FlagPubSub) == 0
}

// batcher coalesces one node's commands. It has no goroutine: a caller
// that finds a free slot (fewer than MaxInFlight batches in flight and
// none queued) sends its command itself, at once; the others queue in a
// batch, and when a slot frees, one of the queued callers is woken to send
// its batch, its own command and its neighbours' — the writer flushes
// when it runs out of queued work. The zero value is ready.
type batcher struct {
	mu       sync.Mutex // protects every field, and the waiters' states
	inFlight int        // slots in use: batches being sent, or handed to a waiter to send
	queue    []*batch   // waiting for a slot, oldest first; only the last takes more
	free     []*batch   // sent batches, for reuse
}

// batch is the commands that will travel together.
type batch struct {
	waiters []*waiter
	bytes   int             // their arguments' approximate size
	ctx     batchContext    // the pipeline's context
	pipe    redis.Pipeliner // made once per batch, reused
}

// waiter is one caller whose command is in a batch.
type waiter struct {
	ch    chan struct{} // the caller's one wake-up: to send its batch, or its reply is in
	ctx   context.Context
	cmd   redis.Cmder
	size  int
	b     *batch
	state waitState // guarded by the batcher's mu; read by its caller once woken
}

type waitState uint8

const (
	waitQueued waitState = iota // in a batch; the caller may still leave
	waitLead                    // chosen to send its batch: its wake-up is sent or on its way
	waitTaken                   // on the wire: woken when its reply is in
	waitGone                    // taken out unsent, its context having ended
)

var waiters = sync.Pool{New: func() any { return &waiter{ch: make(chan struct{}, 1)} }}

// maxFree bounds the sent batches a node keeps for reuse.
const maxFree = 4

// send delivers cmd through the batcher and returns its outcome.
func (q *batcher) send(ctx context.Context, e *engine, n *node, cmd redis.Cmder) error {
	q.mu.Lock()
	if len(q.queue) == 0 && q.inFlight < e.batch.inFlight {
		q.inFlight++
		q.mu.Unlock()
		err := e.roundTrip(ctx, n, cmd)
		q.release()
		return err
	}
	w := waiters.Get().(*waiter)
	w.ctx, w.cmd, w.size, w.state = ctx, cmd, argsSize(cmd.Args()), waitQueued
	q.enqueue(w, e.batch)
	q.mu.Unlock()
	select {
	case <-w.ch:
	case <-ctx.Done():
		if q.leave(w) {
			return q.done(w)
		}
		<-w.ch
	}
	if w.state == waitLead {
		q.lead(e, n, w)
	}
	return q.done(w)
}

// done returns w's outcome and w to the pool.
func (q *batcher) done(w *waiter) error {
	err := w.cmd.Err()
	w.ctx, w.cmd, w.b = nil, nil, nil
	waiters.Put(w)
	return err
}

// enqueue adds w to the last queued batch, or to a new one when that is
// full; q.mu is held.
func (q *batcher) enqueue(w *waiter, l *batchLimits) {
	var b *batch
	if k := len(q.queue); k > 0 {
		b = q.queue[k-1]
		if len(b.waiters) >= l.commands || b.bytes+w.size > l.bytes {
			b = nil
		}
	}
	if b == nil {
		b = q.newBatch()
		q.queue = append(q.queue, b)
	}
	b.waiters = append(b.waiters, w)
	b.bytes += w.size
	w.b = b
}

func (q *batcher) newBatch() *batch {
	if k := len(q.free); k > 0 {
		b := q.free[k-1]
		q.free = q.free[:k-1]
		return b
	}
	return &batch{}
}

// release frees the caller's slot: the oldest queued batch gets it, and
// its first waiter the wake-up that makes it the batch's sender.
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
	w := b.waiters[0]
	w.state = waitLead
	q.mu.Unlock()
	w.ch <- struct{}{}
}

// leave takes w, whose context ended, out of its batch, and reports
// whether it did: its command then fails not sent. A command already on
// the wire cannot be called back: its caller waits for the reply like the
// others; nor can the batch's chosen sender leave before it is woken.
func (q *batcher) leave(w *waiter) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch w.state {
	case waitGone:
		return true
	case waitQueued:
		q.remove(w)
		return true
	}
	return false
}

// remove takes the queued w out of its batch, failing it not sent, and
// drops the batch if it is left empty (a batch given a slot never is: it
// holds its sender); q.mu is held.
func (q *batcher) remove(w *waiter) {
	b := w.b
	for i, o := range b.waiters {
		if o == w {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			break
		}
	}
	b.bytes -= w.size
	w.state = waitGone
	w.cmd.SetErr(classify.NotSent(context.Cause(w.ctx)))
	if len(b.waiters) > 0 {
		return
	}
	for i, qb := range q.queue {
		if qb == b {
			q.queue = append(q.queue[:i], q.queue[i+1:]...)
			break
		}
	}
	q.recycle(b)
}

// recycle keeps the sent or empty batch b for reuse; q.mu is held.
func (q *batcher) recycle(b *batch) {
	clear(b.waiters)
	b.waiters, b.bytes = b.waiters[:0], 0
	if len(q.free) < maxFree {
		q.free = append(q.free, b)
	}
}

// lead sends w's batch, w having been chosen to. A sender whose own
// context has ended leaves instead, handing the batch to a neighbour, so
// that its caller never waits on strangers' commands.
func (q *batcher) lead(e *engine, n *node, w *waiter) {
	b := w.b
	q.mu.Lock()
	if w.ctx.Err() != nil {
		q.remove(w)
		if len(b.waiters) == 0 {
			q.mu.Unlock()
			q.release()
			return
		}
		next := b.waiters[0]
		next.state = waitLead
		q.mu.Unlock()
		next.ch <- struct{}{}
		return
	}
	taken := q.take(b)
	q.mu.Unlock()
	q.exec(e, n, b, taken)
	// Wake the batch's callers first, then the next batch's sender: the
	// goroutine woken last runs first on this processor.
	for _, o := range taken {
		if o != w {
			o.ch <- struct{}{}
		}
	}
	q.mu.Lock()
	q.recycle(b)
	q.mu.Unlock()
	q.release()
}

// take moves b's waiters into the pipeline, but those whose context has
// ended, which fail not sent; q.mu is held. It returns the waiters taken
// (b's own list, which no longer changes) and sets the pipeline's
// deadline: the latest of theirs.
func (q *batcher) take(b *batch) []*waiter {
	b.ctx = batchContext{bounded: true}
	live := b.waiters[:0]
	for _, o := range b.waiters {
		if o.state != waitLead && o.ctx.Err() != nil {
			o.state = waitGone
			o.cmd.SetErr(classify.NotSent(context.Cause(o.ctx)))
			continue
		}
		o.state = waitTaken
		b.ctx.add(o.ctx)
		live = append(live, o)
	}
	clear(b.waiters[len(live):])
	b.waiters = live
	return live
}

// exec sends the taken commands: one alone, with its caller's context;
// several as one pipeline. Every command gets its own outcome.
func (q *batcher) exec(e *engine, n *node, b *batch, taken []*waiter) {
	if len(taken) == 1 {
		_ = e.roundTrip(taken[0].ctx, n, taken[0].cmd)
		return
	}
	if b.pipe == nil {
		b.pipe = n.client.Pipeline()
	}
	for _, o := range taken {
		_ = b.pipe.Process(o.ctx, o.cmd)
	}
	n.begin(e.now)
	cmds, err := b.pipe.Exec(&b.ctx)
	n.end(e.now())
	unsent(cmds, err)
	if deadlinePassed(&b.ctx, e.now()) {
		// The read ended at the latest of the callers' deadlines: not a
		// failure of the node. Each command's attempt step sees its own
		// deadline and tells the breaker nothing, as for a lone command.
		return
	}
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
