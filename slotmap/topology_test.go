package slotmap

import (
	"errors"
	"testing"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUncoveredSlot(t *testing.T) {
	top := mkTopo(t, spec{primary: "a:1", ranges: []Range{{0, 99}}})
	tests := []struct {
		name string
		top  *Topology
		slot int
		text string
	}{
		{"no owner", top, 100, "slotmap: slot 100 is not covered by any node"},
		{"negative", top, -1, "slotmap: slot -1 is out of range 0-16383"},
		{"too large", top, SlotCount, "slotmap: slot 16384 is out of range 0-16383"},
		{"no view yet", nil, 5, "slotmap: slot 5 is not covered by any node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.top.Shard(tt.slot)
			assert.Nil(t, s)
			require.EqualError(t, err, tt.text)
			assert.Equal(t, classify.KindSlotNotCovered, classify.KindOf(err))
			var ce *classify.ClientError
			require.True(t, errors.As(err, &ce))
			assert.False(t, ce.Sent)
			var ue *UncoveredError
			require.True(t, errors.As(err, &ue))
			assert.Equal(t, tt.slot, ue.Slot)
			addr, err := tt.top.PrimaryAddr(tt.slot)
			assert.Empty(t, addr)
			assert.EqualError(t, err, tt.text)
		})
	}
}

func TestNilTopology(t *testing.T) {
	var top *Topology
	assert.Nil(t, top.Shards())
	assert.Nil(t, top.Addrs())
	assert.False(t, top.Has("a:1"))
	assert.Nil(t, top.Node("a:1"))
	assert.Zero(t, top.Covered())
	assert.Empty(t, top.From())
}

func TestTopologyIsNotAliased(t *testing.T) {
	top := three(t, "a:1", "b:1", "c:1")
	top.Addrs()[0] = "x:1"
	top.Shards()[0] = nil
	assert.Equal(t, "a:1", top.Addrs()[0])
	assert.NotNil(t, top.Shards()[0])
}

func TestLookupAllocs(t *testing.T) {
	top, err := ParseShards(genShards(100, 1), "", false)
	require.NoError(t, err)
	n := 0
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		s, _ := top.Shard(n & (SlotCount - 1))
		a, _ := top.PrimaryAddr(Slot("{user1000}.following"))
		n += len(s.Ranges) + len(a)
	}))
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "primary", RolePrimary.String())
	assert.Equal(t, "replica", RoleReplica.String())
	assert.Equal(t, "Role(9)", Role(9).String())
	assert.Equal(t, []string{"online", "loading", "fail", "unknown", "Health(9)"},
		[]string{HealthOnline.String(), HealthLoading.String(), HealthFailed.String(), HealthUnknown.String(), Health(9).String()})
	assert.Equal(t, "0-5460", Range{0, 5460}.String())
	for r := ReasonInitial; r <= ReasonManual; r++ {
		assert.NotContains(t, r.String(), "Reason(")
	}
	assert.Equal(t, "connection error", ReasonConnError.String())
	assert.Equal(t, "Reason(42)", Reason(42).String())
}
