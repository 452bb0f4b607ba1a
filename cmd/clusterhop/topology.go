package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/slotmap"
)

type topologyConfig struct {
	addr    string
	jsonOut bool
	timeout time.Duration
	conn    connFlags
}

func topologyFlags() (*flag.FlagSet, *topologyConfig) {
	cfg := &topologyConfig{}
	fs := flag.NewFlagSet("topology", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", "", "`host:port` of any node of the cluster (required)")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the topology and the checks as JSON")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "how long to wait for each node")
	cfg.conn.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: clusterhop topology --addr host:port [flags]\n\n"+
			"Asks the node at --addr for the cluster's topology (CLUSTER SHARDS; CLUSTER SLOTS\n"+
			"on servers older than Redis 7, which report neither health nor offsets) and\n"+
			"prints each shard: its slot ranges, then its primary and replicas with role,\n"+
			"endpoint, health, replication offset, lag behind the primary (bytes) and node id.\n\n"+
			"Then, like redis-cli --cluster check, it asks every node for its own view and\n"+
			"checks that all 16384 slots are covered, that every node answers and agrees\n"+
			"about which node serves each slot, and that no node is marked failed. A\n"+
			"loading replica and a slot left migrating or importing (CLUSTER NODES) are\n"+
			"warnings. The last line, on stderr, is PASS, or FAIL and the problems (exit\n"+
			"status 1).\n\nFlags:")
		printFlags(fs)
	}
	return fs, cfg
}

// topologyReport is the topology command's outcome; its JSON form is stable
// for scripts.
type topologyReport struct {
	From      string        `json:"from"` // the node whose view this is
	Covered   int           `json:"slots_covered"`
	Uncovered []string      `json:"uncovered,omitempty"`
	Shards    []shardReport `json:"shards"`
	OpenSlots []openSlot    `json:"open_slots,omitempty"`
	Checks    []checkResult `json:"checks"`
}

// nodeView is what one node says: its topology and the slots it reports
// migrating or importing.
type nodeView struct {
	topo    *slotmap.Topology
	open    []openSlot
	openErr error // CLUSTER NODES failed
}

type shardReport struct {
	Ranges []string     `json:"ranges"`
	Slots  int          `json:"slots"`
	Nodes  []nodeReport `json:"nodes"` // the primary first
}

type nodeReport struct {
	ID         string `json:"id"`
	Addr       string `json:"addr"`
	Role       string `json:"role"`
	Health     string `json:"health"`
	ReplOffset int64  `json:"repl_offset"`
}

// checkResult is one check's outcome. A warning does not fail the command.
type checkResult struct {
	Level string `json:"level"` // "ok", "warn" or "error"
	Text  string `json:"text"`
}

const (
	levelOK    = "ok"
	levelWarn  = "warn"
	levelError = "error"
)

func runTopology(args []string, stdout, _ io.Writer) (string, error) {
	fs, cfg := topologyFlags()
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	switch {
	case cfg.addr == "":
		return "", usageErrorf("give --addr host:port of a node of the cluster")
	case cfg.timeout <= 0:
		return "", usageErrorf("--timeout must be positive")
	}
	conn, err := cfg.conn.options()
	if err != nil {
		return "", err
	}
	ask := func(ctx context.Context, addr string) (nodeView, error) {
		c := redis.NewClient(&redis.Options{
			Addr: addr, Username: conn.Username, Password: conn.Password, TLSConfig: conn.TLSConfig,
			DialTimeout: cfg.timeout, ReadTimeout: cfg.timeout, WriteTimeout: cfg.timeout, MaxRetries: -1,
		})
		defer c.Close()
		ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
		// A PING first, so that a refused login or certificate is reported
		// once, as itself, rather than as the failure of both topology
		// commands.
		if err := c.Ping(ctx).Err(); err != nil {
			return nodeView{}, err
		}
		topo, err := slotmap.Fetch(ctx, c, addr, conn.TLSConfig != nil)
		if err != nil {
			return nodeView{}, err
		}
		// Open migrations appear only in CLUSTER NODES. A node that will
		// not say (an ACL without it) still has its view checked.
		v := nodeView{topo: topo}
		if nodes, err := c.ClusterNodes(ctx).Result(); err != nil {
			v.openErr = err
		} else {
			v.open = parseOpenSlots(nodes)
		}
		return v, nil
	}
	ctx := context.Background()
	first, err := ask(ctx, cfg.addr)
	if err != nil {
		// A TLS-only node hangs up on a plain-text client.
		if conn.TLSConfig == nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)) {
			return "", fmt.Errorf("asking %s for the topology: %w (if the node serves TLS only, add --tls)", cfg.addr, err)
		}
		return "", fmt.Errorf("asking %s for the topology: %w", cfg.addr, err)
	}
	topo := first.topo
	rep := describe(topo, cfg.addr)
	rep.Checks, rep.OpenSlots = checkTopology(ctx, topo, ask)

	if cfg.jsonOut {
		if err := writeJSON(stdout, rep); err != nil {
			return "", err
		}
	} else {
		printTopology(stdout, rep)
	}
	var problems []string
	warnings := 0
	for _, c := range rep.Checks {
		switch c.Level {
		case levelError:
			problems = append(problems, c.Text)
		case levelWarn:
			warnings++
		}
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	pass := fmt.Sprintf("%d shards, %d nodes, every slot covered, every node answers and agrees", len(rep.Shards), len(topo.Addrs()))
	switch warnings {
	case 0:
	case 1:
		pass += "; 1 warning"
	default:
		pass += fmt.Sprintf("; %d warnings", warnings)
	}
	return pass, nil
}

