package slotmap

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// ParseShards builds a topology from a CLUSTER SHARDS reply (Redis 7+, Valkey)
// that the node at from sent.
//
// A node's address is its endpoint; an empty endpoint falls back to its
// hostname, then its ip; the endpoint "?" (the server does not know how
// clients reach the node, as behind a proxy) and a node with no host at all
// take the host of from. useTLS picks tls-port over port. Replicas the
// cluster reports loading or failed go to Shard.Unhealthy; a shard whose
// primary failed keeps it as Primary, since its slots have no other owner
// until a failover. A shard with neither primary nor slots (a replica whose
// primary was forgotten) is left out.
//
// A malformed reply is an error that names the shard, the node and the field.
func ParseShards(shards []redis.ClusterShard, from string, useTLS bool) (*Topology, error) {
	if len(shards) == 0 {
		return nil, errors.New("slotmap: CLUSTER SHARDS reply lists no shards")
	}
	out := make([]*Shard, 0, len(shards))
	for i, rs := range shards {
		s, err := parseShard(rs, from, useTLS)
		if err != nil {
			return nil, fmt.Errorf("slotmap: CLUSTER SHARDS shard %d: %w", i, err)
		}
		if s != nil {
			out = append(out, s)
		}
	}
	t, err := newTopology(out, from)
	if err != nil {
		return nil, fmt.Errorf("%w (CLUSTER SHARDS from %s)", err, from)
	}
	return t, nil
}

func parseShard(rs redis.ClusterShard, from string, useTLS bool) (*Shard, error) {
	s := &Shard{}
	for j, r := range rs.Slots {
		if r.Start < 0 || r.End >= SlotCount || r.Start > r.End {
			return nil, fmt.Errorf("slots[%d]: range %d-%d is not within 0-%d", j, r.Start, r.End, SlotCount-1)
		}
		s.Ranges = append(s.Ranges, Range{Start: int(r.Start), End: int(r.End)})
	}
	s.Ranges = normalize(s.Ranges)
	var primaries []*Node
	for j := range rs.Nodes {
		n, err := parseShardNode(&rs.Nodes[j], from, useTLS)
		if err != nil {
			return nil, fmt.Errorf("node %d (id %q): %w", j, rs.Nodes[j].ID, err)
		}
		switch {
		case n.Role == RolePrimary:
			primaries = append(primaries, n)
		case n.Routable():
			s.Replicas = append(s.Replicas, n)
		default:
			s.Unhealthy = append(s.Unhealthy, n)
		}
	}
	// During a failover the old primary may still be listed as a primary,
	// marked failed, next to the promoted one: the healthy one owns the slots.
	if len(primaries) > 1 {
		healthy := slices.DeleteFunc(slices.Clone(primaries), func(n *Node) bool { return !n.Routable() })
		if len(healthy) != 1 {
			return nil, fmt.Errorf("role: %d nodes are primaries", len(primaries))
		}
		for _, n := range primaries {
			if n != healthy[0] {
				s.Unhealthy = append(s.Unhealthy, n)
			}
		}
		primaries = healthy
	}
	if len(primaries) == 0 {
		if len(s.Ranges) > 0 {
			return nil, fmt.Errorf("role: slots %s but no node is a primary", s.Ranges[0])
		}
		return nil, nil
	}
	s.Primary = primaries[0]
	return s, nil
}

func parseShardNode(rn *redis.Node, from string, useTLS bool) (*Node, error) {
	if rn.ID == "" {
		return nil, errors.New("id: empty")
	}
	n := &Node{ID: rn.ID, ReplOffset: rn.ReplicationOffset}
	switch rn.Role {
	case "master", "primary":
		n.Role = RolePrimary
	case "replica", "slave":
		n.Role = RoleReplica
	default:
		return nil, fmt.Errorf("role: %q is neither master nor replica", rn.Role)
	}
	switch rn.Health {
	case "online":
		n.Health = HealthOnline
	case "loading":
		n.Health = HealthLoading
	case "fail", "failed":
		n.Health = HealthFailed
	default:
		n.Health = HealthUnknown
	}
	port, field := rn.Port, "port"
	if useTLS {
		port, field = rn.TLSPort, "tls-port"
	}
	if port <= 0 || port > 65535 {
		if !useTLS && rn.TLSPort > 0 {
			return nil, fmt.Errorf("port: %d, but tls-port is %d: the cluster serves TLS only", port, rn.TLSPort)
		}
		return nil, fmt.Errorf("%s: %d is not a port", field, port)
	}
	host := rn.Endpoint
	if host == "" {
		host = rn.Hostname
	}
	if host == "" {
		host = rn.IP
	}
	if host == "?" || host == "" {
		h, err := fromHost(from)
		if err != nil {
			return nil, fmt.Errorf("endpoint: %q, and %w", rn.Endpoint, err)
		}
		host = h
	}
	n.Addr = net.JoinHostPort(host, strconv.FormatInt(port, 10))
	return n, nil
}

