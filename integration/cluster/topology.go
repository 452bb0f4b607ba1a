package cluster

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// nodeLine is one line of CLUSTER NODES: one node as seen by the node that
// answered.
type nodeLine struct {
	id        string
	addr      string // host:port clients use; empty when the node has no address yet
	myself    bool
	primary   bool
	failed    bool // "fail": a majority of primaries agreed it is down
	pfail     bool // "fail?": the answering node cannot reach it
	handshake bool // not yet a member: the MEET is in progress
	primaryID string
	epoch     int64
	slots     []slotRange // owned slots, without migration markers
}

type slotRange struct{ lo, hi int }

// parseNodes parses the reply of CLUSTER NODES. Each line is
// "<id> <ip:port@cport[,hostname]> <flags> <primary> <ping> <pong> <epoch>
// <link> <slot>...", where a slot is "N", "N-M", or a migration marker
// "[N->-id]" / "[N-<-id]" that describes an open migration, not ownership.
func parseNodes(text string) ([]nodeLine, error) {
	var out []nodeLine
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("cluster: CLUSTER NODES line has %d fields, want at least 8: %q", len(f), line)
		}
		n := nodeLine{id: f[0]}
		addr, _, _ := strings.Cut(f[1], ",")
		addr, _, _ = strings.Cut(addr, "@")
		// An IPv6 host is not bracketed ("::1:7000"): the port follows the
		// last colon. The address is kept in the form net.Dial accepts,
		// the form of the harness's own node addresses.
		if i := strings.LastIndexByte(addr, ':'); i > 0 && addr[i+1:] != "0" {
			n.addr = net.JoinHostPort(addr[:i], addr[i+1:])
		}
		for _, flag := range strings.Split(f[2], ",") {
			switch flag {
			case "myself":
				n.myself = true
			case "master":
				n.primary = true
			case "fail":
				n.failed = true
			case "fail?":
				n.pfail = true
			case "handshake":
				n.handshake = true
			}
		}
		if f[3] != "-" {
			n.primaryID = f[3]
		}
		epoch, err := strconv.ParseInt(f[6], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cluster: CLUSTER NODES config epoch %q: %w", f[6], err)
		}
		n.epoch = epoch
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				continue
			}
			lo, hi, isRange := strings.Cut(s, "-")
			r := slotRange{}
			if r.lo, err = strconv.Atoi(lo); err != nil {
				return nil, fmt.Errorf("cluster: CLUSTER NODES slot %q: %w", s, err)
			}
			r.hi = r.lo
			if isRange {
				if r.hi, err = strconv.Atoi(hi); err != nil {
					return nil, fmt.Errorf("cluster: CLUSTER NODES slot %q: %w", s, err)
				}
			}
			if r.lo < 0 || r.hi >= slotCount || r.lo > r.hi {
				return nil, fmt.Errorf("cluster: CLUSTER NODES slot %q out of range 0-%d", s, slotCount-1)
			}
			n.slots = append(n.slots, r)
		}
		out = append(out, n)
	}
	return out, nil
}

// topology is one node's view of the cluster, indexed for the questions
// the harness asks.
type topology struct {
	lines []nodeLine
	byID  map[string]*nodeLine
	owner [slotCount]string // node id, "" when unassigned
}

func newTopology(lines []nodeLine) *topology {
	t := &topology{lines: lines, byID: make(map[string]*nodeLine, len(lines))}
	for i := range t.lines {
		n := &t.lines[i]
		t.byID[n.id] = n
		for _, r := range n.slots {
			for s := r.lo; s <= r.hi; s++ {
				t.owner[s] = n.id
			}
		}
	}
	return t
}

// self is the answering node's own line.
func (t *topology) self() *nodeLine {
	for i := range t.lines {
		if t.lines[i].myself {
			return &t.lines[i]
		}
	}
	return nil
}

// signature is a canonical text of what must be the same on every node of
// a settled cluster: which node owns each slot range, and the role and
// primary of each node in live (the nodes the harness expects to answer).
func (t *topology) signature(live []string) string {
	var b strings.Builder
	start := 0
	for s := 1; s <= slotCount; s++ {
		if s == slotCount || t.owner[s] != t.owner[start] {
			fmt.Fprintf(&b, "%d-%d:%s ", start, s-1, t.owner[start])
			start = s
		}
	}
	ids := slices.Clone(live)
	slices.Sort(ids)
	for _, id := range ids {
		n := t.byID[id]
		switch {
		case n == nil:
			fmt.Fprintf(&b, "| %s unknown ", id)
		case n.primary:
			fmt.Fprintf(&b, "| %s primary ", id)
		default:
			fmt.Fprintf(&b, "| %s replica-of %s ", id, n.primaryID)
		}
	}
	return b.String()
}
