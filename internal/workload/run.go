package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config shapes a workload. Every zero value is a default.
type Config struct {
	// Workers is the number of goroutines sharing the client (default 16).
	Workers int
	// Seed seeds each worker's choice of operations and keys: the same
	// seed gives each worker the same sequence.
	Seed uint64
	// OpTimeout is each operation's deadline, as an application would set
	// it (default 8s).
	OpTimeout time.Duration
	// Prefix goes inside every hash tag, so that workloads with different
	// prefixes never share a key. Against a cluster that keeps its data
	// between runs, give each run its own (UniquePrefix): a run that meets
	// the counters of an earlier one reports them as duplicated writes.
	Prefix string
	// TTL, when positive, expires every key the workload writes that long
	// after its last write, so that a run that never reaches Cleanup
	// leaves nothing behind for good. Default 0: keys do not expire.
	TTL time.Duration
	// Ops, when positive, stops each worker after that many operations,
	// whether or not ctx has ended. Default 0: run until ctx ends.
	Ops int
	// CrossSlotMGet makes half the MGETs ask for keys of four slots, which
	// a cluster client must split by slot (go-redis's ClusterClient refuses
	// them with CROSSSLOT). Default false: every MGET is of one slot.
	CrossSlotMGet bool
	// Mix is the operations the workers choose from. Default MixAll.
	Mix Mix
	// Pinned adds one worker per entry that keeps to the keys of that tag
	// (see TagKey) instead of spreading over all of them: a writer on the
	// slot of one node, say. They come after the Workers, with ids from
	// Workers on.
	Pinned []int
	// Observe, when set, hears each operation's outcome, on the worker's
	// goroutine. Errors are nil for redis.Nil.
	Observe func(Result)
}

// Mix is a set of operations a workload chooses from.
type Mix uint8

const (
	// MixAll is SET 35%, GET 25%, INCR 15%, an 8-SET pipeline 10%, a
	// SET+INCR transaction 10%, MGET 5%.
	MixAll Mix = iota
	// MixSetIncrGet is SET 40%, GET 30%, INCR 30%: single commands only.
	MixSetIncrGet
)

// Result is one operation's outcome.
type Result struct {
	Op   string // set, get, incr, pipeline, transaction, mget
	Key  string // the key it is about (the first one, for several)
	Err  error
	At   time.Time // when it started
	Took time.Duration
}

// Summary is what a finished workload did.
type Summary struct {
	Operations     int64              `json:"operations"`
	ByOperation    map[string]int64   `json:"by_operation"`
	SurfacedErrors int64              `json:"surfaced_errors"`
	InDoubtErrors  int64              `json:"in_doubt_errors"`
	ErrorSamples   map[string]int64   `json:"error_samples,omitempty"`
	LatencyMs      map[string]float64 `json:"latency_ms"`
	// MaxWorkerErrors and MaxWorkerInDoubt are the most errors, and the
	// most in-doubt errors, any one worker saw.
	MaxWorkerErrors  int64 `json:"max_worker_errors"`
	MaxWorkerInDoubt int64 `json:"max_worker_in_doubt"`
}

// Run is a workload under way.
type Run struct {
	st      *stats
	ledgers []*ledger
	workers []*worker
	wg      sync.WaitGroup
}

// Start runs the workload on c until ctx ends (or each worker has done
// cfg.Ops operations).
func Start(ctx context.Context, c redis.UniversalClient, cfg Config) *Run {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 8 * time.Second
	}
	n := cfg.Workers + len(cfg.Pinned)
	r := &Run{st: &stats{}, ledgers: make([]*ledger, n), workers: make([]*worker, n)}
	for i := range r.ledgers {
		r.ledgers[i] = newLedger(i)
		w := &worker{id: i, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), c: c, l: r.ledgers[i], st: r.st, cfg: &cfg, pin: -1}
		if i >= cfg.Workers {
			w.pin = cfg.Pinned[i-cfg.Workers]
		}
		r.workers[i] = w
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			w.run(ctx)
		}()
	}
	return r
}

// Ops returns the operations done so far.
func (r *Run) Ops() int64 { return r.st.ops.Load() }

// Errors returns the errors surfaced so far.
func (r *Run) Errors() int64 { return r.st.surfaced.Load() }

// Wait waits for the workers to stop (once ctx has ended) and sums up.
func (r *Run) Wait() Summary {
	r.wg.Wait()
	p50, p90, p99, pmax := Percentiles(r.st.latencies)
	s := Summary{
		Operations: r.st.ops.Load(), ByOperation: map[string]int64{},
		SurfacedErrors: r.st.surfaced.Load(), InDoubtErrors: r.st.inDoubt.Load(),
		LatencyMs: map[string]float64{"p50": p50, "p90": p90, "p99": p99, "max": pmax},
	}
	for i, n := range opNames {
		s.ByOperation[n] = r.st.byOp[i].Load()
	}
	for _, w := range r.workers {
		s.MaxWorkerErrors = max(s.MaxWorkerErrors, w.errs)
		s.MaxWorkerInDoubt = max(s.MaxWorkerInDoubt, w.inDoubt)
	}
	r.st.samples.Range(func(k, n any) bool {
		if s.ErrorSamples == nil {
			s.ErrorSamples = map[string]int64{}
		}
		s.ErrorSamples[k.(string)] = n.(*atomic.Int64).Load()
		return true
	})
	return s
}

// Verify reads back, through c, every key any of the workload's writes
// touched, whatever it was told of them (call it after Wait): see Verdict.
func (r *Run) Verify(ctx context.Context, c redis.UniversalClient) (Verdict, error) {
	return verify(ctx, c, r.ledgers)
}

// Cleanup waits for the workers to stop (once ctx has ended), deletes,
// through c, every key any of the workload's writes touched, and returns
// how many existed. Call it after Verify. It deletes nothing else: the
// workload's keys are all under its Prefix.
func (r *Run) Cleanup(ctx context.Context, c redis.UniversalClient) (int64, error) {
	r.wg.Wait()
	var deleted int64
	for _, l := range r.ledgers {
		keys := l.keys()
		for len(keys) > 0 {
			batch := keys[:min(readBatch, len(keys))]
			keys = keys[len(batch):]
			cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range batch {
					// One DEL per key: the keys of a batch span slots.
					p.Del(ctx, k)
				}
				return nil
			})
			for _, cmd := range cmds {
				if n, ok := cmd.(*redis.IntCmd); ok {
					deleted += n.Val()
				}
			}
			if err != nil {
				return deleted, fmt.Errorf("deleting the workload's keys: %w", err)
			}
		}
	}
	return deleted, nil
}

// UniquePrefix returns a Prefix no other run shares: name, the time and a
// random number.
func UniquePrefix(name string) string {
	return name + "-" + strconv.FormatInt(time.Now().UnixMilli(), 36) + "-" + strconv.FormatUint(rand.Uint64()&0xffffffff, 36) + ":"
}
