package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/slotmap"
)

// TestTopologyFake prints a healthy fake cluster as a table: each shard's
// ranges, its primary and replica with endpoint, health, offset, lag and
// node id, the three checks passed, and PASS.
func TestTopologyFake(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	var out, errOut bytes.Buffer
	code := run([]string{"topology", "--addr", c.Primary(1)}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	text := out.String()
	t.Log("\n" + text)

	assert.Contains(t, text, "cluster seen from "+c.Primary(1)+": 3 shards, 6 nodes, 16384 of 16384 slots covered\n")
	ranges := []string{"0-5460 (5461)", "5461-10922 (5462)", "10923-16383 (5461)"}
	for i := range 3 {
		p, r := c.Primary(i), c.Replicas(i)[0]
		assert.Regexp(t, fmt.Sprintf(`(?m)^%d +%s +primary +%s +online +\d+ +- +%s$`,
			i+1, regexp.QuoteMeta(ranges[i]), regexp.QuoteMeta(p), c.NodeID(p)), text)
		assert.Regexp(t, fmt.Sprintf(`(?m)^ +replica +%s +online +\d+ +0 +%s$`,
			regexp.QuoteMeta(r), c.NodeID(r)), text, "replica of shard %d follows it", i+1)
	}
	assert.Contains(t, text, "\n[OK] all 16384 slots covered\n[OK] all 6 nodes agree about the slots\n[OK] no node is marked failed (6 nodes)\n[OK] no slot is migrating or importing\n")
	assert.Equal(t, "PASS: 3 shards, 6 nodes, every slot covered, every node answers and agrees\n", errOut.String())
}

func TestTopologyFakeJSON(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 2})
	var out, errOut bytes.Buffer
	code := run([]string{"topology", "--addr", c.Replicas(2)[1], "--json"}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	var rep topologyReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())

	assert.Equal(t, c.Replicas(2)[1], rep.From)
	assert.Equal(t, 16384, rep.Covered)
	assert.Empty(t, rep.Uncovered)
	require.Len(t, rep.Shards, 3)
	slots := 0
	for i, sh := range rep.Shards {
		slots += sh.Slots
		require.Len(t, sh.Nodes, 3, "a primary and two replicas")
		assert.Equal(t, nodeReport{ID: c.NodeID(c.Primary(i)), Addr: c.Primary(i), Role: "primary", Health: "online",
			ReplOffset: sh.Nodes[0].ReplOffset}, sh.Nodes[0])
		var replicas []string
		for _, n := range sh.Nodes[1:] {
			assert.Equal(t, "replica", n.Role)
			assert.Equal(t, "online", n.Health)
			assert.Equal(t, c.NodeID(n.Addr), n.ID)
			replicas = append(replicas, n.Addr)
		}
		assert.ElementsMatch(t, c.Replicas(i), replicas)
	}
	assert.Equal(t, []string{"0-5460"}, rep.Shards[0].Ranges)
	assert.Equal(t, 16384, slots)
	require.Len(t, rep.Checks, 4)
	for _, ch := range rep.Checks {
		assert.Equal(t, levelOK, ch.Level, ch.Text)
	}
}

// TestTopologyFakeProblems: uncovered slots and a failed node are each
// reported, and the command fails with them.
func TestTopologyFakeProblems(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	dead := c.Replicas(1)[0]
	require.NoError(t, c.DelSlots(100, 199))
	require.NoError(t, c.DelSlots(300, 300))
	require.NoError(t, c.KillNode(dead))

	var out, errOut bytes.Buffer
	code := run([]string{"topology", "--addr", c.Primary(0)}, &out, &errOut)
	assert.Equal(t, 1, code)
	text := out.String()
	t.Log("\n" + text)
	assert.Contains(t, text, "16283 of 16384 slots covered")
	assert.Regexp(t, `(?m)^1 +0-99,200-299,301-5460 \(5360\) +primary `, text)
	assert.Regexp(t, fmt.Sprintf(`(?m)^ +replica +%s +fail `, regexp.QuoteMeta(dead)), text)
	assert.Contains(t, text, "\nnot covered: 100-199,300\n")
	assert.Contains(t, text, "[ERR] 101 of 16384 slots not covered: 100-199,300\n")
	assert.Contains(t, text, "[OK] the 5 nodes that answer agree about the slots\n")
	assert.Contains(t, text, "[ERR] replica "+dead+" is marked failed by the cluster\n")
	assert.Equal(t, "FAIL: 101 of 16384 slots not covered: 100-199,300; replica "+dead+" is marked failed by the cluster\n", errOut.String())
}

