package clients_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// keyPerSlot returns one key for each hash slot, all starting with prefix.
func keyPerSlot(prefix string) []string {
	keys := make([]string, slotmap.SlotCount)
	left := slotmap.SlotCount
	for i := 0; left > 0; i++ {
		k := prefix + strconv.Itoa(i)
		if s := slotmap.Slot(k); keys[s] == "" {
			keys[s] = k
			left--
		}
	}
	return keys
}

// writer sets its keys in pipelines of writeBatch, round after round, until
// stopped, and remembers for each key the last value acknowledged and the
// last one sent.
type writer struct {
	rdb       redis.UniversalClient
	keys      []string
	acked     []int64 // by key index; the value of the last SET that returned OK
	attempted []int64 // by key index; the value of the last SET sent
	ops, errs atomic.Int64
	mu        sync.Mutex // protects sample
	sample    []string
}

const writeBatch = 128

func newWriter(rdb redis.UniversalClient, keys []string) *writer {
	return &writer{rdb: rdb, keys: keys, acked: make([]int64, len(keys)), attempted: make([]int64, len(keys))}
}

// run writes until stop is closed, at least one whole round.
func (w *writer) run(stop <-chan struct{}) {
	ctx := context.Background()
	for round := int64(1); ; round++ {
		for lo := 0; lo < len(w.keys); lo += writeBatch {
			hi := min(lo+writeBatch, len(w.keys))
			cmds, _ := w.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i := lo; i < hi; i++ {
					w.attempted[i] = round
					p.Set(ctx, w.keys[i], round, 0)
				}
				return nil
			})
			for j, cmd := range cmds {
				w.ops.Add(1)
				if err := cmd.Err(); err != nil {
					w.fail(err)
					continue
				}
				w.acked[lo+j] = round
			}
		}
		select {
		case <-stop:
			return
		default:
		}
	}
}

func (w *writer) fail(err error) {
	w.errs.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.sample) < 5 {
		w.sample = append(w.sample, err.Error())
	}
}

// check reads every key through rdb (pipelined) and reports the keys whose
// value is neither the last acknowledged one nor a later one sent.
func (w *writer) check(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range w.keys {
			p.Get(ctx, k)
		}
		return nil
	})
	require.NoError(t, err)
	var bad []string
	for i, cmd := range cmds {
		v, err := cmd.(*redis.StringCmd).Int64()
		if err != nil || v < w.acked[i] || v > w.attempted[i] {
			bad = append(bad, fmt.Sprintf("%s: acked %d, sent %d, read %d (%v)", w.keys[i], w.acked[i], w.attempted[i], v, err))
		}
	}
	assert.Empty(t, bad, "%d keys do not hold their last write, e.g. %s", len(bad), strings.Join(bad[:min(len(bad), 5)], "; "))
}

// TestIPv6ClientAndHookAcrossReshard runs the Client and a Hook on a
// cluster bound to ::1, whose MOVED and ASK replies and CLUSTER SHARDS name
// IPv6 addresses without brackets ("::1:7000"). Each writes a key in every
// slot before, during and after a live "redis-cli --cluster reshard" of
// 200 slots, and every key is read back through both.
func TestIPv6ClientAndHookAcrossReshard(t *testing.T) {
	cluster.ForEachServer(t, func(t *testing.T, srv cluster.Server) {
		// No failover here: a long node timeout keeps a node slowed by a
		// loaded machine from being marked failing mid-reshard.
		c := cluster.StartForTest(t, cluster.Config{Server: srv.Binary, Primaries: 3, Host: "::1", NodeTimeout: 10 * time.Second})
		var kc, kh kinds
		cl := newClient(t, c, redirect.Options{Observer: kc.observer()})
		rdb := hooked(t, c.Primaries()[1], redirect.Options{Observer: kh.observer()})
		require.Contains(t, c.Primaries()[1], "[::1]:")

		viaClient := newWriter(cl, keyPerSlot("v6c:"))
		viaHook := newWriter(rdb, keyPerSlot("v6h:"))

		// Before: one whole round each, then every key read back through
		// both.
		closed := make(chan struct{})
		close(closed)
		viaClient.run(closed)
		viaHook.run(closed)
		for _, w := range []*writer{viaClient, viaHook} {
			require.Zero(t, w.errs.Load(), "errors before the reshard: %v", w.sample)
			w.check(t, cl)
			w.check(t, rdb)
		}
		assert.Positive(t, kh.redirected(classify.KindMoved), "the Hook followed MOVED to IPv6 addresses")

		// During: both keep writing while redis-cli moves 200 slots, keys
		// and all.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, w := range []*writer{viaClient, viaHook} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(stop)
			}()
		}
		from, to := c.Primaries()[0], c.Primaries()[2]
		err := c.Reshard(t.Context(), 200, from, to)
		close(stop)
		wg.Wait()
		require.NoError(t, err)

		// After: every key holds its last write, through both; then one
		// more round on the new layout.
		for _, w := range []*writer{viaClient, viaHook} {
			assert.Zero(t, w.errs.Load(), "errors reached the application: %v", w.sample)
			w.check(t, cl)
			w.check(t, rdb)
		}
		viaClient.run(closed)
		viaHook.run(closed)
		for _, w := range []*writer{viaClient, viaHook} {
			assert.Zero(t, w.errs.Load(), "errors after the reshard: %v", w.sample)
			w.check(t, cl)
			w.check(t, rdb)
		}
		assert.Positive(t, kc.redirected(classify.KindMoved)+kc.redirected(classify.KindAsk), "the Client met the reshard")
		t.Logf("Client: %d SETs, MOVED %d, ASK %d, TRYAGAIN retries %d; Hook: %d SETs, MOVED %d, ASK %d, TRYAGAIN retries %d",
			viaClient.ops.Load(), kc.redirected(classify.KindMoved), kc.redirected(classify.KindAsk), kc.retried(classify.KindTryAgain),
			viaHook.ops.Load(), kh.redirected(classify.KindMoved), kh.redirected(classify.KindAsk), kh.retried(classify.KindTryAgain))
	})
}
