package clustertest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/integration/cluster"
)

// The comparison scripts give the same replies on a real cluster as the
// ones recorded in them (and TestScriptsMatchRedis70 checks the fake
// against those), so the fake and a real Redis cluster agree on every
// command the scripts send, error texts included.
func TestScriptsMatchRealCluster(t *testing.T) {
	cluster.Require(t)
	c := cluster.StartForTest(t, cluster.Config{Primaries: 3, ReplicasPerPrimary: 1})
	t.Logf("server %s %s", c.Server(), c.Version())
	checkScripts(t, func(t *testing.T) scriptTarget {
		tg, err := newRealTarget(c.Addrs()[0])
		require.NoError(t, err)
		t.Cleanup(tg.flush)
		return tg
	})
}
