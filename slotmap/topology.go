package slotmap

import (
	"fmt"
	"strconv"

	"github.com/clusterhop/clusterhop/classify"
)

// Role is a node's place in its shard.
type Role uint8

const (
	RolePrimary Role = iota // serves writes for the shard's slots
	RoleReplica             // copies a primary; serves reads when asked to
)

// String returns "primary" or "replica".
func (r Role) String() string {
	switch r {
	case RolePrimary:
		return "primary"
	case RoleReplica:
		return "replica"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// Health is what the cluster says about a node (CLUSTER SHARDS "health").
type Health uint8

const (
	HealthOnline  Health = iota // "online": serving
	HealthLoading               // "loading": reading its dataset; replies LOADING until done
	HealthFailed                // "fail": the cluster marked it failed
	HealthUnknown               // not reported (CLUSTER SLOTS, or a value this package does not know)
)

// String returns the server's word for h ("online", "loading", "fail") or
// "unknown".
func (h Health) String() string {
	switch h {
	case HealthOnline:
		return "online"
	case HealthLoading:
		return "loading"
	case HealthFailed:
		return "fail"
	case HealthUnknown:
		return "unknown"
	}
	return "Health(" + strconv.Itoa(int(h)) + ")"
}

// Node is one cluster node as a topology reply described it.
type Node struct {
	ID               string
	Addr             string // "host:port" to dial (TLS port when parsed for TLS); IPv6 as net.JoinHostPort writes it
	Role             Role
	Health           Health
	ReplOffset       int64
	AvailabilityZone string // empty when the server does not report one
}

// Routable reports whether commands may be sent to n: a loading node only
// answers LOADING and a failed one does not answer, while a node whose health
// was not reported is presumed to serve.
func (n *Node) Routable() bool {
	return n.Health == HealthOnline || n.Health == HealthUnknown
}

// Range is an inclusive range of hash slots.
type Range struct{ Start, End int }

// String returns "start-end", as cluster replies and redis-cli write ranges.
func (r Range) String() string {
	return strconv.Itoa(r.Start) + "-" + strconv.Itoa(r.End)
}

// Shard is a primary, its replicas and the slots they serve. Shards belong to
// an immutable Topology: callers must not modify them.
type Shard struct {
	Primary *Node
	// Replicas that may serve reads (health online or not reported).
	Replicas []*Node
	// Unhealthy are replicas the cluster reports loading or failed: known
	// (Topology.Has finds them) but never routed to.
	Unhealthy []*Node
	// Ranges are sorted, disjoint and not adjacent.
	Ranges []Range
}

// UncoveredError says that no node of the topology serves a slot. It reaches
// callers wrapped in a *classify.ClientError of kind
// classify.KindSlotNotCovered, so errors.As finds either.
type UncoveredError struct {
	Slot int
}

func (e *UncoveredError) Error() string {
	if e.Slot < 0 || e.Slot >= SlotCount {
		return fmt.Sprintf("slotmap: slot %d is out of range 0-%d", e.Slot, SlotCount-1)
	}
	return fmt.Sprintf("slotmap: slot %d is not covered by any node", e.Slot)
}

func uncovered(slot int) error {
	return &classify.ClientError{Kind: classify.KindSlotNotCovered, Err: &UncoveredError{Slot: slot}}
}

// Topology is one view of the cluster: shards, nodes and the owner of every
// slot. It is immutable once published; a nil *Topology is an empty view
// in which every slot is uncovered.
type Topology struct {
	shards []*Shard
	table  slotTable
	nodes  map[string]*Node // every known node by address
	addrs  []string         // primaries, then routable replicas, then unhealthy nodes
	owner  map[string]int   // primary address → index in shards
	from   string           // the node whose reply this view came from
}

// Shard returns the shard serving slot, in constant time and without
// allocating. An uncovered or out-of-range slot is an error of kind
// classify.KindSlotNotCovered whose text names the slot.
func (t *Topology) Shard(slot int) (*Shard, error) {
	if t == nil || uint(slot) >= SlotCount {
		return nil, uncovered(slot)
	}
	i := t.table.get(slot)
	if i == noShard {
		return nil, uncovered(slot)
	}
	return t.shards[i], nil
}

// PrimaryAddr returns the address of the primary serving slot, with the
// errors of Shard.
func (t *Topology) PrimaryAddr(slot int) (string, error) {
	s, err := t.Shard(slot)
	if err != nil {
		return "", err
	}
	return s.Primary.Addr, nil
}

// Shards returns every shard, including those that serve no slot. The slice
// is the caller's; the shards are shared and must not be modified.
func (t *Topology) Shards() []*Shard {
	if t == nil {
		return nil
	}
	return append([]*Shard(nil), t.shards...)
}

// Addrs returns every node address once: primaries first, then replicas
// that may serve reads, then unhealthy replicas. The slice is the caller's.
func (t *Topology) Addrs() []string {
	if t == nil {
		return nil
	}
	return append([]string(nil), t.addrs...)
}

// Has reports whether addr is a node of the topology.
func (t *Topology) Has(addr string) bool {
	return t.Node(addr) != nil
}

// Node returns the node at addr, or nil if the topology does not know it.
func (t *Topology) Node(addr string) *Node {
	if t == nil {
		return nil
	}
	return t.nodes[addr]
}

// From returns the address of the node whose reply produced this view; it
// is empty for a view made only of patches.
func (t *Topology) From() string {
	if t == nil {
		return ""
	}
	return t.from
}

// Covered returns how many slots have an owner.
func (t *Topology) Covered() int {
	if t == nil {
		return 0
	}
	n := 0
	for _, s := range t.shards {
		for _, r := range s.Ranges {
			n += r.End - r.Start + 1
		}
	}
	return n
}

// newTopology indexes shards: it checks that no slot has two owners and no
// address names two nodes, then fills the slot table and the node index.
func newTopology(shards []*Shard, from string) (*Topology, error) {
	if len(shards) >= int(noShard) {
		return nil, fmt.Errorf("slotmap: %d shards, more than the %d a cluster can have", len(shards), noShard-1)
	}
	t := &Topology{
		shards: shards,
		table:  newSlotTable(),
		nodes:  make(map[string]*Node),
		owner:  make(map[string]int, len(shards)),
		from:   from,
	}
	var b tableBuilder
	for i, s := range shards {
		for _, r := range s.Ranges {
			if prev, ok := b.fill(&t.table, r, uint16(i)); !ok {
				return nil, fmt.Errorf("slotmap: slot %d is claimed by both %s and %s",
					prev, shards[t.table.get(prev)].Primary.Addr, s.Primary.Addr)
			}
		}
		t.owner[s.Primary.Addr] = i
	}
	add := func(n *Node) error {
		if _, dup := t.nodes[n.Addr]; dup {
			return fmt.Errorf("slotmap: address %s names two nodes", n.Addr)
		}
		t.nodes[n.Addr] = n
		t.addrs = append(t.addrs, n.Addr)
		return nil
	}
	for _, s := range shards {
		if err := add(s.Primary); err != nil {
			return nil, err
		}
	}
	for _, group := range [2]func(*Shard) []*Node{
		func(s *Shard) []*Node { return s.Replicas },
		func(s *Shard) []*Node { return s.Unhealthy },
	} {
		for _, s := range shards {
			for _, n := range group(s) {
				if err := add(n); err != nil {
					return nil, err
				}
			}
		}
	}
	return t, nil
}
