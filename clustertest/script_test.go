package clustertest_test

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/slotmap"
)

// A comparison script is a list of commands sent to named nodes, each with
// the reply a real Redis 7.0 cluster gives, and of topology operations:
//
//	# comment
//	p2> GET {a}x          a command to the primary of shard 2 (r2: its replica)
//	-ASK 15495 <p0>       the reply, with addresses and node IDs as names
//	!begin {a} p0         open the migration of {a}'s slot to p0
//	!move {a}x            migrate that key now
//	!finish {a}           move the rest, give the slot to the target
//	!resp3                connections opened from here on speak RESP3
//
// Shards are numbered by slot order, as redis-cli --cluster create makes
// them. Each node name keeps one connection for the whole script, so
// ASKING, READONLY and MULTI carry over. The same scripts run against the
// fake (always) and a real cluster (integration tests), and
// -clustertest.record=host:port rewrites the replies from a real cluster.
var record = flag.String("clustertest.record", "", "rewrite testdata/compare/*.script with the replies of the real cluster at this address")

type scriptTarget interface {
	addr(name string) (string, error)
	begin(slot int, to string) error
	moveKey(key string) error
	finish(slot int) error
}

type step struct {
	line int
	op   []string // "!begin", ... with its arguments; nil for a command
	node string
	args []string
	want string
}

func parseScript(path string) ([]step, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var steps []step
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "!"):
			steps = append(steps, step{line: i + 1, op: strings.Fields(l)})
		default:
			node, cmd, ok := strings.Cut(l, "> ")
			if !ok || i+1 >= len(lines) {
				return nil, fmt.Errorf("%s:%d: want \"node> command\" followed by its reply", path, i+1)
			}
			steps = append(steps, step{line: i + 1, node: node, args: strings.Fields(cmd), want: lines[i+1]})
			i++
		}
	}
	return steps, nil
}

// runScript runs steps on tg and returns the reply of each command step,
// normalized.
func runScript(t *testing.T, tg scriptTarget, steps []step) []string {
	t.Helper()
	conns := map[string]*respConn{}
	defer func() {
		for _, c := range conns {
			c.nc.Close()
		}
	}()
	names := map[string]string{} // address or node ID → <name>
	for _, name := range []string{"p0", "p1", "p2", "r0", "r1", "r2"} {
		addr, err := tg.addr(name)
		require.NoError(t, err)
		names[addr] = "<" + name + ">"
	}
	var got []string
	resp3 := false
	for _, st := range steps {
		if st.op != nil && st.op[0] == "!resp3" {
			resp3 = true
			continue
		}
		if st.op != nil {
			require.NoError(t, runOp(tg, st.op), "line %d", st.line)
			continue
		}
		c, ok := conns[st.node]
		if !ok {
			addr, err := tg.addr(st.node)
			require.NoError(t, err, "line %d", st.line)
			c, err = dialResp(addr)
			require.NoError(t, err, "line %d", st.line)
			conns[st.node] = c
			if resp3 {
				_, err := c.do("HELLO", "3")
				require.NoError(t, err, "line %d", st.line)
			}
			id, err := c.do("CLUSTER", "MYID")
			require.NoError(t, err)
			names[strings.Trim(id, `"`)] = "<id:" + st.node + ">"
		}
		r, err := c.do(st.args...)
		require.NoError(t, err, "line %d: %v", st.line, st.args)
		got = append(got, normalize(r, names))
	}
	return got
}

func runOp(tg scriptTarget, op []string) error {
	slotOf := func(s string) int {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		return slotmap.Slot(s)
	}
	switch {
	case op[0] == "!begin" && len(op) == 3:
		to, err := tg.addr(op[2])
		if err != nil {
			return err
		}
		return tg.begin(slotOf(op[1]), to)
	case op[0] == "!move" && len(op) == 2:
		return tg.moveKey(op[1])
	case op[0] == "!finish" && len(op) == 2:
		return tg.finish(slotOf(op[1]))
	}
	return fmt.Errorf("unknown operation %v", op)
}

// normalize replaces addresses and node IDs with names, longest first so
// that no address is cut by a shorter one.
func normalize(r string, names map[string]string) string {
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	for _, k := range keys {
		r = strings.ReplaceAll(r, k, names[k])
	}
	return r
}

func scriptFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "compare", "*.script"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// checkScripts runs every script on a target that newTarget makes afresh
// for each, and reports each reply that differs from the script's.
func checkScripts(t *testing.T, newTarget func(t *testing.T) scriptTarget) {
	for _, path := range scriptFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			steps, err := parseScript(path)
			require.NoError(t, err)
			got := runScript(t, newTarget(t), steps)
			i := 0
			for _, st := range steps {
				if st.op != nil {
					continue
				}
				if got[i] != st.want {
					t.Errorf("%s:%d: %s> %s\n  real: %s\n  fake: %s", path, st.line, st.node, strings.Join(st.args, " "), st.want, got[i])
				}
				i++
			}
		})
	}
}

func TestScriptsMatchRedis70(t *testing.T) {
	if *record != "" {
		recordScripts(t, *record)
		return
	}
	checkScripts(t, func(t *testing.T) scriptTarget {
		return fakeTarget{clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})}
	})
}

// recordScripts rewrites each script with the replies of a real cluster,
// which must have three shards with a replica each and be empty.
func recordScripts(t *testing.T, seed string) {
	for _, path := range scriptFiles(t) {
		steps, err := parseScript(path)
		require.NoError(t, err)
		tg, err := newRealTarget(seed)
		require.NoError(t, err)
		got := runScript(t, tg, steps)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		lines := strings.Split(string(data), "\n")
		i := 0
		for _, st := range steps {
			if st.op == nil {
				lines[st.line] = got[i] // the reply follows its command
				i++
			}
		}
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644))
		tg.flush()
	}
}

type fakeTarget struct{ c *clustertest.Cluster }

func (f fakeTarget) addr(name string) (string, error) {
	role, shard, err := parseName(name)
	if err != nil {
		return "", err
	}
	if role == 'p' {
		return f.c.Primary(shard), nil
	}
	return f.c.Replicas(shard)[0], nil
}

func (f fakeTarget) begin(slot int, to string) error { return f.c.BeginMigration(slot, to) }
func (f fakeTarget) finish(slot int) error           { return f.c.FinishMigration(slot) }
func (f fakeTarget) moveKey(key string) error {
	moved, err := f.c.MoveKey(key)
	if err == nil && !moved {
		err = fmt.Errorf("key %q is not on the source", key)
	}
	return err
}

// parseName splits "p2" into 'p' and 2.
func parseName(name string) (byte, int, error) {
	if len(name) < 2 || (name[0] != 'p' && name[0] != 'r') {
		return 0, 0, fmt.Errorf("node name %q: want p<shard> or r<shard>", name)
	}
	n, err := strconv.Atoi(name[1:])
	if err != nil || n < 0 || n > 2 {
		return 0, 0, fmt.Errorf("node name %q: want a shard from 0 to 2", name)
	}
	return name[0], n, nil
}

// respConn is a bare RESP connection that renders replies as one line:
// +simple, -error, :integer, "bulk", (nil), [a, b], and for RESP3
// {key: value}, ~[set], >[push], (null), ,double, #t, =verbatim.
type respConn struct {
	nc net.Conn
	r  *bufio.Reader
}

func dialResp(addr string) (*respConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &respConn{nc: nc, r: bufio.NewReader(nc)}, nil
}

func (c *respConn) do(args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := c.nc.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return "", err
	}
	if _, err := c.nc.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return c.read()
}

func (c *respConn) read() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply line")
	}
	switch line[0] {
	case '+', '-', ':', ',', '#', '(':
		return line, nil
	case '_':
		return "(null)", nil
	case '%', '~', '>':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("bad aggregate length %q", line)
		}
		if line[0] == '%' {
			n *= 2
		}
		elems := make([]string, n)
		for i := range elems {
			if elems[i], err = c.read(); err != nil {
				return "", err
			}
		}
		if line[0] != '%' {
			return line[:1] + "[" + strings.Join(elems, ", ") + "]", nil
		}
		pairs := make([]string, 0, n/2)
		for i := 0; i < n; i += 2 {
			pairs = append(pairs, elems[i]+": "+elems[i+1])
		}
		return "{" + strings.Join(pairs, ", ") + "}", nil
	case '=':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("bad verbatim length %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return "", err
		}
		return "=" + strconv.Quote(string(buf[:n])), nil
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "(nil)", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return "", err
		}
		return strconv.Quote(string(buf[:n])), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "(nil)", err
		}
		elems := make([]string, n)
		for i := range elems {
			if elems[i], err = c.read(); err != nil {
				return "", err
			}
		}
		return "[" + strings.Join(elems, ", ") + "]", nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
