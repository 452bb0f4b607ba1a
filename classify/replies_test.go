package classify_test

import (
	"bufio"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

// reply is one record of testdata/replies.txt or testdata/spec.txt.
type reply struct {
	file    string
	line    int
	command string // the comment above the record
	kind    string // the kind the record expects, as Kind.String() spells it
	text    string // the reply, exactly as the server sent it
}

func readReplies(t *testing.T, name string) []reply {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	var (
		out     []reply
		comment string
		n       int
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "# "); ok {
			comment = c
			continue
		}
		kind, text, ok := strings.Cut(line, "\t")
		require.True(t, ok, "%s:%d: want <kind> TAB <reply>, got %q", name, n, line)
		out = append(out, reply{file: name, line: n, command: comment, kind: kind, text: text})
	}
	require.NoError(t, sc.Err())
	return out
}

// captured are the files testdata/capture.sh wrote, one per server: Redis 7
// (replies.txt) and Valkey 8 (replies-valkey.txt).
var captured = []string{"replies.txt", "replies-valkey.txt"}

// TestRealReplies parses every reply captured from a real server by
// testdata/capture.sh, and the hand-written endpoint variants.
func TestRealReplies(t *testing.T) {
	var replies []reply
	for _, name := range append(captured, "spec.txt") {
		replies = append(replies, readReplies(t, name)...)
	}
	require.GreaterOrEqual(t, len(replies), 80)
	seen := map[string]bool{}
	for _, r := range replies {
		seen[r.kind] = true
		t.Run(r.file+"/"+r.kind+"/"+r.command, func(t *testing.T) {
			require.NotEmpty(t, r.text, "%s:%d: capture produced no reply", r.file, r.line)
			for _, wire := range []string{r.text, "-" + r.text + "\r\n"} {
				err := classify.Parse(wire)
				assert.Equal(t, r.kind, classify.KindOf(err).String(), "%s:%d", r.file, r.line)
				assert.Equal(t, r.text, err.Error())
				assert.False(t, classify.InDoubt(err))
				assert.Equal(t, err, classify.Classify(replyErr(r.text)), "Classify of the same reply from a client library")
				switch classify.KindOf(err) {
				case classify.KindMoved:
					var m *classify.MovedError
					require.ErrorAs(t, err, &m)
					assert.Equal(t, wantAddr(r.text), m.Addr)
					assert.True(t, errors.Is(err, classify.ErrRedirect))
				case classify.KindAsk:
					var a *classify.AskError
					require.ErrorAs(t, err, &a)
					assert.Equal(t, wantAddr(r.text), a.Addr)
				case classify.KindRedirect:
					var rd *classify.RedirectError
					require.ErrorAs(t, err, &rd)
					assert.True(t, strings.HasSuffix(r.text, " "+rd.Addr))
					assert.True(t, errors.Is(err, classify.ErrRedirect))
				}
			}
		})
	}
	// Every server code that capture.sh can provoke on a stock redis-server
	// is in replies.txt, and on valkey-server (REDIRECT too) in
	// replies-valkey.txt; the others (DENIED) are in spec.txt.
	for _, k := range []string{
		"MOVED", "ASK", "REDIRECT", "TRYAGAIN", "CLUSTERDOWN", "CROSSSLOT", "MASTERDOWN",
		"READONLY", "LOADING", "BUSY", "NOSCRIPT", "NOAUTH", "WRONGPASS", "NOPERM", "OOM",
		"EXECABORT", "WRONGTYPE", "NOREPLICAS", "MISCONF", "UNBLOCKED", "BUSYKEY",
		"BUSYGROUP", "NOGROUP", "NOPROTO", "NOTBUSY", "UNKILLABLE", "DENIED", "ERR",
	} {
		assert.True(t, seen[k], "no sample reply of kind %s", k)
	}
}

// TestRealClusterDownReplies checks that the three CLUSTERDOWN replies
// captured from each real server are told apart.
func TestRealClusterDownReplies(t *testing.T) {
	for _, name := range captured {
		got := map[classify.DownReason]int{}
		for _, r := range readReplies(t, name) {
			if r.kind == "CLUSTERDOWN" {
				got[classify.DownReasonOf(classify.Parse(r.text))]++
			}
		}
		assert.Equal(t, map[classify.DownReason]int{
			classify.DownCluster: 1, classify.DownSlotUnbound: 1, classify.DownReadOnly: 1,
		}, got, name)
	}
}

// TestCapturedFromEachServer checks that each capture holds every reply
// capture.sh provokes, so a server whose wording changed, or that stopped
// answering with an error, shows up as a missing kind, not a silent pass.
func TestCapturedFromEachServer(t *testing.T) {
	want := []string{
		"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "CROSSSLOT", "MASTERDOWN", "READONLY",
		"LOADING", "BUSY", "NOSCRIPT", "NOAUTH", "WRONGPASS", "NOPERM", "OOM", "EXECABORT",
		"WRONGTYPE", "NOREPLICAS", "MISCONF", "UNBLOCKED", "BUSYKEY", "BUSYGROUP", "NOGROUP",
		"NOPROTO", "NOTBUSY", "UNKILLABLE", "ERR",
	}
	for _, name := range captured {
		seen := map[string]bool{}
		for _, r := range readReplies(t, name) {
			seen[r.kind] = true
		}
		for _, k := range want {
			assert.True(t, seen[k], "%s has no %s reply", name, k)
		}
	}
	// Only Valkey has the redirect capability of standalone replicas.
	valkey := readReplies(t, "replies-valkey.txt")
	assert.True(t, slices.ContainsFunc(valkey, func(r reply) bool { return r.kind == "REDIRECT" }),
		"replies-valkey.txt has no REDIRECT reply")
}

// wantAddr is the address a redirection reply's last word names, in the
// form net.Dial accepts; "" for an unknown endpoint ("?").
func wantAddr(text string) string {
	raw := text[strings.LastIndexByte(text, ' ')+1:]
	host, port, ok := classify.SplitAddr(raw)
	switch {
	case !ok || host == "?":
		return ""
	case host == "":
		return raw
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