// describe turns a view into the report's shards, ordered by their first
// slot; shards without slots come last.
func describe(t *slotmap.Topology, from string) topologyReport {
	rep := topologyReport{From: from, Covered: t.Covered()}
	shards := t.Shards()
	sort.SliceStable(shards, func(i, j int) bool {
		a, b := shards[i], shards[j]
		switch {
		case len(a.Ranges) == 0 || len(b.Ranges) == 0:
			return len(a.Ranges) > len(b.Ranges)
		default:
			return a.Ranges[0].Start < b.Ranges[0].Start
		}
	})
	for _, sh := range shards {
		sr := shardReport{Ranges: []string{}}
		for _, r := range sh.Ranges {
			sr.Ranges = append(sr.Ranges, rangeText(r))
			sr.Slots += r.End - r.Start + 1
		}
		sr.Nodes = append(sr.Nodes, nodeOf(sh.Primary))
		for _, n := range sh.Replicas {
			sr.Nodes = append(sr.Nodes, nodeOf(n))
		}
		for _, n := range sh.Unhealthy {
			sr.Nodes = append(sr.Nodes, nodeOf(n))
		}
		rep.Shards = append(rep.Shards, sr)
	}
	rep.Uncovered = uncovered(t)
	return rep
}

// rangeText writes a range as redis-cli does: "0-5460", or "7" for one slot.
func rangeText(r slotmap.Range) string {
	if r.Start == r.End {
		return strconv.Itoa(r.Start)
	}
	return r.String()
}

func nodeOf(n *slotmap.Node) nodeReport {
	return nodeReport{ID: n.ID, Addr: n.Addr, Role: n.Role.String(), Health: n.Health.String(), ReplOffset: n.ReplOffset}
}

// uncovered returns the slot ranges no shard of t serves.
func uncovered(t *slotmap.Topology) []string {
	var out []string
	start := -1
	for s := 0; s <= slotmap.SlotCount; s++ {
		_, err := t.Shard(s)
		free := s < slotmap.SlotCount && err != nil
		switch {
		case free && start < 0:
			start = s
		case !free && start >= 0:
			out = append(out, rangeText(slotmap.Range{Start: start, End: s - 1}))
			start = -1
		}
	}
	return out
}