// TestTopologyFakeMigration: slots half migrated are warnings naming both
// sides; the cluster still passes.
func TestTopologyFakeMigration(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	from, to := c.Primary(0), c.Primary(2)
	require.NoError(t, c.BeginMigration(42, to))
	require.NoError(t, c.BeginMigration(7, to))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"topology", "--addr", c.Primary(1)}, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "\n[WARN] slot 7 is migrating on "+from+" to "+to+" (a resharding in progress, or one that stopped: redis-cli --cluster fix)\n"+
		"[WARN] slot 7 is importing on "+to+" from "+from+" (a resharding in progress, or one that stopped: redis-cli --cluster fix)\n"+
		"[WARN] slot 42 is migrating on "+from+" to "+to)
	assert.NotContains(t, out.String(), "no slot is migrating")
	assert.Equal(t, "PASS: 3 shards, 6 nodes, every slot covered, every node answers and agrees; 4 warnings\n", errOut.String())

	out.Reset()
	require.Equal(t, 0, run([]string{"topology", "--addr", c.Primary(1), "--json"}, &out, &errOut))
	var rep topologyReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	assert.Equal(t, []openSlot{
		{Slot: 7, Addr: from, State: "migrating", Peer: c.NodeID(to), PeerAddr: to},
		{Slot: 7, Addr: to, State: "importing", Peer: c.NodeID(from), PeerAddr: from},
		{Slot: 42, Addr: from, State: "migrating", Peer: c.NodeID(to), PeerAddr: to},
		{Slot: 42, Addr: to, State: "importing", Peer: c.NodeID(from), PeerAddr: from},
	}, rep.OpenSlots)

	require.NoError(t, c.FinishMigration(7))
	require.NoError(t, c.FinishMigration(42))
	out.Reset()
	errOut.Reset()
	require.Equal(t, 0, run([]string{"topology", "--addr", c.Primary(1)}, &out, &errOut))
	assert.Contains(t, out.String(), "[OK] no slot is migrating or importing\n")
	assert.Regexp(t, `(?m)^2 +7,42,10923-16383 \(5463\) +primary +`+regexp.QuoteMeta(to)+" ", out.String())
}

// TestTopologyNodeNotAnswering: a node the cluster believes healthy that
// refuses connections is a problem of its own.
func TestTopologyNodeNotAnswering(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	gone := c.Replicas(2)[0]
	require.NoError(t, c.CloseListener(gone))

	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run([]string{"topology", "--addr", c.Primary(0)}, &out, &errOut))
	assert.Contains(t, out.String(), "[ERR] replica "+gone+" does not answer: ")
	assert.Contains(t, out.String(), "connection refused")
	assert.NotContains(t, out.String(), "agree")
	assert.True(t, strings.HasPrefix(errOut.String(), "FAIL: replica "+gone+" does not answer"), errOut.String())
}

func TestTopologyUnreachable(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run([]string{"topology", "--addr", "127.0.0.1:1", "--timeout", "2s"}, &out, &errOut))
	assert.Empty(t, out.String())
	assert.Regexp(t, `^FAIL: asking 127\.0\.0\.1:1 for the topology: .*connection refused\n$`, errOut.String())
}

// TestTopologyDisagreement: a node whose own view routes slots elsewhere
// (a migration half done, a partition) is named with the first such slot.
func TestTopologyDisagreement(t *testing.T) {
	a, b := "127.0.0.1:7000", "127.0.0.1:7001"
	view := func(split int, from string) *slotmap.Topology {
		top, err := slotmap.ParseSlots([]redis.ClusterSlot{
			{Start: 0, End: split - 1, Nodes: []redis.ClusterNode{{ID: "aaaa", Addr: a}}},
			{Start: split, End: 16383, Nodes: []redis.ClusterNode{{ID: "bbbb", Addr: b}}},
		}, from)
		require.NoError(t, err)
		return top
	}
	mine := view(8192, a)
	ask := func(_ context.Context, addr string) (nodeView, error) {
		if addr == b {
			return nodeView{topo: view(8001, b)}, nil
		}
		return nodeView{topo: view(8192, a)}, nil
	}
	checks, _ := checkTopology(context.Background(), mine, ask)
	assert.Equal(t, []checkResult{
		{levelOK, "all 16384 slots covered"},
		{levelError, "primary 127.0.0.1:7001 disagrees about 191 slots: slot 8001 is served by 127.0.0.1:7001 there, by 127.0.0.1:7000 here"},
		{levelOK, "no node is marked failed (2 nodes)"},
		{levelOK, "no slot is migrating or importing"},
	}, checks)

	refused := func(_ context.Context, addr string) (nodeView, error) {
		if addr == b {
			return nodeView{}, errors.New("connection refused")
		}
		return nodeView{topo: view(8192, a)}, nil
	}
	checks, _ = checkTopology(context.Background(), mine, refused)
	assert.Equal(t, checkResult{levelError, "primary 127.0.0.1:7001 does not answer: connection refused"}, checks[1])
}

