package slotmap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithSlot(t *testing.T) {
	base := mkTopo(t,
		spec{primary: "a:1", ranges: []Range{{0, 5460}}, replicas: []string{"ar:1"}},
		spec{primary: "b:1", ranges: []Range{{5461, 10922}}},
		spec{primary: "c:1", ranges: []Range{{10923, 16383}}},
	)
	before := owners(base)

	t.Run("to a known primary", func(t *testing.T) {
		p := base.withSlot(100, "b:1")
		checkInvariants(t, p)
		assert.Equal(t, "b:1", must(p.PrimaryAddr(100)))
		assert.Equal(t, []Range{{0, 99}, {101, 5460}}, must(p.Shard(0)).Ranges)
		assert.Equal(t, []Range{{100, 100}, {5461, 10922}}, must(p.Shard(100)).Ranges)
		assert.Equal(t, before, owners(base), "the old view does not change")
		assert.Equal(t, []Range{{0, 5460}}, must(base.Shard(0)).Ranges)
		assert.Same(t, base.table[1], p.table[1], "untouched chunks are shared")
		assert.NotSame(t, base.table[0], p.table[0])
		assert.Same(t, must(base.Shard(16000)), must(p.Shard(16000)), "untouched shards are shared")
		assert.Equal(t, base.Addrs(), p.Addrs())
	})
	t.Run("edge of a range", func(t *testing.T) {
		p := base.withSlot(5460, "b:1")
		checkInvariants(t, p)
		assert.Equal(t, []Range{{0, 5459}}, must(p.Shard(0)).Ranges)
		assert.Equal(t, []Range{{5460, 10922}}, must(p.Shard(5460)).Ranges, "merged with the adjacent range")
	})
	t.Run("to an unknown address", func(t *testing.T) {
		p := base.withSlot(7, "d:1")
		checkInvariants(t, p)
		assert.Equal(t, "d:1", must(p.PrimaryAddr(7)))
		assert.True(t, p.Has("d:1"))
		assert.False(t, base.Has("d:1"))
		assert.Equal(t, RolePrimary, p.Node("d:1").Role)
		assert.Equal(t, []string{"a:1", "b:1", "c:1", "d:1", "ar:1"}, p.Addrs(), "primaries first")
		assert.Len(t, p.Shards(), 4)
	})
	t.Run("to a replica, promoted by a failover", func(t *testing.T) {
		p := base.withSlot(7, "ar:1")
		checkInvariants(t, p)
		n := p.Node("ar:1")
		assert.Equal(t, RolePrimary, n.Role)
		assert.Equal(t, "id-ar:1", n.ID, "the node keeps its ID")
		assert.Equal(t, []string{"a:1", "b:1", "c:1", "ar:1"}, p.Addrs(), "listed once")
		assert.Equal(t, RoleReplica, base.Node("ar:1").Role)
	})
	t.Run("already there", func(t *testing.T) {
		assert.Same(t, base, base.withSlot(7, "a:1"))
	})
	t.Run("an uncovered slot", func(t *testing.T) {
		part := mkTopo(t, spec{primary: "a:1", ranges: []Range{{0, 10}}})
		p := part.withSlot(20, "a:1")
		checkInvariants(t, p)
		assert.Equal(t, []Range{{0, 10}, {20, 20}}, must(p.Shard(20)).Ranges)
	})
	t.Run("no view yet", func(t *testing.T) {
		var none *Topology
		p := none.withSlot(3, "a:1")
		checkInvariants(t, p)
		assert.Equal(t, 1, p.Covered())
		_, err := p.Shard(4)
		assert.Error(t, err)
		assert.Empty(t, emptyTopology.shards, "the shared empty view is not written")
	})
}

func TestMapPatch(t *testing.T) {
	m, err := NewMap(Config{Fetch: nil})
	require.ErrorContains(t, err, "Fetch")
	require.Nil(t, m)

	m, err = NewMap(Config{Fetch: failingFetch})
	require.NoError(t, err)
	defer m.Close()
	assert.Nil(t, m.Load())

	m.Patch(9, "a:1")
	top := m.Load()
	require.NotNil(t, top)
	assert.Equal(t, "a:1", must(top.PrimaryAddr(9)))

	for _, bad := range []struct {
		slot int
		addr string
	}{{-1, "b:1"}, {SlotCount, "b:1"}, {9, ""}, {9, ":6380"}, {9, "?:6380"}, {9, "b:"}, {9, "b"}} {
		m.Patch(bad.slot, bad.addr)
		assert.Same(t, top, m.Load(), "Patch(%d, %q) is ignored", bad.slot, bad.addr)
	}
	m.Patch(9, "a:1")
	assert.Same(t, top, m.Load(), "a patch that changes nothing publishes nothing")
	m.Patch(9, "[::1]:7000")
	assert.Equal(t, "[::1]:7000", must(m.Load().PrimaryAddr(9)))

	require.NoError(t, m.Close())
	m.Patch(10, "a:1")
	_, err = m.Load().Shard(10)
	assert.Error(t, err, "a closed map ignores patches")
}
