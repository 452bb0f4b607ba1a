package slotmap

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// genShards is a CLUSTER SHARDS reply for n shards of 1+replicas nodes each,
// splitting the slots evenly, with addresses 10.0.<shard>.<node>:6379.
func genShards(n, replicas int) []redis.ClusterShard {
	out := make([]redis.ClusterShard, n)
	for i := range out {
		start, end := int64(i*SlotCount/n), int64((i+1)*SlotCount/n-1)
		out[i].Slots = []redis.SlotRange{{Start: start, End: end}}
		for j := 0; j <= replicas; j++ {
			role := "master"
			if j > 0 {
				role = "replica"
			}
			ip := fmt.Sprintf("10.0.%d.%d", i, j)
			out[i].Nodes = append(out[i].Nodes, redis.Node{
				ID: fmt.Sprintf("id-%d-%d", i, j), Endpoint: ip, IP: ip, Port: 6379, TLSPort: 16379,
				Role: role, ReplicationOffset: 100, Health: "online",
			})
		}
	}
	return out
}

// spec describes one shard of a test topology.
type spec struct {
	primary  string
	ranges   []Range
	replicas []string
}

// mkTopo builds a topology from specs through ParseSlots-free construction,
// checking the same invariants as the parsers.
func mkTopo(t testing.TB, specs ...spec) *Topology {
	t.Helper()
	shards := make([]*Shard, len(specs))
	for i, s := range specs {
		sh := &Shard{
			Primary: &Node{ID: "id-" + s.primary, Addr: s.primary, Role: RolePrimary, Health: HealthOnline},
			Ranges:  normalize(append([]Range(nil), s.ranges...)),
		}
		for _, r := range s.replicas {
			sh.Replicas = append(sh.Replicas, &Node{ID: "id-" + r, Addr: r, Role: RoleReplica, Health: HealthOnline})
		}
		shards[i] = sh
	}
	top, err := newTopology(shards, specs[0].primary)
	require.NoError(t, err)
	return top
}

// three is the usual three-primary layout, with slot overrides applied as
// patches would be.
func three(t testing.TB, a, b, c string) *Topology {
	t.Helper()
	return mkTopo(t,
		spec{primary: a, ranges: []Range{{0, 5460}}},
		spec{primary: b, ranges: []Range{{5461, 10922}}},
		spec{primary: c, ranges: []Range{{10923, 16383}}},
	)
}

// owners returns the primary address of each slot, "" when uncovered.
func owners(top *Topology) []string {
	out := make([]string, SlotCount)
	for s := range out {
		out[s], _ = top.PrimaryAddr(s)
	}
	return out
}

// checkInvariants verifies that a topology's ranges and its slot table agree.
func checkInvariants(t testing.TB, top *Topology) {
	t.Helper()
	fromRanges := make([]string, SlotCount)
	for _, s := range top.Shards() {
		require.NotNil(t, s.Primary)
		for k, r := range s.Ranges {
			require.LessOrEqual(t, r.Start, r.End)
			if k > 0 {
				require.Greater(t, r.Start, s.Ranges[k-1].End+1, "ranges sorted, disjoint, not adjacent: %v", s.Ranges)
			}
			for slot := r.Start; slot <= r.End; slot++ {
				require.Empty(t, fromRanges[slot], "slot %d in two shards", slot)
				fromRanges[slot] = s.Primary.Addr
			}
		}
	}
	require.Equal(t, fromRanges, owners(top))
	for _, a := range top.Addrs() {
		require.True(t, top.Has(a))
	}
}
