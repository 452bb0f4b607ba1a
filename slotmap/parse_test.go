package slotmap

import (
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseShards(t *testing.T) {
	top, err := ParseShards(genShards(3, 1), "10.0.0.0:6379", false)
	require.NoError(t, err)
	checkInvariants(t, top)
	require.Len(t, top.Shards(), 3)
	assert.Equal(t, SlotCount, top.Covered())
	assert.Equal(t, "10.0.0.0:6379", top.From())

	s, err := top.Shard(0)
	require.NoError(t, err)
	assert.Equal(t, &Node{ID: "id-0-0", Addr: "10.0.0.0:6379", Role: RolePrimary, Health: HealthOnline, ReplOffset: 100}, s.Primary)
	require.Len(t, s.Replicas, 1)
	assert.Equal(t, "10.0.0.1:6379", s.Replicas[0].Addr)
	assert.Equal(t, RoleReplica, s.Replicas[0].Role)
	assert.Equal(t, []Range{{0, 5460}}, s.Ranges)

	addr, err := top.PrimaryAddr(16383)
	require.NoError(t, err)
	assert.Equal(t, "10.0.2.0:6379", addr)
	assert.Equal(t, []string{
		"10.0.0.0:6379", "10.0.1.0:6379", "10.0.2.0:6379",
		"10.0.0.1:6379", "10.0.1.1:6379", "10.0.2.1:6379",
	}, top.Addrs(), "primaries first")
	assert.Equal(t, RoleReplica, top.Node("10.0.1.1:6379").Role)
	assert.Nil(t, top.Node("10.9.9.9:6379"))
	assert.False(t, top.Has("10.9.9.9:6379"))

	tls, err := ParseShards(genShards(3, 1), "10.0.0.0:16379", true)
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.0:16379", must(tls.PrimaryAddr(0)))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// oneNode is a one-shard reply whose primary is n, for address rules.
func oneNode(n redis.Node) []redis.ClusterShard {
	if n.ID == "" {
		n.ID = "abc"
	}
	if n.Role == "" {
		n.Role = "master"
	}
	if n.Health == "" {
		n.Health = "online"
	}
	return []redis.ClusterShard{{Slots: []redis.SlotRange{{Start: 0, End: 16383}}, Nodes: []redis.Node{n}}}
}

func TestParseShardsAddress(t *testing.T) {
	tests := []struct {
		name   string
		node   redis.Node
		from   string
		tls    bool
		want   string
		errHas string
	}{
		{name: "endpoint first", node: redis.Node{Endpoint: "node1.example", Hostname: "h", IP: "10.1.1.1", Port: 7000}, from: "x:1", want: "node1.example:7000"},
		{name: "empty endpoint takes hostname", node: redis.Node{Hostname: "h.example", IP: "10.1.1.1", Port: 7000}, from: "x:1", want: "h.example:7000"},
		{name: "then ip", node: redis.Node{IP: "10.1.1.1", Port: 7000}, from: "x:1", want: "10.1.1.1:7000"},
		{name: "unknown endpoint takes the origin's host", node: redis.Node{Endpoint: "?", IP: "10.1.1.1", Port: 7001}, from: "lb.example:6379", want: "lb.example:7001"},
		{name: "no host at all takes the origin's host", node: redis.Node{Port: 7002}, from: "10.9.9.9:6379", want: "10.9.9.9:7002"},
		{name: "IPv6 is bracketed", node: redis.Node{Endpoint: "::1", Port: 7000}, from: "x:1", want: "[::1]:7000"},
		{name: "IPv6 origin", node: redis.Node{Endpoint: "?", Port: 7000}, from: "[fe80::1]:6379", want: "[fe80::1]:7000"},
		{name: "tls-port with TLS", node: redis.Node{Endpoint: "n", Port: 7000, TLSPort: 17000}, tls: true, want: "n:17000"},
		{name: "TLS without tls-port", node: redis.Node{Endpoint: "n", Port: 7000}, tls: true, errHas: "tls-port: 0 is not a port"},
		{name: "TLS-only cluster without TLS", node: redis.Node{Endpoint: "n", TLSPort: 17000}, errHas: "serves TLS only"},
		{name: "port out of range", node: redis.Node{Endpoint: "n", Port: 70000}, errHas: "port: 70000 is not a port"},
		{name: "unknown endpoint, no origin", node: redis.Node{Endpoint: "?", Port: 7000}, from: "", errHas: `endpoint: "?"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, err := ParseShards(oneNode(tt.node), tt.from, tt.tls)
			if tt.errHas != "" {
				require.ErrorContains(t, err, tt.errHas)
				assert.ErrorContains(t, err, "shard 0: node 0")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, must(top.PrimaryAddr(0)))
		})
	}
}

func TestParseShardsHealth(t *testing.T) {
	node := func(id, role, health string) redis.Node {
		return redis.Node{ID: id, Endpoint: id, Port: 6379, Role: role, Health: health}
	}
	reply := func(nodes ...redis.Node) []redis.ClusterShard {
		return []redis.ClusterShard{{Slots: []redis.SlotRange{{Start: 0, End: 100}}, Nodes: nodes}}
	}
	t.Run("unhealthy replicas are known but not routed to", func(t *testing.T) {
		top, err := ParseShards(reply(node("p", "master", "online"), node("r1", "replica", "loading"),
			node("r2", "replica", "fail"), node("r3", "replica", "online"), node("r4", "replica", "new-state")), "", false)
		require.NoError(t, err)
		s := must(top.Shard(0))
		assert.Equal(t, []string{"r3:6379", "r4:6379"}, addrsOf(s.Replicas))
		assert.Equal(t, HealthUnknown, s.Replicas[1].Health)
		assert.Equal(t, []string{"r1:6379", "r2:6379"}, addrsOf(s.Unhealthy))
		assert.Equal(t, HealthLoading, s.Unhealthy[0].Health)
		assert.Equal(t, HealthFailed, s.Unhealthy[1].Health)
		assert.True(t, top.Has("r2:6379"))
		assert.Equal(t, []string{"p:6379", "r3:6379", "r4:6379", "r1:6379", "r2:6379"}, top.Addrs())
	})
	t.Run("a failed primary keeps its slots", func(t *testing.T) {
		top, err := ParseShards(reply(node("p", "master", "fail"), node("r", "replica", "online")), "", false)
		require.NoError(t, err)
		s := must(top.Shard(0))
		assert.Equal(t, "p:6379", s.Primary.Addr)
		assert.Equal(t, HealthFailed, s.Primary.Health)
		assert.False(t, s.Primary.Routable())
	})
	t.Run("during a failover the healthy primary wins", func(t *testing.T) {
		top, err := ParseShards(reply(node("old", "master", "fail"), node("new", "master", "online")), "", false)
		require.NoError(t, err)
		s := must(top.Shard(0))
		assert.Equal(t, "new:6379", s.Primary.Addr)
		assert.Equal(t, []string{"old:6379"}, addrsOf(s.Unhealthy))
	})
	t.Run("two healthy primaries", func(t *testing.T) {
		_, err := ParseShards(reply(node("a", "master", "online"), node("b", "master", "online")), "", false)
		require.ErrorContains(t, err, "shard 0: role: 2 nodes are primaries")
	})
}

func addrsOf(ns []*Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Addr
	}
	return out
}

func TestParseShardsShape(t *testing.T) {
	t.Run("ranges are sorted and merged", func(t *testing.T) {
		r := genShards(1, 0)
		r[0].Slots = []redis.SlotRange{{Start: 200, End: 300}, {Start: 0, End: 99}, {Start: 100, End: 150}, {Start: 250, End: 260}}
		top, err := ParseShards(r, "", false)
		require.NoError(t, err)
		assert.Equal(t, []Range{{0, 150}, {200, 300}}, must(top.Shard(0)).Ranges)
		checkInvariants(t, top)
	})
	t.Run("a primary without slots is a shard", func(t *testing.T) {
		r := genShards(2, 0)
		r[1].Slots = nil
		top, err := ParseShards(r, "", false)
		require.NoError(t, err)
		assert.Len(t, top.Shards(), 2)
		assert.True(t, top.Has("10.0.1.0:6379"))
	})
	t.Run("a replica without primary or slots is left out", func(t *testing.T) {
		r := genShards(2, 1)
		r[1].Slots = nil
		r[1].Nodes = r[1].Nodes[1:]
		top, err := ParseShards(r, "", false)
		require.NoError(t, err)
		assert.Len(t, top.Shards(), 1)
	})
}

func TestParseShardsErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func([]redis.ClusterShard) []redis.ClusterShard
		errHas string
	}{
		{"empty reply", func([]redis.ClusterShard) []redis.ClusterShard { return nil }, "lists no shards"},
		{"range past the end", func(r []redis.ClusterShard) []redis.ClusterShard {
			r[1].Slots[0].End = 16384
			return r
		}, "shard 1: slots[0]: range 5461-16384 is not within 0-16383"},
		{"negative start", func(r []redis.ClusterShard) []redis.ClusterShard { r[0].Slots[0].Start = -1; return r }, "range -1-5460"},
		{"reversed range", func(r []redis.ClusterShard) []redis.ClusterShard {
			r[0].Slots[0] = redis.SlotRange{Start: 10, End: 5}
			return r
		}, "range 10-5"},
		{"slots without primary", func(r []redis.ClusterShard) []redis.ClusterShard { r[2].Nodes = r[2].Nodes[1:]; return r }, "shard 2: role: slots 10922-16383 but no node is a primary"},
		{"empty id", func(r []redis.ClusterShard) []redis.ClusterShard { r[0].Nodes[1].ID = ""; return r }, "shard 0: node 1 (id \"\"): id: empty"},
		{"unknown role", func(r []redis.ClusterShard) []redis.ClusterShard { r[0].Nodes[1].Role = "arbiter"; return r }, `node 1 (id "id-0-1"): role: "arbiter" is neither master nor replica`},
		{"two owners", func(r []redis.ClusterShard) []redis.ClusterShard {
			r[1].Slots = append(r[1].Slots, redis.SlotRange{Start: 7, End: 7})
			return r
		}, "slot 7 is claimed by both 10.0.0.0:6379 and 10.0.1.0:6379"},
		{"one address, two nodes", func(r []redis.ClusterShard) []redis.ClusterShard {
			r[1].Nodes[1].Endpoint = "10.0.0.1"
			return r
		}, "address 10.0.0.1:6379 names two nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, err := ParseShards(tt.edit(genShards(3, 1)), "10.0.0.0:6379", false)
			require.ErrorContains(t, err, tt.errHas)
			assert.ErrorContains(t, err, "slotmap: ")
			assert.Nil(t, top)
		})
	}
}

func TestParseSlots(t *testing.T) {
	reply := []redis.ClusterSlot{
		{Start: 0, End: 99, Nodes: []redis.ClusterNode{{ID: "a", Addr: "10.0.0.1:7000"}, {ID: "ar", Addr: "10.0.0.2:7000"}}},
		{Start: 200, End: 16383, Nodes: []redis.ClusterNode{{ID: "b", Addr: ":7001"}}},
		{Start: 100, End: 199, Nodes: []redis.ClusterNode{{ID: "a", Addr: "10.0.0.1:7000"}, {ID: "ar", Addr: "10.0.0.2:7000"}}},
	}
	top, err := ParseSlots(reply, "seed.example:7000")
	require.NoError(t, err)
	checkInvariants(t, top)
	require.Len(t, top.Shards(), 2, "entries with the same primary form one shard")
	a := must(top.Shard(150))
	assert.Equal(t, []Range{{0, 199}}, a.Ranges)
	assert.Equal(t, []string{"10.0.0.2:7000"}, addrsOf(a.Replicas))
	assert.Equal(t, HealthUnknown, a.Primary.Health)
	assert.True(t, a.Primary.Routable())
	assert.Equal(t, "seed.example:7001", must(top.PrimaryAddr(200)), "an empty host is the origin's")

	t.Run("without node IDs", func(t *testing.T) {
		top, err := ParseSlots([]redis.ClusterSlot{
			{Start: 0, End: 10, Nodes: []redis.ClusterNode{{Addr: "a:1"}}},
			{Start: 11, End: 20, Nodes: []redis.ClusterNode{{Addr: "a:1"}}},
			{Start: 21, End: 30, Nodes: []redis.ClusterNode{{Addr: "?:2"}}},
		}, "o:9")
		require.NoError(t, err)
		assert.Len(t, top.Shards(), 2)
		assert.Equal(t, "o:2", must(top.PrimaryAddr(30)))
	})

	errs := []struct {
		name   string
		reply  []redis.ClusterSlot
		from   string
		errHas string
	}{
		{"empty", nil, "o:1", "lists no slots"},
		{"no nodes", []redis.ClusterSlot{{Start: 0, End: 1}}, "o:1", "entry 0 (slots 0-1): no nodes"},
		{"bad range", []redis.ClusterSlot{{Start: 5, End: 16384, Nodes: []redis.ClusterNode{{Addr: "a:1"}}}}, "o:1", "entry 0: range 5-16384"},
		{"bad address", []redis.ClusterSlot{{Start: 0, End: 1, Nodes: []redis.ClusterNode{{Addr: "a"}}}}, "o:1", "node 0: address: "},
		{"bad port", []redis.ClusterSlot{{Start: 0, End: 1, Nodes: []redis.ClusterNode{{Addr: "a:x"}}}}, "o:1", `"x" is not a port`},
		{"empty host, no origin", []redis.ClusterSlot{{Start: 0, End: 1, Nodes: []redis.ClusterNode{{Addr: ":1"}}}}, "", "no host to use instead"},
		{"overlap", []redis.ClusterSlot{
			{Start: 0, End: 10, Nodes: []redis.ClusterNode{{Addr: "a:1"}}},
			{Start: 10, End: 20, Nodes: []redis.ClusterNode{{Addr: "b:1"}}},
		}, "o:1", "slot 10 is claimed by both a:1 and b:1"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSlots(tt.reply, tt.from)
			require.ErrorContains(t, err, tt.errHas)
		})
	}
}

func TestParseErrorsAreNotPanics(t *testing.T) {
	// A nil node list, nil slots and zero values everywhere: errors only.
	_, err := ParseShards([]redis.ClusterShard{{}}, "", false)
	require.NoError(t, err, "a shard with nothing in it is left out")
	_, err = ParseShards([]redis.ClusterShard{{Nodes: []redis.Node{{}}}}, "", false)
	require.Error(t, err)
	assert.False(t, errors.Is(err, errClosed))
}
