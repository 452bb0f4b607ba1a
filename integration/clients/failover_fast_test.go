package clients_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/internal/failover"
	"github.com/clusterhop/clusterhop/internal/workload"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// TestKillPrimaryFastRecovery kills a primary with SIGKILL while the Client,
// a Hook and go-redis's ClusterClient with AttachCluster each run 32
// writers of SET, INCR and GET plus one on a key of the victim, on Redis 7
// and on Valkey 8. None may lose an acknowledged write or run one twice
// (the victim's replica has every acknowledged write at the kill, see
// failover.Inject); the attached ClusterClient must write to the dead
// primary's slots again; the Client and the Hook may surface only the
// command each writer had in flight at the kill, in doubt.
func TestKillPrimaryFastRecovery(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		fastFailover(t, c, failover.Kill)
	})
}

// TestFreezePrimaryFastRecovery is TestKillPrimaryFastRecovery with the
// primary stopped with SIGSTOP (a hung process: it keeps its connections
// and accepts new ones, and answers nothing) until its replica is promoted
// and the clients wrote to its slots again, then resumed.
func TestFreezePrimaryFastRecovery(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		fastFailover(t, c, failover.Freeze)
	})
}

func fastFailover(t *testing.T, c *cluster.Cluster, fault failover.Fault) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	victim := c.Primaries()[1] // not the node the Hook's client is on
	cs := fastContenders(t, ctx, c, victim)
	busy(t, cs, 500)

	dead := map[int]bool{}
	for _, s := range c.SlotsOf(victim) {
		dead[s] = true
	}
	recovered := func() bool {
		for _, ct := range cs {
			if _, _, ok := ct.recovery.Result(); !ok {
				return false
			}
		}
		return true
	}
	ictx, icancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer icancel()
	tl, err := failover.Inject(ictx, c, victim, fault, failover.Watch{
		AtFault: func(at time.Time) {
			for _, ct := range cs {
				ct.recovery.Mark(at, func(s int) bool { return dead[s] })
			}
		},
		Recovered: recovered,
	})
	require.NoError(t, err)
	// Until every client wrote to the victim's slots again (or 25s after
	// the fault: one that never does is reported so), then a while on
	// the new layout.
	waitFor(25*time.Second-time.Since(tl.Fault), recovered)
	busy(t, cs, 500)
	cancel()
	for _, ct := range cs {
		ct.sum = ct.run.Wait()
	}
	report(t, fmt.Sprintf("%s of primary %s (replica %s promoted %s after the fault)", fault, victim, tl.Replica,
		tl.Promotion().Round(time.Millisecond)), cs)
	checkFastFailover(t, cs, tl)
}

// fastContenders starts the failover workload through the Client, a Hook
// on the first primary, and a ClusterClient with AttachCluster.
func fastContenders(t *testing.T, ctx context.Context, c *cluster.Cluster, victim string) []*contender {
	t.Helper()
	gr := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Primaries()[0]}})
	att, err := redirect.AttachCluster(gr, redirect.ClusterAttachOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = att.Close()
		_ = gr.Close()
	})
	cs := []*contender{
		{name: "clusterhop", client: newClient(t, c, redirect.Options{})},
		{name: "hook", client: hooked(t, c.Primaries()[0], redirect.Options{})},
		{name: "go-redis+attach", client: gr},
	}
	for _, ct := range cs {
		require.NoError(t, ct.client.Ping(ctx).Err())
		prefix := workload.UniquePrefix(ct.name)
		pin := 0
		for c.Owner(slotmap.Slot(workload.TagKey(prefix, pin))) != victim {
			pin++
		}
		ct.run = workload.Start(ctx, ct.client, workload.Config{
			Workers: 32, Seed: 1, Prefix: prefix, TTL: 10 * time.Minute, Mix: workload.MixSetIncrGet,
			Pinned: []int{pin}, Observe: ct.recovery.Observe,
		})
	}
	return cs
}

func checkFastFailover(t *testing.T, cs []*contender, tl failover.Timeline) {
	t.Helper()
	vctx, vcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer vcancel()
	for _, ct := range cs {
		v, err := ct.run.Verify(vctx, cs[0].client)
		require.NoError(t, err)
		_, err = ct.run.Cleanup(vctx, cs[0].client)
		require.NoError(t, err)
		_, after, recovered := ct.recovery.Result()
		t.Logf("%s: %d writes checked, %d lost, %d duplicated %v; most errors per writer %d (in doubt %d); recovery − promotion %v (recovered: %v)",
			ct.name, v.Checked, v.Lost, v.Duplicated, v.Problems, ct.sum.MaxWorkerErrors, ct.sum.MaxWorkerInDoubt,
			(after - tl.Promotion()).Round(time.Millisecond), recovered)
		if ct.sum.SurfacedErrors > ct.sum.InDoubtErrors {
			t.Logf("%s: errors %v", ct.name, ct.sum.ErrorSamples)
		}
		assert.Zero(t, v.Lost, "%s: acknowledged writes lost", ct.name)
		assert.Zero(t, v.Duplicated, "%s: writes run twice, or run though they reported a definite error", ct.name)
		switch ct.name {
		case "go-redis+attach":
			assert.True(t, recovered, "the attached ClusterClient never wrote to the victim's slots again")
		default:
			assert.True(t, recovered, "%s never wrote to the victim's slots again", ct.name)
			assert.LessOrEqual(t, ct.sum.MaxWorkerInDoubt, int64(1), "%s: a writer had more than its command in flight fail in doubt", ct.name)
			assert.Equal(t, ct.sum.InDoubtErrors, ct.sum.SurfacedErrors, "%s surfaced errors that are not in doubt: %v", ct.name, ct.sum.ErrorSamples)
		}
	}
}