// TestTopologyFromClusterSlots: a view from CLUSTER SLOTS (servers before
// Redis 7) has no health or offsets, and the table says why.
func TestTopologyFromClusterSlots(t *testing.T) {
	top, err := slotmap.ParseSlots([]redis.ClusterSlot{
		{Start: 0, End: 16383, Nodes: []redis.ClusterNode{{ID: "pppp", Addr: "127.0.0.1:7000"}, {ID: "rrrr", Addr: "127.0.0.1:7003"}}},
	}, "127.0.0.1:7000")
	require.NoError(t, err)
	var out bytes.Buffer
	printTopology(&out, describe(top, "127.0.0.1:7000"))
	assert.Contains(t, out.String(), "slots covered\n(no health or replication offsets: the node answered CLUSTER SLOTS")
	assert.Regexp(t, `(?m)^1 +0-16383 \(16384\) +primary +127\.0\.0\.1:7000 +unknown +- +- +pppp$`, out.String())
	assert.Regexp(t, `(?m)^ +replica +127\.0\.0\.1:7003 +unknown +- +- +rrrr$`, out.String())

	out.Reset()
	printTopology(&out, describe(healthyTopology(t), "127.0.0.1:7000"))
	assert.NotContains(t, out.String(), "CLUSTER SLOTS")
}

func healthyTopology(t *testing.T) *slotmap.Topology {
	top, err := slotmap.ParseShards([]redis.ClusterShard{{
		Slots: []redis.SlotRange{{Start: 0, End: 16383}},
		Nodes: []redis.Node{{ID: "pppp", Endpoint: "127.0.0.1", Port: 7000, Role: "master", Health: "online"}},
	}}, "127.0.0.1:7000", false)
	require.NoError(t, err)
	return top
}

// TestTopologyLoadingReplica: a replica CLUSTER SHARDS reports loading
// (the server's word for a replica whose offset is still 0, as on a fresh
// cluster that has replicated nothing) is a warning, not a failure.
func TestTopologyLoadingReplica(t *testing.T) {
	p, r := "127.0.0.1:7000", "127.0.0.1:7003"
	top, err := slotmap.ParseShards([]redis.ClusterShard{{
		Slots: []redis.SlotRange{{Start: 0, End: 16383}},
		Nodes: []redis.Node{
			{ID: "pppp", Endpoint: "127.0.0.1", Port: 7000, Role: "master", Health: "online"},
			{ID: "rrrr", Endpoint: "127.0.0.1", Port: 7003, Role: "replica", Health: "loading"},
		},
	}}, p, false)
	require.NoError(t, err)
	same := func(context.Context, string) (nodeView, error) { return nodeView{topo: top}, nil }
	checks, _ := checkTopology(context.Background(), top, same)
	assert.Equal(t, []checkResult{
		{levelOK, "all 16384 slots covered"},
		{levelOK, "all 2 nodes agree about the slots"},
		{levelWarn, "replica " + r + " is loading (syncing, or nothing replicated yet): not serving reads"},
		{levelOK, "no node is marked failed (2 nodes)"},
		{levelOK, "no slot is migrating or importing"},
	}, checks)

	var out bytes.Buffer
	printTopology(&out, topologyReport{From: p, Covered: top.Covered(), Shards: describe(top, p).Shards, Checks: checks})
	assert.Regexp(t, `(?m)^ +replica +127\.0\.0\.1:7003 +loading +0 +0 +rrrr$`, out.String())
	assert.Contains(t, out.String(), "\n[WARN] replica 127.0.0.1:7003 is loading")
}

