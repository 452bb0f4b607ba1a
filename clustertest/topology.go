package clustertest

import (
	"math"
	"strconv"

	"github.com/clusterhop/clusterhop/slotmap"
)

// topology is one immutable view of the cluster: who owns which slot, which
// node is a primary, which slots are being migrated. Changes copy it under
// Cluster.mu and publish the copy, so a node handling a command reads one
// consistent view without a lock.
type topology struct {
	nodes      []nodeView // by node index
	shards     []shardView
	owner      []int16 // slot → shard; -1 when no shard serves the slot
	migrations map[int]migration
	epoch      uint64 // the cluster's current epoch: the largest shard epoch
	preferred  Endpoint
}

// nodeView is what the cluster knows about one node.
type nodeView struct {
	id       string
	addr     string
	host     string
	hostname string // announced; "" for none
	port     int
	shard    int
	primary  bool
	failed   bool // killed, or refusing connections during a failover
}

// shardView is one primary with its replicas. A shard's index is also the
// number of the database its data lives in.
type shardView struct {
	primary  int   // node index
	replicas []int // node indexes
	epoch    uint64
	down     bool // inside a failover's CLUSTERDOWN window
}

// migration is a slot in the MIGRATING state on the primary of shard from
// and in the IMPORTING state on the primary of shard to.
type migration struct {
	from, to int
}

// clone returns a deep copy that a topology change may edit.
func (t *topology) clone() *topology {
	c := &topology{
		nodes:      append([]nodeView(nil), t.nodes...),
		shards:     make([]shardView, len(t.shards)),
		owner:      append([]int16(nil), t.owner...),
		migrations: make(map[int]migration, len(t.migrations)),
		epoch:      t.epoch,
		preferred:  t.preferred,
	}
	for i, s := range t.shards {
		s.replicas = append([]int(nil), s.replicas...)
		c.shards[i] = s
	}
	for slot, m := range t.migrations {
		c.migrations[slot] = m
	}
	return c
}

// bumpEpoch gives shard a config epoch newer than any other, as a primary
// does when it takes over slots (failover, end of a migration).
func (t *topology) bumpEpoch(shard int) {
	t.epoch++
	t.shards[shard].epoch = t.epoch
}

// evenSplit assigns the slots to n shards in contiguous ranges, with the
// rounding redis-cli --cluster create uses (0-5460, 5461-10922, 10923-16383
// for three shards).
func evenSplit(owner []int16, n int) {
	per := float64(slotmap.SlotCount) / float64(n)
	first, cursor := 0, 0.0
	for s := range n {
		last := int(math.Round(cursor + per - 1))
		if last > slotmap.SlotCount-1 || s == n-1 {
			last = slotmap.SlotCount - 1
		}
		for slot := first; slot <= last; slot++ {
			owner[slot] = int16(s)
		}
		first = last + 1
		cursor += per
	}
}

// slotRange is an inclusive range of slots.
type slotRange struct{ first, last int }

// ranges returns the slot ranges shard owns, in order.
func (t *topology) ranges(shard int) []slotRange {
	var rs []slotRange
	for slot := 0; slot < len(t.owner); slot++ {
		if int(t.owner[slot]) != shard {
			continue
		}
		if n := len(rs); n > 0 && rs[n-1].last == slot-1 {
			rs[n-1].last = slot
		} else {
			rs = append(rs, slotRange{slot, slot})
		}
	}
	return rs
}

// primaryAddr is the address of the primary of shard.
func (t *topology) primaryAddr(shard int) string {
	return t.nodes[t.shards[shard].primary].addr
}

// endpoint is how the cluster names node n to clients, as
// cluster-preferred-endpoint-type says: its IP, its hostname ("?" when it
// has none), or nothing.
func (t *topology) endpoint(n int) string {
	v := t.nodes[n]
	switch t.preferred {
	case EndpointHostname:
		if v.hostname == "" {
			return "?"
		}
		return v.hostname
	case EndpointUnknown:
		return ""
	}
	return v.host
}

// redirectTo is the target of a MOVED or ASK to shard's primary.
func (t *topology) redirectTo(shard int) string {
	p := t.shards[shard].primary
	return t.endpoint(p) + ":" + strconv.Itoa(t.nodes[p].port)
}

// assigned counts the slots some shard serves.
func (t *topology) assigned() int {
	n := 0
	for _, s := range t.owner {
		if s >= 0 {
			n++
		}
	}
	return n
}

// ok reports whether the cluster state is ok: every slot is served and no
// shard is in a failover window.
func (t *topology) ok() bool {
	for _, s := range t.shards {
		if s.down {
			return false
		}
	}
	return t.assigned() == slotmap.SlotCount
}
