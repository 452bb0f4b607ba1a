package slotmap

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestConcurrentPatchRefreshLoad runs patches, refreshes, requests and
// lookups at once on real time, for the race detector; every published view
// must stay consistent and Close must leave no goroutine behind.
func TestConcurrentPatchRefreshLoad(t *testing.T) {
	defer goleak.VerifyNone(t)
	views := []*Topology{
		three(t, "a:1", "b:1", "c:1"),
		three(t, "b:1", "c:1", "a:1"),
		three(t, "c:1", "a:1", "d:1"),
	}
	var fetches atomic.Int64
	m, err := NewMap(Config{
		Seeds: []string{"a:1"},
		Fetch: func(ctx context.Context, addr string) (*Topology, error) {
			n := fetches.Add(1)
			return views[n%int64(len(views))], nil
		},
		MinInterval: time.Millisecond,
		Jitter:      time.Millisecond,
		Periodic:    time.Millisecond,
	})
	require.NoError(t, err)

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			addrs := []string{"a:1", "b:1", "c:1", "d:1", "e:1"}
			n := 500
			if w%4 == 1 {
				n = 50 // each waits for a rate-limited fetch
			}
			for i := range n {
				switch w % 4 {
				case 0:
					m.Patch(r.IntN(SlotCount), addrs[r.IntN(len(addrs))])
				case 1:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(3))*time.Millisecond)
					_ = m.Refresh(ctx, ReasonManual)
					cancel()
				case 2:
					m.RequestRefresh(ReasonMoved)
				case 3:
					top := m.Load()
					slot := r.IntN(SlotCount)
					if s, err := top.Shard(slot); err == nil {
						if !assert.True(t, s.Primary.Addr != "" && top.Has(s.Primary.Addr)) {
							return
						}
					}
					if i%100 == 0 && top != nil {
						checkInvariants(t, top)
					}
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, m.Close())
	assert.Positive(t, fetches.Load())
	checkInvariants(t, m.Load())
}
