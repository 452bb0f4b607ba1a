package clients_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// TestGracefulFailoverOnEachServer runs the Client and a Hook (attached to
// the primary that steps down) on one slot each of a primary while its
// replica takes over with CLUSTER FAILOVER, on Redis 7 and on Valkey 8. A
// graceful failover loses no acknowledged write and the old primary
// answers MOVED to the new one afterwards, so no error may reach the
// application and every acknowledged SET and INCR must read back.
func TestGracefulFailoverOnEachServer(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		victim := c.Primaries()[1]
		replicas := c.Replicas(victim)
		require.NotEmpty(t, replicas)

		var kc, kh kinds
		cl := newClient(t, c, redirect.Options{Observer: kc.observer()})
		rdb := hooked(t, victim, redirect.Options{Observer: kh.observer()})
		ctag, htag := tagOn(t, c, victim, "foc"), tagOn(t, c, victim, "foh")
		loads := []*slotLoad{startSlotLoad(cl, ctag, 4), startSlotLoad(rdb, htag, 4)}

		// Traffic runs before the failover, and again after it.
		progress := func(n int64) {
			t.Helper()
			require.Eventually(t, func() bool {
				return loads[0].ops.Load() >= n && loads[1].ops.Load() >= n
			}, time.Minute, 10*time.Millisecond, "the loads did not reach %d operations", n)
		}
		progress(200)
		require.NoError(t, c.Failover(ctx, replicas[0], cluster.Graceful))
		after := max(loads[0].ops.Load(), loads[1].ops.Load())
		progress(after + 200)
		for _, l := range loads {
			l.finish()
		}

		for i, l := range loads {
			assert.Zero(t, l.errs.Load(), "errors reached the application (load %d): %v", i, l.sample)
		}
		assert.Positive(t, kh.redirected(classify.KindMoved), "the Hook's node, now a replica, redirected it")
		assert.Equal(t, c.Owner(slotmap.Slot(ctag)), replicas[0], "the replica serves the slot")
		loads[0].check(t, cl, ctag)
		loads[1].check(t, rdb, htag)
		t.Logf("Client: %d operations, MOVED %d; Hook: %d operations, MOVED %d",
			loads[0].ops.Load(), kc.redirected(classify.KindMoved), loads[1].ops.Load(), kh.redirected(classify.KindMoved))
	})
}