// fromHost is the host of the address a reply came from, which the cluster
// specification tells clients to use for a node whose endpoint is unknown.
func fromHost(from string) (string, error) {
	host, _, err := net.SplitHostPort(from)
	if err != nil || host == "" {
		return "", fmt.Errorf("the reply's origin %q has no host to use instead", from)
	}
	return host, nil
}

// ParseSlots builds a topology from a CLUSTER SLOTS reply, the fallback for
// servers older than Redis 7, that the node at from sent. Each entry's first
// node is the primary of its range; entries with the same primary form one
// shard. CLUSTER SLOTS does not report health (it omits failed replicas), so
// nodes have HealthUnknown. An empty host or "?" takes the host of from.
func ParseSlots(slots []redis.ClusterSlot, from string) (*Topology, error) {
	if len(slots) == 0 {
		return nil, errors.New("slotmap: CLUSTER SLOTS reply lists no slots")
	}
	var (
		shards []*Shard
		byKey  = make(map[string]*Shard)
	)
	for i, rs := range slots {
		if rs.Start < 0 || rs.End >= SlotCount || rs.Start > rs.End {
			return nil, fmt.Errorf("slotmap: CLUSTER SLOTS entry %d: range %d-%d is not within 0-%d", i, rs.Start, rs.End, SlotCount-1)
		}
		if len(rs.Nodes) == 0 {
			return nil, fmt.Errorf("slotmap: CLUSTER SLOTS entry %d (slots %d-%d): no nodes", i, rs.Start, rs.End)
		}
		nodes := make([]*Node, len(rs.Nodes))
		for j, cn := range rs.Nodes {
			addr, err := slotsAddr(cn.Addr, from)
			if err != nil {
				return nil, fmt.Errorf("slotmap: CLUSTER SLOTS entry %d (slots %d-%d) node %d: %w", i, rs.Start, rs.End, j, err)
			}
			role := RoleReplica
			if j == 0 {
				role = RolePrimary
			}
			nodes[j] = &Node{ID: cn.ID, Addr: addr, Role: role, Health: HealthUnknown}
		}
		key := nodes[0].ID
		if key == "" {
			key = nodes[0].Addr // servers before 4.0 send no node IDs
		}
		s := byKey[key]
		if s == nil {
			s = &Shard{Primary: nodes[0]}
			byKey[key] = s
			shards = append(shards, s)
		}
		s.Ranges = append(s.Ranges, Range{Start: rs.Start, End: rs.End})
		for _, n := range nodes[1:] {
			if !slices.ContainsFunc(s.Replicas, func(r *Node) bool { return r.Addr == n.Addr }) {
				s.Replicas = append(s.Replicas, n)
			}
		}
	}
	for _, s := range shards {
		s.Ranges = normalize(s.Ranges)
	}
	t, err := newTopology(shards, from)
	if err != nil {
		return nil, fmt.Errorf("%w (CLUSTER SLOTS from %s)", err, from)
	}
	return t, nil
}

// slotsAddr checks a CLUSTER SLOTS address, as go-redis joined it, and gives
// an empty or unknown ("?") host the host of the node that replied.
func slotsAddr(addr, from string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address: %w", err)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("address %q: %q is not a port", addr, port)
	}
	if host == "" || host == "?" {
		if host, err = fromHost(from); err != nil {
			return "", fmt.Errorf("address %q: %w", addr, err)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// normalize sorts ranges and merges those that overlap or touch. Overlaps
// within one shard are harmless repetition; across shards newTopology
// rejects them.
func normalize(rs []Range) []Range {
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(a, b Range) int { return a.Start - b.Start })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.Start <= last.End+1 {
			last.End = max(last.End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}
