package slotmap

import (
	"net"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
)

var (
	shardSink *Shard
	addrSink  string
	topoSink  *Topology
)

func BenchmarkLookup(b *testing.B) {
	m, err := NewMap(Config{Fetch: failingFetch})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	top, err := ParseShards(genShards(100, 1), "", false)
	if err != nil {
		b.Fatal(err)
	}
	m.view.Store(top)
	b.Run("Shard", func(b *testing.B) {
		b.ReportAllocs()
		slot := 0
		for b.Loop() {
			shardSink, _ = m.Load().Shard(slot)
			slot = (slot + 7919) & (SlotCount - 1)
		}
	})
	b.Run("key-to-primary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			addrSink, _ = m.Load().PrimaryAddr(Slot("{user1000}.following"))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			slot := 0
			for pb.Next() {
				s, _ := m.Load().Shard(slot)
				slot = (slot + 7919) & (SlotCount - 1)
				_ = s
			}
		})
	})
}

// BenchmarkPatch measures a MOVED patch on a 100-shard view; flat-copy is
// what copying a whole 16384-entry table per patch would cost instead.
func BenchmarkPatch(b *testing.B) {
	base, err := ParseShards(genShards(100, 1), "", false)
	if err != nil {
		b.Fatal(err)
	}
	addrs := base.Addrs()[:100]
	// migration moves shard 0's 164 slots to shard 1 one by one and back,
	// as a resharding does; scattered patches slots all over the table to
	// every shard, which fragments the shards' ranges (the worst case).
	for _, c := range []struct {
		name string
		slot func(i int) int
		addr func(i int) string
	}{
		{"migration", func(i int) int { return i % 164 }, func(i int) string { return addrs[1-(i/164)%2] }},
		{"scattered", func(i int) int { return (i * 7919) & (SlotCount - 1) }, func(i int) string { return addrs[i%len(addrs)] }},
	} {
		b.Run("Map.Patch/"+c.name, func(b *testing.B) {
			m, err := NewMap(Config{Fetch: failingFetch})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			m.view.Store(base)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m.Patch(c.slot(i), c.addr(i))
				i++
			}
		})
	}
	b.Run("flat-copy", func(b *testing.B) {
		var flat [SlotCount]uint16
		b.ReportAllocs()
		for b.Loop() {
			c := new([SlotCount]uint16)
			*c = flat
			c[5] = 1
			flatSink = c
		}
	})
}

var flatSink *[SlotCount]uint16

func BenchmarkParseShards(b *testing.B) {
	for _, n := range []int{3, 100} {
		reply := genShards(n, 1)
		b.Run(strconv.Itoa(n)+"-shards", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, err := ParseShards(reply, "10.0.0.0:6379", false)
				if err != nil {
					b.Fatal(err)
				}
				topoSink = t
			}
		})
	}
}

func BenchmarkParseSlots(b *testing.B) {
	for _, n := range []int{3, 100} {
		var reply []redis.ClusterSlot
		for _, s := range genShards(n, 1) {
			cs := redis.ClusterSlot{Start: int(s.Slots[0].Start), End: int(s.Slots[0].End)}
			for _, nd := range s.Nodes {
				cs.Nodes = append(cs.Nodes, redis.ClusterNode{ID: nd.ID, Addr: net.JoinHostPort(nd.IP, strconv.FormatInt(nd.Port, 10))})
			}
			reply = append(reply, cs)
		}
		b.Run(strconv.Itoa(n)+"-shards", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, err := ParseSlots(reply, "10.0.0.0:6379")
				if err != nil {
					b.Fatal(err)
				}
				topoSink = t
			}
		})
	}
}
