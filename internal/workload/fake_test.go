package workload_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
)

// write is one write a command asks for.
type write struct {
	op       string // "set" or "incr"
	key, val string
}

// fault is what the client under test does wrong. do carries out the
// writes of one command, or of one transaction (all of them or none), by
// calling s.apply zero or more times, now or later, and returns what the
// caller is told.
type fault interface {
	do(s *store, ws []write) error
}

// ender is a fault with something left to do once the workload has
// stopped: a write that runs late, after every other write of its key.
type ender interface {
	end(s *store)
}

var (
	// errInDoubt is a failure after the request was sent: the write may
	// have run.
	errInDoubt = &classify.ClientError{Kind: classify.KindTimeout, Sent: true, Err: os.ErrDeadlineExceeded}
	// errRefused is an error reply: the write did not run.
	errRefused = classify.Parse("CLUSTERDOWN The cluster is down")
)

// store is the fake's data: string keys and counters.
type store struct {
	data map[string]string
}

func (s *store) apply(w write) {
	switch w.op {
	case "set":
		s.data[w.key] = w.val
	case "incr":
		n, _ := strconv.ParseInt(s.data[w.key], 10, 64)
		s.data[w.key] = strconv.FormatInt(n+1, 10)
	}
}

// honest runs every write once and says so.
type honest struct{}

func (honest) do(s *store, ws []write) error {
	for _, w := range ws {
		s.apply(w)
	}
	return nil
}

// fakeClient is the client under test of the ledger's tests: it runs the
// workload's commands on a map, its fault deciding what each write does
// and what its caller hears. Reads are always true.
type fakeClient struct {
	redis.UniversalClient // nil: the workload calls only the methods below

	mu    sync.Mutex // protects s and fault's state
	s     store
	fault fault
}

func newFake(f fault) *fakeClient {
	return &fakeClient{s: store{data: map[string]string{}}, fault: f}
}

// end lets the fault finish (a late write), once the workload has stopped.
func (f *fakeClient) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.fault.(ender); ok {
		e.end(&f.s)
	}
}

func (f *fakeClient) do(ws ...write) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fault.do(&f.s, ws)
}

func (f *fakeClient) read(key string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.s.data[key]
	return v, ok
}

func (f *fakeClient) Set(ctx context.Context, key string, v any, _ time.Duration) *redis.StatusCmd {
	cmd := redis.NewStatusCmd(ctx, "set", key, v)
	runStatus(cmd, f.do(write{op: "set", key: key, val: v.(string)}))
	return cmd
}

func (f *fakeClient) Incr(ctx context.Context, key string) *redis.IntCmd {
	cmd := redis.NewIntCmd(ctx, "incr", key)
	if err := f.do(write{op: "incr", key: key}); err != nil {
		cmd.SetErr(err)
	}
	return cmd
}

func (f *fakeClient) Get(ctx context.Context, key string) *redis.StringCmd {
	cmd := redis.NewStringCmd(ctx, "get", key)
	if v, ok := f.read(key); ok {
		cmd.SetVal(v)
	} else {
		cmd.SetErr(redis.Nil)
	}
	return cmd
}

func (f *fakeClient) MGet(ctx context.Context, keys ...string) *redis.SliceCmd {
	cmd := redis.NewSliceCmd(ctx, "mget")
	vals := make([]any, len(keys))
	for i, k := range keys {
		if v, ok := f.read(k); ok {
			vals[i] = v
		}
	}
	cmd.SetVal(vals)
	return cmd
}

func (f *fakeClient) Expire(ctx context.Context, key string, _ time.Duration) *redis.BoolCmd {
	cmd := redis.NewBoolCmd(ctx, "expire", key)
	_, ok := f.read(key)
	cmd.SetVal(ok)
	return cmd
}

