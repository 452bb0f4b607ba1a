package clustertest

import (
	"strconv"
	"strings"
)

// info answers INFO with the sections a cluster client may read: the
// server's mode, the node's connections, its replication role and that
// cluster mode is on. Unknown sections are empty, as on a real server.
func (cn *conn) info(args []string) {
	t := cn.n.c.topo.Load()
	me := t.nodes[cn.n.idx]
	cn.n.mu.Lock()
	clients := len(cn.n.conns)
	cn.n.mu.Unlock()

	role := []string{"role:master"}
	if me.primary {
		role = append(role, "connected_slaves:"+strconv.Itoa(len(t.shards[me.shard].replicas)))
	} else {
		p := t.nodes[t.shards[me.shard].primary]
		link := "up"
		if p.failed {
			link = "down"
		}
		role = []string{"role:slave", "master_host:" + p.host, "master_port:" + strconv.Itoa(p.port), "master_link_status:" + link}
	}
	sections := []struct {
		name  string
		lines []string
	}{
		{"server", []string{"redis_version:7.0.15", "redis_mode:cluster", "tcp_port:" + strconv.Itoa(me.port), "run_id:" + me.id}},
		{"clients", []string{"connected_clients:" + strconv.Itoa(clients)}},
		{"replication", role},
		{"cluster", []string{"cluster_enabled:1"}},
	}
	want := map[string]bool{}
	for _, a := range args[1:] {
		want[strings.ToLower(a)] = true
	}
	all := len(want) == 0 || want["default"] || want["all"] || want["everything"]
	var b strings.Builder
	for _, s := range sections {
		if !all && !want[s.name] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + strings.ToUpper(s.name[:1]) + s.name[1:] + "\r\n")
		for _, l := range s.lines {
			b.WriteString(l + "\r\n")
		}
	}
	cn.writeVerbatim(b.String())
}
