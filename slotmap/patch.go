package slotmap

import (
	"maps"
	"slices"
)

// emptyTopology is the view before anything is known: no shard, no node.
var emptyTopology = &Topology{table: newSlotTable(), nodes: map[string]*Node{}, owner: map[string]int{}}

// withSlot returns a copy of t in which the primary at addr serves slot, the
// way a MOVED reply says. The copy shares every chunk of the slot table but
// the one it changes, every shard but the two it changes, and the node index
// unless addr is new. An address that is not a primary yet becomes the
// primary of a new shard holding only this slot until the next refresh: after
// a failover that is the promoted replica, which keeps its ID.
func (t *Topology) withSlot(slot int, addr string) *Topology {
	if t == nil {
		t = emptyTopology
	}
	cur := t.table.get(slot)
	j, known := t.owner[addr]
	if known && uint16(j) == cur {
		return t
	}
	if !known && len(t.shards) >= int(noShard)-1 {
		return t
	}
	n := &Topology{
		shards: slices.Clone(t.shards),
		table:  t.table,
		nodes:  t.nodes,
		addrs:  t.addrs,
		owner:  t.owner,
		from:   t.from,
	}
	if !known {
		node := &Node{Addr: addr, Role: RolePrimary, Health: HealthUnknown}
		if old := t.nodes[addr]; old != nil {
			node.ID, node.ReplOffset, node.AvailabilityZone = old.ID, old.ReplOffset, old.AvailabilityZone
		}
		j = len(n.shards)
		n.shards = append(n.shards, &Shard{Primary: node})
		n.owner = maps.Clone(t.owner)
		n.owner[addr] = j
		n.nodes = maps.Clone(t.nodes)
		n.nodes[addr] = node
		n.addrs = patchedAddrs(n.shards)
	}
	if cur != noShard {
		s := *n.shards[cur]
		s.Ranges = withoutSlot(s.Ranges, slot)
		n.shards[cur] = &s
	}
	s := *n.shards[j]
	s.Ranges = normalize(append(slices.Clone(s.Ranges), Range{Start: slot, End: slot}))
	n.shards[j] = &s
	n.table.set(slot, uint16(j))
	return n
}

// withoutSlot returns a copy of rs without slot, splitting the range that
// holds it.
func withoutSlot(rs []Range, slot int) []Range {
	out := make([]Range, 0, len(rs)+1)
	for _, r := range rs {
		if slot < r.Start || slot > r.End {
			out = append(out, r)
			continue
		}
		if r.Start < slot {
			out = append(out, Range{Start: r.Start, End: slot - 1})
		}
		if slot < r.End {
			out = append(out, Range{Start: slot + 1, End: r.End})
		}
	}
	return out
}

// patchedAddrs lists the addresses of shards once each, primaries first: a
// promoted replica is both the primary of its new shard and, until the next
// refresh, a replica in its old one.
func patchedAddrs(shards []*Shard) []string {
	seen := make(map[string]bool)
	var out []string
	add := func(n *Node) {
		if !seen[n.Addr] {
			seen[n.Addr] = true
			out = append(out, n.Addr)
		}
	}
	for _, s := range shards {
		add(s.Primary)
	}
	for _, s := range shards {
		for _, n := range s.Replicas {
			add(n)
		}
	}
	for _, s := range shards {
		for _, n := range s.Unhealthy {
			add(n)
		}
	}
	return out
}

// sameRouting reports whether a and b send every slot to the same primary
// address and know the same nodes. Health and offsets do not count.
func sameRouting(a, b *Topology) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.nodes) != len(b.nodes) {
		return false
	}
	for addr := range a.nodes {
		if _, ok := b.nodes[addr]; !ok {
			return false
		}
	}
	return slices.Equal(a.routes(), b.routes())
}

// route is a run of slots served by one primary.
type route struct {
	Range
	addr string
}

// routes lists t's slot owners as sorted runs, adjacent runs of the same
// primary merged, so that views built differently (patched or parsed)
// compare equal when they route alike. It costs the number of ranges, not
// of slots.
func (t *Topology) routes() []route {
	var out []route
	for _, s := range t.shards {
		for _, r := range s.Ranges {
			out = append(out, route{r, s.Primary.Addr})
		}
	}
	slices.SortFunc(out, func(x, y route) int { return x.Start - y.Start })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && merged[n-1].addr == r.addr && merged[n-1].End+1 == r.Start {
			merged[n-1].End = r.End
			continue
		}
		merged = append(merged, r)
	}
	return merged
}
