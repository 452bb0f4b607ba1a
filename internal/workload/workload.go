// Package workload is the mixed read/write load that the demo, the
// integration tests and the benchmark run against a cluster, with a ledger
// of what was acknowledged so that lost and duplicated writes can be found
// afterwards.
package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
)

// Tags is the number of hash tags the workload spreads its keys over; each
// worker's keys under one tag share a slot, so transactions and MGETs of a
// tag are legal, and the tags spread over every shard. Few enough that the
// slots the demo migrates see traffic all the time.
const Tags = 512

// ledger is what one worker knows it wrote: the last acknowledged value of
// each of its keys, the values written in doubt since, and its counters'
// acknowledged and in-doubt increments. Only its worker touches it until
// the final check.
type ledger struct {
	acked   map[string]string
	doubts  map[string][]string
	incrs   map[string]int64
	incrsIn map[string]int64
}

func newLedger() *ledger {
	return &ledger{acked: map[string]string{}, doubts: map[string][]string{},
		incrs: map[string]int64{}, incrsIn: map[string]int64{}}
}

func (l *ledger) set(key, val string, err error) {
	switch {
	case err == nil:
		l.acked[key] = val
		delete(l.doubts, key)
	case classify.InDoubt(err):
		l.doubts[key] = append(l.doubts[key], val)
	}
}

func (l *ledger) incr(key string, err error) {
	switch {
	case err == nil:
		l.incrs[key]++
	case classify.InDoubt(err):
		l.incrsIn[key]++
	}
}

// stats are the workload's shared counters.
type stats struct {
	ops      atomic.Int64
	byOp     [opCount]atomic.Int64
	surfaced atomic.Int64 // errors returned to the application
	inDoubt  atomic.Int64 // of which the command may have run
	samples  sync.Map     // error text → count, a few for the report

	mu        sync.Mutex // protects latencies
	latencies []time.Duration
}

type opKind int

const (
	opSet opKind = iota
	opGet
	opIncr
	opPipeline
	opTx
	opMGet
	opCount
)

var opNames = [opCount]string{"set", "get", "incr", "pipeline", "transaction", "mget"}

// worker runs one client's share of the workload until ctx ends.
type worker struct {
	id  int
	rng *rand.Rand
	c   redis.UniversalClient
	l   *ledger
	st  *stats
	seq int
	cfg *Config
}

// TagKey returns the hash tag of tag n of a workload with prefix: the
// workload's keys under it share its slot.
func TagKey(prefix string, n int) string {
	return "{" + prefix + "t" + strconv.Itoa(n) + "}"
}

func (w *worker) strKey(tag int) string {
	return TagKey(w.cfg.Prefix, tag) + ":s:" + strconv.Itoa(w.id)
}

func (w *worker) ctrKey(tag int) string {
	return TagKey(w.cfg.Prefix, tag) + ":c:" + strconv.Itoa(w.id)
}

func (w *worker) next() string {
	w.seq++
	return strconv.Itoa(w.id) + "-" + strconv.Itoa(w.seq)
}

