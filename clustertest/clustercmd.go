package clustertest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/alicebob/miniredis/v2/server"

	"github.com/clusterhop/clusterhop/slotmap"
)

// cluster answers the CLUSTER subcommands a cluster client uses, in Redis
// 7.0's formats.
func (cn *conn) cluster(args []string) {
	if len(args) < 2 {
		cn.peer.WriteError("ERR wrong number of arguments for 'cluster' command")
		return
	}
	t := cn.n.c.topo.Load()
	sub := strings.ToUpper(args[1])
	want := map[string]int{
		"SHARDS": 2, "SLOTS": 2, "NODES": 2, "MYID": 2, "INFO": 2,
		"KEYSLOT": 3, "COUNTKEYSINSLOT": 3, "GETKEYSINSLOT": 4,
	}
	n, known := want[sub]
	switch {
	case !known:
		cn.peer.WriteError(fmt.Sprintf("ERR unknown subcommand '%s'. Try CLUSTER HELP.", args[1]))
		return
	case len(args) != n:
		cn.peer.WriteError(fmt.Sprintf("ERR wrong number of arguments for 'cluster|%s' command", strings.ToLower(sub)))
		return
	}
	switch sub {
	case "SHARDS":
		cn.peer.Block(func(w *server.Writer) { writeShards(w, t, cn.n.c.store.offset()) })
	case "SLOTS":
		cn.peer.Block(func(w *server.Writer) { writeSlots(w, t) })
	case "NODES":
		cn.writeVerbatim(nodesText(t, cn.n.idx))
	case "INFO":
		cn.writeVerbatim(infoText(t, cn.n.idx))
	case "MYID":
		cn.peer.WriteBulk(cn.n.id)
	case "KEYSLOT":
		cn.peer.WriteInt(slotmap.Slot(args[2]))
	case "COUNTKEYSINSLOT", "GETKEYSINSLOT":
		slot, err := strconv.Atoi(args[2])
		if err != nil || slot < 0 || slot >= slotmap.SlotCount {
			cn.peer.WriteError("ERR Invalid slot")
			return
		}
		keys := cn.n.c.store.keysInSlot(cn.shard(), slot)
		if sub == "COUNTKEYSINSLOT" {
			cn.peer.WriteInt(len(keys))
			return
		}
		max, err := strconv.Atoi(args[3])
		if err != nil || max < 0 {
			cn.peer.WriteError("ERR Invalid slot or number of keys")
			return
		}
		cn.peer.WriteStrings(keys[:min(max, len(keys))])
	}
}

// writeVerbatim answers text as a verbatim string in RESP3 and a bulk
// string in RESP2, as a real server answers CLUSTER NODES and INFO.
func (cn *conn) writeVerbatim(text string) {
	if cn.peer.Resp3 {
		cn.peer.WriteRaw(fmt.Sprintf("=%d\r\ntxt:%s\r\n", len(text)+4, text))
		return
	}
	cn.peer.WriteBulk(text)
}

// writeShards writes CLUSTER SHARDS: per shard a map of its slot ranges
// (a flat list of first/last pairs) and its nodes.
func writeShards(w *server.Writer, t *topology, offset int) {
	w.WriteLen(len(t.shards))
	for s, sh := range t.shards {
		w.WriteMapLen(2)
		w.WriteBulk("slots")
		rs := t.ranges(s)
		w.WriteLen(2 * len(rs))
		for _, r := range rs {
			w.WriteInt(r.first)
			w.WriteInt(r.last)
		}
		w.WriteBulk("nodes")
		w.WriteLen(1 + len(sh.replicas))
		for _, i := range append([]int{sh.primary}, sh.replicas...) {
			n := t.nodes[i]
			role, health := "replica", "online"
			if n.primary {
				role = "master"
			}
			if n.failed {
				health = "fail"
			}
			fields := 7
			if n.hostname != "" {
				fields++
			}
			w.WriteMapLen(fields)
			w.WriteBulk("id")
			w.WriteBulk(n.id)
			w.WriteBulk("port")
			w.WriteInt(n.port)
			w.WriteBulk("ip")
			w.WriteBulk(n.host)
			w.WriteBulk("endpoint")
			w.WriteBulk(t.endpoint(i))
			if n.hostname != "" {
				w.WriteBulk("hostname")
				w.WriteBulk(n.hostname)
			}
			w.WriteBulk("role")
			w.WriteBulk(role)
			w.WriteBulk("replication-offset")
			w.WriteInt(offset)
			w.WriteBulk("health")
			w.WriteBulk(health)
		}
	}
}

// writeSlots writes CLUSTER SLOTS: per slot range its primary, then its
// replicas that are not failed, each as ip, port, id and a map of extra
// endpoint data (empty here).
func writeSlots(w *server.Writer, t *topology) {
	type entry struct {
		r     slotRange
		shard int
	}
	var entries []entry
	for slot := 0; slot < len(t.owner); slot++ {
		s := int(t.owner[slot])
		if s < 0 {
			continue
		}
		if n := len(entries); n > 0 && entries[n-1].shard == s && entries[n-1].r.last == slot-1 {
			entries[n-1].r.last = slot
		} else {
			entries = append(entries, entry{slotRange{slot, slot}, s})
		}
	}
	w.WriteLen(len(entries))
	for _, e := range entries {
		sh := t.shards[e.shard]
		nodes := []int{sh.primary}
		for _, r := range sh.replicas {
			if !t.nodes[r].failed {
				nodes = append(nodes, r)
			}
		}
		w.WriteLen(2 + len(nodes))
		w.WriteInt(e.r.first)
		w.WriteInt(e.r.last)
		for _, i := range nodes {
			writeSlotsNode(w, t, i)
		}
	}
}