func (f *fakeClient) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	cmd := redis.NewIntCmd(ctx, "del")
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for _, k := range keys {
		if _, ok := f.s.data[k]; ok {
			delete(f.s.data, k)
			n++
		}
	}
	cmd.SetVal(n)
	return cmd
}

func (f *fakeClient) Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	p := &fakePipe{ctx: ctx}
	if err := fn(p); err != nil {
		return nil, err
	}
	var first error
	for _, q := range p.queued {
		if err := q.run(f); err != nil && first == nil {
			first = err
		}
	}
	return p.cmds(), first
}

// TxPipelined runs the queued writes as one: all or none, one answer.
func (f *fakeClient) TxPipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	p := &fakePipe{ctx: ctx}
	if err := fn(p); err != nil {
		return nil, err
	}
	var ws []write
	for _, q := range p.queued {
		if q.w.op != "" {
			ws = append(ws, q.w)
		}
	}
	err := f.do(ws...)
	for _, q := range p.queued {
		switch cmd := q.cmd.(type) {
		case *redis.StatusCmd:
			runStatus(cmd, err)
		case *redis.BoolCmd:
			if err != nil {
				cmd.SetErr(err)
			} else {
				cmd.SetVal(true)
			}
		default:
			if err != nil {
				cmd.SetErr(err)
			}
		}
	}
	return p.cmds(), err
}

func runStatus(cmd *redis.StatusCmd, err error) {
	if err != nil {
		cmd.SetErr(err)
		return
	}
	cmd.SetVal("OK")
}

// fakePipe queues the commands of a pipeline or transaction.
type fakePipe struct {
	redis.Pipeliner // nil: the workload queues only the commands below

	ctx    context.Context
	queued []queued
}

// queued is one command of a pipeline: a write, or a read or key command
// run through the client as it is.
type queued struct {
	cmd redis.Cmder
	w   write
	run func(f *fakeClient) error
}

func (p *fakePipe) cmds() []redis.Cmder {
	out := make([]redis.Cmder, len(p.queued))
	for i, q := range p.queued {
		out[i] = q.cmd
	}
	return out
}

func (p *fakePipe) Set(ctx context.Context, key string, v any, _ time.Duration) *redis.StatusCmd {
	cmd := redis.NewStatusCmd(ctx, "set", key, v)
	w := write{op: "set", key: key, val: v.(string)}
	p.queued = append(p.queued, queued{cmd: cmd, w: w, run: func(f *fakeClient) error {
		err := f.do(w)
		runStatus(cmd, err)
		return err
	}})
	return cmd
}

func (p *fakePipe) Incr(ctx context.Context, key string) *redis.IntCmd {
	cmd := redis.NewIntCmd(ctx, "incr", key)
	w := write{op: "incr", key: key}
	p.queued = append(p.queued, queued{cmd: cmd, w: w, run: func(f *fakeClient) error {
		err := f.do(w)
		if err != nil {
			cmd.SetErr(err)
		}
		return err
	}})
	return cmd
}

func (p *fakePipe) Get(ctx context.Context, key string) *redis.StringCmd {
	cmd := redis.NewStringCmd(ctx, "get", key)
	p.queued = append(p.queued, queued{cmd: cmd, run: func(f *fakeClient) error {
		*cmd = *f.Get(ctx, key)
		return cmd.Err()
	}})
	return cmd
}

func (p *fakePipe) Expire(ctx context.Context, key string, ttl time.Duration) *redis.BoolCmd {
	cmd := redis.NewBoolCmd(ctx, "expire", key)
	p.queued = append(p.queued, queued{cmd: cmd, run: func(f *fakeClient) error {
		*cmd = *f.Expire(ctx, key, ttl)
		return nil
	}})
	return cmd
}

func (p *fakePipe) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	cmd := redis.NewIntCmd(ctx, "del")
	p.queued = append(p.queued, queued{cmd: cmd, run: func(f *fakeClient) error {
		*cmd = *f.Del(ctx, keys...)
		return nil
	}})
	return cmd
}
