package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/internal/workload"
)

// demo --addr runs on a cluster that keeps its data and serves others: run
// twice against the same cluster (the embedded fake, addressed as a real
// one), it reports no false duplicate the second time, leaves a key it
// does not own as it was, and leaves none of its own behind.
func TestDemoAddrRunsTwiceOnOneCluster(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	// Someone else's keys, named as a workload without a prefix names its
	// workers' keys: a run that wrote there would change them, or count
	// them as duplicated increments.
	var others []string
	for tag := range workload.Tags {
		for w := range 4 {
			others = append(others, fmt.Sprintf("%s:s:%d", workload.TagKey("", tag), w), fmt.Sprintf("%s:c:%d", workload.TagKey("", tag), w))
		}
	}
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range others {
			p.Set(ctx, k, "41", 0)
		}
		return nil
	})
	require.NoError(t, err)

	for i := range 2 {
		var out, errOut bytes.Buffer
		code := run([]string{"demo", "--addr", c.Primary(0), "--duration", "1s", "--clients", "4", "--json"}, &out, &errOut)
		require.Equal(t, 0, code, "run %d: stderr: %s", i+1, errOut.String())
		var rep report
		require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
		assert.Positive(t, rep.Verdict.Checked, "run %d", i+1)
		assert.Zero(t, rep.Verdict.Duplicated, "run %d: %v", i+1, rep.Verdict.Problems)
		assert.Zero(t, rep.Verdict.Lost, "run %d: %v", i+1, rep.Verdict.Problems)
		assert.Contains(t, errOut.String(), "deleted the run's", "run %d", i+1)
	}
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range others {
			p.Get(ctx, k)
		}
		return nil
	})
	require.NoError(t, err, "every key the demo does not own is still there")
	for i, cmd := range cmds {
		assert.Equal(t, "41", cmd.(*redis.StringCmd).Val(), "%s was changed", others[i])
	}
	n, err := rdb.DBSize(ctx).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(len(others)), n, "the runs deleted every key they wrote")
}