// writeSlotsNode writes one node of CLUSTER SLOTS: its preferred endpoint
// (null when unknown), port, ID, and a map of the names not already given.
func writeSlotsNode(w *server.Writer, t *topology, i int) {
	n := t.nodes[i]
	w.WriteLen(4)
	if t.preferred == EndpointUnknown {
		w.WriteNull()
	} else {
		w.WriteBulk(t.endpoint(i))
	}
	w.WriteInt(n.port)
	w.WriteBulk(n.id)
	var extra []string
	if t.preferred != EndpointIP {
		extra = append(extra, "ip", n.host)
	}
	if t.preferred != EndpointHostname && n.hostname != "" {
		extra = append(extra, "hostname", n.hostname)
	}
	w.WriteMapLen(len(extra) / 2)
	for _, s := range extra {
		w.WriteBulk(s)
	}
}

// nodesText is CLUSTER NODES as node me answers it: one line per node,
// with me's open migrations after its slots.
func nodesText(t *topology, me int) string {
	var b strings.Builder
	for i, n := range t.nodes {
		flags := "master"
		primaryID := "-"
		if !n.primary {
			flags = "slave"
			primaryID = t.nodes[t.shards[n.shard].primary].id
		}
		if i == me {
			flags = "myself," + flags
		}
		if n.failed {
			flags += ",fail"
		}
		link := "connected"
		if n.failed {
			link = "disconnected"
		}
		hostname := ""
		if n.hostname != "" {
			hostname = "," + n.hostname
		}
		fmt.Fprintf(&b, "%s %s:%d@%d%s %s %s 0 0 %d %s", n.id, n.host, n.port, n.port+10000, hostname,
			flags, primaryID, t.shards[n.shard].epoch, link)
		if n.primary {
			for _, r := range t.ranges(n.shard) {
				if r.first == r.last {
					fmt.Fprintf(&b, " %d", r.first)
				} else {
					fmt.Fprintf(&b, " %d-%d", r.first, r.last)
				}
			}
		}
		if i == me && n.primary {
			for slot := range slotmap.SlotCount {
				m, ok := t.migrations[slot]
				switch {
				case !ok:
				case m.from == n.shard:
					fmt.Fprintf(&b, " [%d->-%s]", slot, t.nodes[t.shards[m.to].primary].id)
				case m.to == n.shard:
					fmt.Fprintf(&b, " [%d-<-%s]", slot, t.nodes[t.shards[m.from].primary].id)
				}
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// infoText is CLUSTER INFO as node me answers it.
func infoText(t *topology, me int) string {
	state := "ok"
	if !t.ok() {
		state = "fail"
	}
	primaries := 0
	for s := range t.shards {
		if len(t.ranges(s)) > 0 {
			primaries++
		}
	}
	assigned := t.assigned()
	lines := []string{
		"cluster_state:" + state,
		"cluster_slots_assigned:" + strconv.Itoa(assigned),
		"cluster_slots_ok:" + strconv.Itoa(assigned),
		"cluster_slots_pfail:0",
		"cluster_slots_fail:0",
		"cluster_known_nodes:" + strconv.Itoa(len(t.nodes)),
		"cluster_size:" + strconv.Itoa(primaries),
		"cluster_current_epoch:" + strconv.FormatUint(t.epoch, 10),
		"cluster_my_epoch:" + strconv.FormatUint(t.shards[t.nodes[me].shard].epoch, 10),
		"cluster_stats_messages_sent:0",
		"cluster_stats_messages_received:0",
		"total_cluster_links_buffer_limit_exceeded:0",
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

// role answers ROLE as Redis 7.0 does: a primary lists its replicas, a
// replica names its primary.
func (cn *conn) role() {
	t := cn.n.c.topo.Load()
	me := t.nodes[cn.n.idx]
	sh := t.shards[me.shard]
	off := cn.n.c.store.offset()
	cn.peer.Block(func(w *server.Writer) {
		if me.primary {
			w.WriteLen(3)
			w.WriteBulk("master")
			w.WriteInt(off)
			w.WriteLen(len(sh.replicas))
			for _, r := range sh.replicas {
				rv := t.nodes[r]
				w.WriteLen(3)
				w.WriteBulk(rv.host)
				w.WriteBulk(strconv.Itoa(rv.port))
				w.WriteBulk(strconv.Itoa(off))
			}
			return
		}
		p := t.nodes[sh.primary]
		w.WriteLen(5)
		w.WriteBulk("slave")
		w.WriteBulk(p.host)
		w.WriteInt(p.port)
		w.WriteBulk("connected")
		w.WriteInt(off)
	})
}
