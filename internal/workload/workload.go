package workload

import (
	"context"
	"errors"
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
	pin int // the tag of all its keys; -1: any tag

	errs, inDoubt int64 // errors it saw; read once it has stopped
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

// next returns the seq and value of the worker's next write.
func (w *worker) next() (int, string) {
	w.seq++
	return w.seq, value(w.id, w.seq)
}

func (w *worker) run(ctx context.Context) {
	lat := make([]time.Duration, 0, 4096)
	defer func() {
		w.st.mu.Lock()
		w.st.latencies = append(w.st.latencies, lat...)
		w.st.mu.Unlock()
	}()
	for n := 0; ctx.Err() == nil && (w.cfg.Ops <= 0 || n < w.cfg.Ops); n++ {
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
			w.errs++
			if classify.InDoubt(err) {
				w.st.inDoubt.Add(1)
				w.inDoubt++
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
	r := w.rng.IntN(100)
	if w.cfg.Mix == MixSetIncrGet {
		switch {
		case r < 40:
			return opSet
		case r < 70:
			return opGet
		default:
			return opIncr
		}
	}
	switch {
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
	tag := w.tag()
	ttl := w.cfg.TTL
	switch op {
	case opSet:
		k := w.strKey(tag)
		seq, v := w.next()
		err := w.c.Set(ctx, k, v, ttl).Err()
		w.l.set(k, seq, err)
		return k, err
	case opGet:
		k := w.strKey(tag)
		return k, w.c.Get(ctx, k).Err()
	case opIncr:
		k := w.ctrKey(tag)
		err := w.c.Incr(ctx, k).Err()
		w.l.incr(k, err)
		w.expire(ctx, k)
		return k, err
	case opPipeline:
		keys := make([]string, 8)
		seqs := make([]int, 8)
		cmds, err := w.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range keys {
				var v string
				keys[i] = w.strKey(w.tag())
				seqs[i], v = w.next()
				p.Set(ctx, keys[i], v, ttl)
			}
			return nil
		})
		for i := range keys {
			// A command the client never queued (it gave up first) counts
			// as the pipeline's error.
			cerr := err
			if i < len(cmds) {
				cerr = cmds[i].Err()
			}
			w.l.set(keys[i], seqs[i], cerr)
		}
		return keys[0], err
	case opTx:
		k, ck := w.strKey(tag), w.ctrKey(tag)
		seq, v := w.next()
		_, err := w.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, k, v, ttl)
			p.Incr(ctx, ck)
			if ttl > 0 {
				p.Expire(ctx, ck, ttl)
			}
			return nil
		})
		w.l.set(k, seq, err)
		w.l.incr(ck, err)
		if err == nil && ttl > 0 {
			w.l.expiring[ck] = true
		}
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
			keys[i] = w.strKey(w.tag())
		}
		return keys[0], w.c.MGet(ctx, keys...).Err()
	}
}

// tag picks the tag of a key: the worker's own when it is pinned to one.
func (w *worker) tag() int {
	n := w.rng.IntN(Tags)
	if w.pin >= 0 {
		return w.pin
	}
	return n
}

// expire gives a counter the workload's TTL once: INCR cannot set one, and
// a counter an INCR in doubt created must expire too.
func (w *worker) expire(ctx context.Context, k string) {
	if w.cfg.TTL <= 0 || w.l.expiring[k] {
		return
	}
	if ok, err := w.c.Expire(ctx, k, w.cfg.TTL).Result(); err == nil && ok {
		w.l.expiring[k] = true
	}
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