// checkTopology does what redis-cli --cluster check does with CLUSTER
// NODES, from CLUSTER SHARDS: every slot has an owner, every node answers
// and sees the same owner for every slot as the node asked first, no node
// is marked failed, and no slot is left half migrated.
func checkTopology(ctx context.Context, t *slotmap.Topology, ask func(context.Context, string) (nodeView, error)) ([]checkResult, []openSlot) {
	var checks []checkResult
	if n := t.Covered(); n == slotmap.SlotCount {
		checks = append(checks, checkResult{levelOK, fmt.Sprintf("all %d slots covered", slotmap.SlotCount)})
	} else {
		checks = append(checks, checkResult{levelError, fmt.Sprintf("%d of %d slots not covered: %s",
			slotmap.SlotCount-n, slotmap.SlotCount, strings.Join(uncovered(t), ","))})
	}

	// Each node's own view, asked all at once: a view that differs from the
	// first node's means the cluster has not converged (a migration or
	// failover in progress, or a partition).
	addrs := t.Addrs()
	views := make([]nodeView, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() { views[i], errs[i] = ask(ctx, a) })
	}
	wg.Wait()
	agree, answered := true, 0
	for i, a := range addrs {
		node := t.Node(a)
		switch {
		case errs[i] != nil && node.Health == slotmap.HealthFailed:
			// The cluster knows: reported below with the node's health.
		case errs[i] != nil:
			agree = false
			checks = append(checks, checkResult{levelError, fmt.Sprintf("%s %s does not answer: %v", node.Role, a, errs[i])})
		default:
			answered++
			if n, slot := differ(t, views[i].topo); n > 0 {
				agree = false
				checks = append(checks, checkResult{levelError, fmt.Sprintf("%s %s disagrees about %d slots: slot %d is served by %s there, by %s here",
					node.Role, a, n, slot, ownerAddr(views[i].topo, slot), ownerAddr(t, slot))})
			}
		}
	}
	switch {
	case agree && answered == len(addrs):
		checks = append(checks, checkResult{levelOK, fmt.Sprintf("all %d nodes agree about the slots", len(addrs))})
	case agree:
		checks = append(checks, checkResult{levelOK, fmt.Sprintf("the %d nodes that answer agree about the slots", answered)})
	}

	failed := 0
	for _, a := range addrs {
		n := t.Node(a)
		switch n.Health {
		case slotmap.HealthFailed:
			failed++
			checks = append(checks, checkResult{levelError, fmt.Sprintf("%s %s is marked failed by the cluster", n.Role, a)})
		case slotmap.HealthLoading:
			// The server reports a replica loading while its replication
			// offset is 0: syncing with its primary, or attached to one
			// that has replicated nothing yet. Clients do not read from it
			// until then, but nothing is wrong.
			checks = append(checks, checkResult{levelWarn, fmt.Sprintf("%s %s is loading (syncing, or nothing replicated yet): not serving reads", n.Role, a)})
		}
	}
	if failed == 0 {
		checks = append(checks, checkResult{levelOK, fmt.Sprintf("no node is marked failed (%d nodes)", len(addrs))})
	}

	// A slot stays open (MIGRATING on its owner, IMPORTING on the target)
	// from the start of a migration until CLUSTER SETSLOT NODE ends it:
	// clients meet ASK and TRYAGAIN meanwhile. Normal during a resharding;
	// left behind by one that stopped, it needs redis-cli --cluster fix.
	// Only primaries are asked: Valkey 8 mirrors a primary's MIGRATING and
	// IMPORTING marks on its replicas, which adds nothing.
	var open []openSlot
	for i, a := range addrs {
		if errs[i] != nil || t.Node(a).Role != slotmap.RolePrimary {
			continue
		}
		if views[i].openErr != nil {
			checks = append(checks, checkResult{levelWarn, fmt.Sprintf("%s %s does not list its open slots (CLUSTER NODES: %v)", t.Node(a).Role, a, views[i].openErr)})
			continue
		}
		for _, o := range views[i].open {
			o.Addr, o.PeerAddr = a, addrOfID(t, o.Peer)
			open = append(open, o)
		}
	}
	sort.Slice(open, func(i, j int) bool {
		if open[i].Slot != open[j].Slot {
			return open[i].Slot < open[j].Slot
		}
		return open[i].State > open[j].State // migrating first
	})
	if len(open) == 0 {
		checks = append(checks, checkResult{levelOK, "no slot is migrating or importing"})
	}
	for _, o := range open {
		dir := "to"
		if o.State == stateImporting {
			dir = "from"
		}
		checks = append(checks, checkResult{levelWarn, fmt.Sprintf("slot %d is %s on %s %s %s (a resharding in progress, or one that stopped: redis-cli --cluster fix)",
			o.Slot, o.State, o.Addr, dir, o.PeerAddr)})
	}
	return checks, open
}

// addrOfID returns the address of the node with the given id, or the id
// itself when the view does not know it.
func addrOfID(t *slotmap.Topology, id string) string {
	for _, sh := range t.Shards() {
		for _, n := range append(append([]*slotmap.Node{sh.Primary}, sh.Replicas...), sh.Unhealthy...) {
			if n.ID == id {
				return n.Addr
			}
		}
	}
	return id
}

// differ counts the slots whose owner differs between two views and returns
// the first of them. Owners compare by node id (an endpoint may be written
// differently by different nodes), by address when a view has no ids.
func differ(a, b *slotmap.Topology) (n, first int) {
	first = -1
	for s := 0; s < slotmap.SlotCount; s++ {
		if owner(a, s) != owner(b, s) {
			if n == 0 {
				first = s
			}
			n++
		}
	}
	return n, first
}

func owner(t *slotmap.Topology, slot int) string {
	sh, err := t.Shard(slot)
	if err != nil {
		return ""
	}
	if sh.Primary.ID != "" {
		return sh.Primary.ID
	}
	return sh.Primary.Addr
}

func ownerAddr(t *slotmap.Topology, slot int) string {
	sh, err := t.Shard(slot)
	if err != nil {
		return "no node"
	}
	return sh.Primary.Addr
}

