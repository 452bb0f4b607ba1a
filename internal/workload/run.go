package workload

import (
	"context"
	"math/rand/v2"
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
	// prefixes never share a key.
	Prefix string
	// CrossSlotMGet makes half the MGETs ask for keys of four slots, which
	// a cluster client must split by slot (go-redis's ClusterClient refuses
	// them with CROSSSLOT). Default false: every MGET is of one slot.
	CrossSlotMGet bool
	// Observe, when set, hears each operation's outcome, on the worker's
	// goroutine. Errors are nil for redis.Nil.
	Observe func(Result)
}

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
}

// Run is a workload under way.
type Run struct {
	st      *stats
	ledgers []*ledger
	wg      sync.WaitGroup
}

// Start runs the workload on c until ctx ends.
func Start(ctx context.Context, c redis.UniversalClient, cfg Config) *Run {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 8 * time.Second
	}
	r := &Run{st: &stats{}, ledgers: make([]*ledger, cfg.Workers)}
	for i := range r.ledgers {
		r.ledgers[i] = newLedger()
		w := &worker{id: i, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), c: c, l: r.ledgers[i], st: r.st, cfg: &cfg}
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
	r.st.samples.Range(func(k, n any) bool {
		if s.ErrorSamples == nil {
			s.ErrorSamples = map[string]int64{}
		}
		s.ErrorSamples[k.(string)] = n.(*atomic.Int64).Load()
		return true
	})
	return s
}

// Verify reads back, through c, every key the workload wrote (call it after
// Wait): see Verdict.
func (r *Run) Verify(ctx context.Context, c redis.UniversalClient) (Verdict, error) {
	return verify(ctx, c, r.ledgers)
}