func (w *worker) run(ctx context.Context) {
	lat := make([]time.Duration, 0, 4096)
	defer func() {
		w.st.mu.Lock()
		w.st.latencies = append(w.st.latencies, lat...)
		w.st.mu.Unlock()
	}()
	for ctx.Err() == nil {
		op := w.pick()
		octx, cancel := context.WithTimeout(context.Background(), w.cfg.OpTimeout)
		start := time.Now()
		key, err := w.do(octx, op)
		took := time.Since(start)
		lat = append(lat, took)
		cancel()
		w.st.ops.Add(1)
		w.st.byOp[op].Add(1)
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		if w.cfg.Observe != nil {
			w.cfg.Observe(Result{Op: opNames[op], Key: key, Err: err, At: start, Took: took})
		}
		if err != nil {
			w.st.surfaced.Add(1)
			if classify.InDoubt(err) {
				w.st.inDoubt.Add(1)
			}
			text := err.Error()
			if len(text) > 160 {
				text = text[:160] + "…"
			}
			n, _ := w.st.samples.LoadOrStore(text, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
	}
}

func (w *worker) pick() opKind {
	switch r := w.rng.IntN(100); {
	case r < 35:
		return opSet
	case r < 60:
		return opGet
	case r < 75:
		return opIncr
	case r < 85:
		return opPipeline
	case r < 95:
		return opTx
	default:
		return opMGet
	}
}

// do runs one operation, records what it wrote, and returns the key it is
// about (the first, for several) and its error.
func (w *worker) do(ctx context.Context, op opKind) (string, error) {
	tag := w.rng.IntN(Tags)
	switch op {
	case opSet:
		k, v := w.strKey(tag), w.next()
		err := w.c.Set(ctx, k, v, 0).Err()
		w.l.set(k, v, err)
		return k, err
	case opGet:
		k := w.strKey(tag)
		return k, w.c.Get(ctx, k).Err()
	case opIncr:
		k := w.ctrKey(tag)
		err := w.c.Incr(ctx, k).Err()
		w.l.incr(k, err)
		return k, err
	case opPipeline:
		keys := make([]string, 8)
		vals := make([]string, 8)
		cmds, err := w.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range keys {
				keys[i], vals[i] = w.strKey(w.rng.IntN(Tags)), w.next()
				p.Set(ctx, keys[i], vals[i], 0)
			}
			return nil
		})
		for i, c := range cmds {
			w.l.set(keys[i], vals[i], c.Err())
		}
		return keys[0], err
	case opTx:
		k, ck, v := w.strKey(tag), w.ctrKey(tag), w.next()
		_, err := w.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, k, v, 0)
			p.Incr(ctx, ck)
			return nil
		})
		w.l.set(k, v, err)
		w.l.incr(ck, err)
		return k, err
	default:
		if !w.cfg.CrossSlotMGet || w.rng.IntN(2) == 0 {
			// Two keys of one slot: while the slot migrates and its keys
			// are split between the nodes, the server answers TRYAGAIN.
			k := w.strKey(tag)
			return k, w.c.MGet(ctx, k, w.ctrKey(tag)).Err()
		}
		// Keys of four slots: the client splits the MGET by slot.
		keys := make([]string, 4)
		for i := range keys {
			keys[i] = w.strKey(w.rng.IntN(Tags))
		}
		return keys[0], w.c.MGet(ctx, keys...).Err()
	}
}

// Verdict is the final check of what the workload acknowledged.
type Verdict struct {
	Checked    int      `json:"checked"`
	Lost       int      `json:"lost"`
	Duplicated int      `json:"duplicated"`
	Problems   []string `json:"problems,omitempty"`
}

// verify reads back every key the workers wrote: a string key must hold its
// last acknowledged value (or a value written in doubt since); a counter
// must hold its acknowledged increments plus at most its in-doubt ones —
// fewer is a lost write, more a command that ran twice.
func verify(ctx context.Context, c redis.UniversalClient, ledgers []*ledger) (Verdict, error) {
	var v Verdict
	note := func(format string, args ...any) {
		if len(v.Problems) < 20 {
			v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
		}
	}
	for _, l := range ledgers {
		keys := make([]string, 0, len(l.acked)+len(l.doubts))
		for k := range l.acked {
			keys = append(keys, k)
		}
		for k := range l.doubts {
			if _, ok := l.acked[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			got, err := c.Get(ctx, k).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return v, fmt.Errorf("reading back %s: %w", k, err)
			}
			v.Checked++
			want, acked := l.acked[k]
			if acked && got == want {
				continue
			}
			if contains(l.doubts[k], got) || (!acked && errors.Is(err, redis.Nil)) {
				continue
			}
			v.Lost++
			note("%s holds %q, last acknowledged %q (in doubt since: %v)", k, got, want, l.doubts[k])
		}
		for k, n := range l.incrs {
			got, err := c.Get(ctx, k).Int64()
			if err != nil && !errors.Is(err, redis.Nil) {
				return v, fmt.Errorf("reading back %s: %w", k, err)
			}
			v.Checked++
			switch maxN := n + l.incrsIn[k]; {
			case got < n:
				v.Lost++
				note("%s = %d, but %d increments were acknowledged", k, got, n)
			case got > maxN:
				v.Duplicated++
				note("%s = %d, more than %d acknowledged + %d in doubt: an increment ran twice", k, got, n, l.incrsIn[k])
			}
		}
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Percentiles returns p50, p90, p99 and the maximum of lat, in milliseconds.
func Percentiles(lat []time.Duration) (p50, p90, p99, maxMs float64) {
	if len(lat) == 0 {
		return 0, 0, 0, 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / 1e6
	}
	return at(0.50), at(0.90), at(0.99), float64(lat[len(lat)-1]) / 1e6
}