func printTopology(w io.Writer, r topologyReport) {
	nodes := 0
	for _, sh := range r.Shards {
		nodes += len(sh.Nodes)
	}
	fmt.Fprintf(w, "cluster seen from %s: %d shards, %d nodes, %d of %d slots covered\n",
		r.From, len(r.Shards), nodes, r.Covered, slotmap.SlotCount)
	if healthUnknown(r) {
		fmt.Fprintln(w, "(no health or replication offsets: the node answered CLUSTER SLOTS, not CLUSTER SHARDS, as before Redis 7)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARD\tSLOTS\tROLE\tENDPOINT\tHEALTH\tOFFSET\tLAG\tNODE ID")
	for i, sh := range r.Shards {
		primary := sh.Nodes[0]
		for j, n := range sh.Nodes {
			shard, slots := "", ""
			if j == 0 {
				shard, slots = fmt.Sprint(i+1), shardSlots(sh)
			}
			offset, lag := "-", "-"
			if n.Health != slotmap.HealthUnknown.String() {
				offset = fmt.Sprint(n.ReplOffset)
				if j > 0 {
					lag = fmt.Sprint(primary.ReplOffset - n.ReplOffset)
				}
			}
			fmt.Fprintln(tw, strings.Join([]string{shard, slots, n.Role, n.Addr, n.Health, offset, lag, n.ID}, "\t"))
		}
	}
	tw.Flush()
	if len(r.Uncovered) > 0 {
		fmt.Fprintf(w, "\nnot covered: %s\n", strings.Join(r.Uncovered, ","))
	}
	fmt.Fprintln(w)
	for _, c := range r.Checks {
		mark := map[string]string{levelOK: "[OK]", levelWarn: "[WARN]", levelError: "[ERR]"}[c.Level]
		fmt.Fprintf(w, "%s %s\n", mark, c.Text)
	}
}

// healthUnknown reports whether no node has a health: CLUSTER SHARDS
// reports one for every node, CLUSTER SLOTS for none.
func healthUnknown(r topologyReport) bool {
	for _, sh := range r.Shards {
		for _, n := range sh.Nodes {
			if n.Health != slotmap.HealthUnknown.String() {
				return false
			}
		}
	}
	return true
}

// shardSlots is a shard's ranges for the table: the first few of them (a
// resharded cluster can leave many) and the number of slots.
func shardSlots(sh shardReport) string {
	if len(sh.Ranges) == 0 {
		return "(none)"
	}
	const show = 4
	s := strings.Join(sh.Ranges[:min(show, len(sh.Ranges))], ",")
	if len(sh.Ranges) > show {
		s += fmt.Sprintf(",… (%d ranges)", len(sh.Ranges))
	}
	return fmt.Sprintf("%s (%d)", s, sh.Slots)
}

// openSlot is a slot a node reports in the middle of a migration.
type openSlot struct {
	Slot     int    `json:"slot"`
	Addr     string `json:"addr"`  // the node that reports it
	State    string `json:"state"` // stateMigrating (to Peer) or stateImporting (from Peer)
	Peer     string `json:"peer_id"`
	PeerAddr string `json:"peer_addr"`
}

const (
	stateMigrating = "migrating"
	stateImporting = "importing"
)

// parseOpenSlots reads a CLUSTER NODES reply and returns the open slots of
// the node that sent it (the line flagged "myself"): a slot field
// "[N->-id]" is migrating to node id, "[N-<-id]" importing from it. Lines
// and fields it cannot read are skipped: this is a report, and the slot
// map itself comes from CLUSTER SHARDS.
func parseOpenSlots(nodes string) []openSlot {
	var out []openSlot
	for line := range strings.Lines(nodes) {
		f := strings.Fields(line)
		if len(f) < 9 || !hasFlag(f[2], "myself") {
			continue
		}
		for _, field := range f[8:] {
			inner, ok := strings.CutPrefix(field, "[")
			if !ok {
				continue
			}
			inner, ok = strings.CutSuffix(inner, "]")
			if !ok {
				continue
			}
			o := openSlot{State: stateMigrating}
			slot, peer, ok := strings.Cut(inner, "->-")
			if !ok {
				o.State = stateImporting
				if slot, peer, ok = strings.Cut(inner, "-<-"); !ok {
					continue
				}
			}
			n, err := strconv.Atoi(slot)
			if err != nil || n < 0 || n >= slotmap.SlotCount || peer == "" {
				continue
			}
			o.Slot, o.Peer = n, peer
			out = append(out, o)
		}
	}
	return out
}

func hasFlag(flags, want string) bool {
	for f := range strings.SplitSeq(flags, ",") {
		if f == want {
			return true
		}
	}
	return false
}