// TestTopologyConnectionFlags: --user, --password (or $REDISCLI_AUTH) and
// --tls with --tls-ca or --tls-insecure reach the node's first command.
func TestTopologyConnectionFlags(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	for _, tc := range []struct {
		name  string
		tls   bool
		flags []string
		env   string
		want  string // in the first command; "" for none (the handshake fails)
	}{
		{name: "user and password", flags: []string{"--user", "app", "--password", "s3cret"}, want: "AUTH app s3cret"},
		{name: "REDISCLI_AUTH", env: "fromenv", want: "fromenv"},
		{name: "password flag over REDISCLI_AUTH", flags: []string{"--password", "flag"}, env: "fromenv", want: "flag"},
		{name: "tls with CA", tls: true, flags: []string{"--tls", "--tls-ca", ca, "--user", "app", "--password", "x"}, want: "AUTH app x"},
		{name: "tls insecure", tls: true, flags: []string{"--tls", "--tls-insecure", "--password", "y"}, want: "y"},
		{name: "tls with system roots", tls: true, flags: []string{"--tls", "--password", "z"}},
		{name: "plain to a tls node", tls: true, flags: []string{"--password", "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("REDISCLI_AUTH", tc.env)
			var ln net.Listener
			var err error
			if tc.tls {
				ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLS.Clone())
			} else {
				ln, err = net.Listen("tcp", "127.0.0.1:0")
			}
			require.NoError(t, err)
			first := firstCommand(ln)
			args := append([]string{"topology", "--addr", ln.Addr().String(), "--timeout", "2s"}, tc.flags...)
			var out, errOut bytes.Buffer
			assert.Equal(t, 1, run(args, &out, &errOut), "the node hangs up after the first command")
			ln.Close()
			got := strings.Join(<-first, " ")
			if tc.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, strings.ToLower(got), strings.ToLower(tc.want))
			}
			assert.True(t, strings.HasPrefix(errOut.String(), "FAIL: asking "), errOut.String())
		})
	}
}

// firstCommand reads the first RESP command of each connection to ln and
// hangs up; the channel gets the words of the first one, or nothing when
// no command came (a failed TLS handshake).
func firstCommand(ln net.Listener) <-chan []string {
	ch := make(chan []string, 1)
	go func() {
		var words []string
		defer func() { ch <- words }()
		for words == nil {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			words = readCommand(bufio.NewReader(c))
			c.Close()
		}
	}()
	return ch
}

func readCommand(r *bufio.Reader) []string {
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "*") {
		return nil
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	words := []string{}
	for range n {
		if _, err := r.ReadString('\n'); err != nil { // $len
			return words
		}
		w, err := r.ReadString('\n')
		if err != nil {
			return words
		}
		words = append(words, strings.TrimSpace(w))
	}
	return words
}

// TestTopologyRealCluster reads a real cluster's CLUSTER SHARDS.
func TestTopologyRealCluster(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Config{Primaries: 3, ReplicasPerPrimary: 1})
	var out, errOut bytes.Buffer
	code := run([]string{"topology", "--addr", c.Primaries()[0]}, &out, &errOut)
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out.String(), errOut.String())
	t.Logf("%s %s:\n%s%s", c.Server(), c.Version(), out.String(), errOut.String())
	assert.Contains(t, out.String(), "3 shards, 6 nodes, 16384 of 16384 slots covered")
	// A fresh cluster's replicas may still be "loading" (offset 0): each
	// is a warning, counted on the PASS line.
	warnings := strings.Count(out.String(), "\n[WARN] ")
	pass := "PASS: 3 shards, 6 nodes, every slot covered, every node answers and agrees"
	switch warnings {
	case 0:
		assert.Equal(t, pass+"\n", errOut.String())
	case 1:
		assert.Equal(t, pass+"; 1 warning\n", errOut.String())
	default:
		assert.Equal(t, fmt.Sprintf("%s; %d warnings\n", pass, warnings), errOut.String())
	}
	assert.Len(t, regexp.MustCompile(`(?m)^ +replica +\S+ +loading `).FindAllString(out.String(), -1), warnings)

	out.Reset()
	errOut.Reset()
	code = run([]string{"topology", "--addr", c.Replicas(c.Primaries()[1])[0], "--json"}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	var rep topologyReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	require.Len(t, rep.Shards, 3)
	slots := 0
	for _, sh := range rep.Shards {
		slots += sh.Slots
		require.Len(t, sh.Nodes, 2, "%+v", sh)
		p, r := sh.Nodes[0], sh.Nodes[1]
		assert.Equal(t, "primary", p.Role)
		assert.Equal(t, c.NodeID(p.Addr), p.ID)
		assert.Equal(t, "online", p.Health)
		assert.Equal(t, "replica", r.Role)
		assert.Equal(t, c.Replicas(p.Addr), []string{r.Addr})
		assert.Equal(t, c.NodeID(r.Addr), r.ID)
		// A replica is "loading" until its primary has replicated something.
		assert.Contains(t, []string{"online", "loading"}, r.Health)
		for _, s := range c.SlotsOf(p.Addr)[:1] {
			sh0, err := rangesHold(sh.Ranges, s)
			require.NoError(t, err)
			assert.True(t, sh0, "slot %d of %s in %v", s, p.Addr, sh.Ranges)
		}
	}
	assert.Equal(t, 16384, slots)

	// A slot half migrated, as redis-cli --cluster reshard leaves it
	// between CLUSTER SETSLOT MIGRATING/IMPORTING and SETSLOT NODE.
	from, to := c.Primaries()[0], c.Primaries()[2]
	slot := c.SlotsOf(from)[0]
	ctx := context.Background()
	require.NoError(t, c.BeginMigration(ctx, slot, to))
	out.Reset()
	errOut.Reset()
	require.Equal(t, 0, run([]string{"topology", "--addr", c.Primaries()[1], "--json"}, &out, &errOut), errOut.String())
	rep = topologyReport{}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	assert.Equal(t, []openSlot{
		{Slot: slot, Addr: from, State: "migrating", Peer: c.NodeID(to), PeerAddr: to},
		{Slot: slot, Addr: to, State: "importing", Peer: c.NodeID(from), PeerAddr: from},
	}, rep.OpenSlots)
	require.NoError(t, c.FinishMigration(ctx, slot))
}

