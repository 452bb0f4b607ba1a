package clustertest

import (
	"strings"
	"sync"
)

// Stats counts what one node (Cluster.Stats) or every node together
// (Cluster.Counters) saw and answered since the cluster started or since
// ResetStats. Maps are copies the caller may keep.
type Stats struct {
	// Commands counts the commands received, by upper-case name; container
	// commands count under their subcommand too ("CLUSTER SHARDS",
	// "COMMAND INFO", "CLIENT SETINFO").
	Commands map[string]int64

	// Redirects counts the cluster-rule refusals sent, by error code:
	// MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN, EXECABORT.
	Redirects map[string]int64

	// TopologyFetches counts CLUSTER SHARDS, CLUSTER SLOTS and CLUSTER
	// NODES requests.
	TopologyFetches int64

	// InjectedErrors counts the replies sent by InjectError faults.
	InjectedErrors int64

	// Drops counts the connections closed by DropAfterRead faults.
	Drops int64

	// Connections counts the connections accepted.
	Connections int64
}

// nodeStats is a node's running Stats.
type nodeStats struct {
	mu sync.Mutex // protects s
	s  Stats
}

func newNodeStats() *nodeStats {
	return &nodeStats{s: emptyStats()}
}

func emptyStats() Stats {
	return Stats{Commands: map[string]int64{}, Redirects: map[string]int64{}}
}

// containers are the commands whose first argument names a subcommand.
var containers = map[string]bool{
	"ACL": true, "CLIENT": true, "CLUSTER": true, "COMMAND": true, "CONFIG": true,
	"FUNCTION": true, "MEMORY": true, "OBJECT": true, "PUBSUB": true, "SCRIPT": true,
	"XGROUP": true, "XINFO": true,
}

func (n *nodeStats) command(name string, args []string) {
	full := ""
	if containers[name] && len(args) > 1 {
		full = name + " " + strings.ToUpper(args[1])
	}
	n.mu.Lock()
	n.s.Commands[name]++
	if full != "" {
		n.s.Commands[full]++
		switch full {
		case "CLUSTER SHARDS", "CLUSTER SLOTS", "CLUSTER NODES":
			n.s.TopologyFetches++
		}
	}
	n.mu.Unlock()
}

func (n *nodeStats) redirect(reply string) {
	code, _, _ := strings.Cut(reply, " ")
	n.mu.Lock()
	n.s.Redirects[code]++
	n.mu.Unlock()
}

func (n *nodeStats) add(f func(s *Stats)) {
	n.mu.Lock()
	f(&n.s)
	n.mu.Unlock()
}

func (n *nodeStats) snapshot() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := emptyStats()
	out.merge(n.s)
	return out
}

func (n *nodeStats) reset() {
	n.mu.Lock()
	n.s = emptyStats()
	n.mu.Unlock()
}

// merge adds o's counts to s.
func (s *Stats) merge(o Stats) {
	for k, v := range o.Commands {
		s.Commands[k] += v
	}
	for k, v := range o.Redirects {
		s.Redirects[k] += v
	}
	s.TopologyFetches += o.TopologyFetches
	s.InjectedErrors += o.InjectedErrors
	s.Drops += o.Drops
	s.Connections += o.Connections
}
