package redirect_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
	"github.com/clusterhop/clusterhop/slotmap"
)

func TestMain(m *testing.M) {
	// go-redis's pool, after a run of failed dials, probes the address
	// from a goroutine that sleeps a second between tries and only then
	// sees that its pool was closed: it ends on its own, after the test.
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// fastPolicy keeps the waits of retry tests short; the decisions are the
// default ones.
func fastPolicy() retry.Policy {
	return retry.Policy{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

// keyOn returns a key "{prefixN}" whose slot shard serves; keys that start
// with it share its slot.
func keyOn(t testing.TB, c *clustertest.Cluster, shard int, prefix string) string {
	t.Helper()
	want := c.Primary(shard)
	for i := 0; i < 100000; i++ {
		k := fmt.Sprintf("{%s%d}", prefix, i)
		if c.SlotOwner(slotmap.Slot(k)) == want {
			return k
		}
	}
	t.Fatalf("no key for shard %d", shard)
	return ""
}

// attach returns a plain go-redis client on addr carrying a Hook.
func attach(t testing.TB, addr string, opts redirect.Options) (*redis.Client, *redirect.Hook) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	h, err := redirect.Attach(rdb, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, h.Close())
		require.NoError(t, rdb.Close())
	})
	return rdb, h
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu        sync.Mutex
	redirects []redirect.RedirectEvent
	retries   []redirect.RetryEvent
	giveUps   []redirect.GiveUpEvent
	refreshes []slotmap.RefreshEvent
	seq       []string // "redirect KIND" and "retry KIND", in order
}

func (r *recorder) observer() redirect.Observer {
	return redirect.Observer{
		Redirect: func(e redirect.RedirectEvent) {
			r.mu.Lock()
			r.redirects = append(r.redirects, e)
			r.seq = append(r.seq, "redirect "+e.Kind.String())
			r.mu.Unlock()
		},
		Retry: func(e redirect.RetryEvent) {
			r.mu.Lock()
			r.retries = append(r.retries, e)
			r.seq = append(r.seq, "retry "+e.Kind.String())
			r.mu.Unlock()
		},
		GiveUp:  func(e redirect.GiveUpEvent) { r.mu.Lock(); r.giveUps = append(r.giveUps, e); r.mu.Unlock() },
		Refresh: func(e slotmap.RefreshEvent) { r.mu.Lock(); r.refreshes = append(r.refreshes, e); r.mu.Unlock() },
	}
}

func (r *recorder) counts() (redirects, retries, giveUps int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.redirects), len(r.retries), len(r.giveUps)
}

// sequence returns the redirects and retries heard, in order.
func (r *recorder) sequence() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seq...)
}
