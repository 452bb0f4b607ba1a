// Package clients_test runs the Hook and the Client of package redirect,
// side by side with go-redis's ClusterClient, against a real cluster: every
// slot range, live slot migration (real ASK and TRYAGAIN), resharding of
// thousands of slots, and a primary killed with SIGKILL.
package clients_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

var shared = cluster.NewShared(cluster.Config{Primaries: 3, ReplicasPerPrimary: 1, NodeTimeout: 2 * time.Second})

func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }

// kinds counts the events an Observer hears, by kind.
type kinds struct {
	redirects [64]atomic.Int64
	retries   [64]atomic.Int64
}

func (k *kinds) observer() redirect.Observer {
	return redirect.Observer{
		Redirect: func(e redirect.RedirectEvent) { k.redirects[e.Kind%64].Add(1) },
		Retry:    func(e redirect.RetryEvent) { k.retries[e.Kind%64].Add(1) },
	}
}

func (k *kinds) redirected(kind classify.Kind) int64 { return k.redirects[kind].Load() }
func (k *kinds) retried(kind classify.Kind) int64    { return k.retries[kind].Load() }

// newClient returns a redirect.Client of c, closed when the test ends.
func newClient(t testing.TB, c *cluster.Cluster, opts redirect.Options) *redirect.Client {
	t.Helper()
	opts.Seeds = []string{c.Primaries()[0]}
	cl, err := redirect.NewClient(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// hooked returns a plain go-redis client on addr with a Hook attached.
func hooked(t testing.TB, addr string, opts redirect.Options) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	h, err := redirect.Attach(rdb, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = h.Close()
		_ = rdb.Close()
	})
	return rdb
}

// tagOn returns a hash tag "{prefixN}" whose slot the primary at addr serves.
func tagOn(t testing.TB, c *cluster.Cluster, addr, prefix string) string {
	t.Helper()
	for i := 0; i < 100000; i++ {
		tag := "{" + prefix + strconv.Itoa(i) + "}"
		if c.Owner(slotmap.Slot(tag)) == addr {
			return tag
		}
	}
	t.Fatalf("no tag served by %s", addr)
	return ""
}

// slotLoad runs GET, SET, INCR and same-slot MGET on the keys of one tag
// from several goroutines until stop is closed, and reports every error.
type slotLoad struct {
	wg     sync.WaitGroup
	stop   chan struct{}
	ops    atomic.Int64
	errs   atomic.Int64
	mu     sync.Mutex
	sample []string
	incrs  []atomic.Int64 // acknowledged INCRs per goroutine
	lastOK []atomic.Int64 // last acknowledged SET value per goroutine
}

func startSlotLoad(c redis.UniversalClient, tag string, workers int) *slotLoad {
	l := &slotLoad{stop: make(chan struct{}), incrs: make([]atomic.Int64, workers), lastOK: make([]atomic.Int64, workers)}
	ctx := context.Background()
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			sk, ck := tag+"s"+strconv.Itoa(w), tag+"c"+strconv.Itoa(w)
			for i := 1; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				octx, cancel := context.WithTimeout(ctx, 8*time.Second)
				var err error
				switch i % 4 {
				case 0:
					if err = c.Set(octx, sk, i, 0).Err(); err == nil {
						l.lastOK[w].Store(int64(i))
					}
				case 1:
					err = c.Get(octx, sk).Err()
				case 2:
					if err = c.Incr(octx, ck).Err(); err == nil {
						l.incrs[w].Add(1)
					}
				case 3:
					err = c.MGet(octx, sk, ck).Err()
				}
				cancel()
				l.ops.Add(1)
				if err != nil && err != redis.Nil { //nolint:errorlint // go-redis returns redis.Nil unwrapped
					l.errs.Add(1)
					l.mu.Lock()
					if len(l.sample) < 5 {
						l.sample = append(l.sample, err.Error())
					}
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

func (l *slotLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// check reads back what the load acknowledged: each SET key holds its last
// acknowledged value, each counter its acknowledged increments.
func (l *slotLoad) check(t *testing.T, c redis.UniversalClient, tag string) {
	t.Helper()
	ctx := context.Background()
	for w := range l.incrs {
		if v := l.lastOK[w].Load(); v > 0 {
			got, err := c.Get(ctx, tag+"s"+strconv.Itoa(w)).Int64()
			require.NoError(t, err)
			require.Equal(t, v, got, "last acknowledged SET of worker %d", w)
		}
		got, err := c.Get(ctx, tag+"c"+strconv.Itoa(w)).Int64()
		if err != redis.Nil { //nolint:errorlint // go-redis returns redis.Nil unwrapped
			require.NoError(t, err)
		}
		require.Equal(t, l.incrs[w].Load(), got, "acknowledged INCRs of worker %d", w)
	}
}