// TestTopologyRealClusterIPv6: node addresses are written as net.Dial
// takes them ([::1]:port), and every node is asked at that address.
func TestTopologyRealClusterIPv6(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Config{Primaries: 3, Host: "::1"})
	var out, errOut bytes.Buffer
	code := run([]string{"topology", "--addr", c.Primaries()[0]}, &out, &errOut)
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out.String(), errOut.String())
	t.Log("\n" + out.String())
	for _, a := range c.Primaries() {
		require.True(t, strings.HasPrefix(a, "[::1]:"), a)
		assert.Regexp(t, `(?m)^\d +\S+ \(\d+\) +primary +`+regexp.QuoteMeta(a)+" +online ", out.String())
	}
	assert.Contains(t, out.String(), "[OK] all 3 nodes agree about the slots\n")
}

// rangesHold reports whether one of the "start-end" ranges holds slot.
func rangesHold(ranges []string, slot int) (bool, error) {
	for _, r := range ranges {
		var a, b int
		if _, err := fmt.Sscanf(r, "%d-%d", &a, &b); err != nil {
			return false, err
		}
		if a <= slot && slot <= b {
			return true, nil
		}
	}
	return false, nil
}

func TestParseOpenSlots(t *testing.T) {
	const (
		me    = "07c37dfeb235213a872192d90877d0cd55635b91"
		other = "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"
	)
	for _, tc := range []struct {
		name, nodes string
		want        []openSlot
	}{
		{"none", me + " 127.0.0.1:30004@31004 myself,master - 0 1426238317239 4 connected 0-5460\n", nil},
		{"migrating and importing",
			other + " 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922 [93-<-" + me + "]\n" +
				me + " 127.0.0.1:30004@31004,node-4.example myself,master - 0 1426238317239 4 connected 0-5460 [93->-" + other + "] [77-<-" + other + "]\n",
			[]openSlot{{Slot: 93, State: "migrating", Peer: other}, {Slot: 77, State: "importing", Peer: other}}},
		{"only the myself line", other + " 127.0.0.1:30002@31002 master - 0 0 2 connected [5->-" + me + "]\n", nil},
		{"CRLF", me + " :0@0 myself,master - 0 0 0 connected [16383->-" + other + "]\r\n",
			[]openSlot{{Slot: 16383, State: "migrating", Peer: other}}},
		{"malformed fields skipped", me + " a myself,master - 0 0 0 connected [x->-y] [16384->-y] [1->-] [2-?-y] [3->-y 4-5 [6-<-z]\n",
			[]openSlot{{Slot: 6, State: "importing", Peer: "z"}}},
		{"short line", me + " a myself\n", nil},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, parseOpenSlots(tc.nodes))
		})
	}
}

func FuzzParseOpenSlots(f *testing.F) {
	f.Add("07c3 127.0.0.1:30004@31004 myself,master - 0 1 4 connected 0-5460 [93->-67ed] [77-<-67ed]\n")
	f.Add("x y myself z z z z z [")
	f.Fuzz(func(t *testing.T, nodes string) {
		for _, o := range parseOpenSlots(nodes) {
			if o.Slot < 0 || o.Slot >= 16384 || o.Peer == "" || (o.State != stateMigrating && o.State != stateImporting) {
				t.Fatalf("parseOpenSlots(%q) gave %+v", nodes, o)
			}
		}
	})
}
