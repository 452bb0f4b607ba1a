package classify_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
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

// TestRealReplies parses every reply captured from a real server by
// testdata/capture.sh, and the hand-written Valkey and endpoint variants.
func TestRealReplies(t *testing.T) {
	replies := append(readReplies(t, "replies.txt"), readReplies(t, "spec.txt")...)
	require.GreaterOrEqual(t, len(replies), 40)
	seen := map[string]bool{}
	for _, r := range replies {
		seen[r.kind] = true
		t.Run(r.kind+"/"+r.command, func(t *testing.T) {
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
					assert.True(t, strings.HasSuffix(r.text, " "+m.Addr))
					assert.True(t, errors.Is(err, classify.ErrRedirect))
				case classify.KindAsk:
					var a *classify.AskError
					require.ErrorAs(t, err, &a)
					assert.True(t, strings.HasSuffix(r.text, " "+a.Addr))
				}
			}
		})
	}
	// Every server code that capture.sh can provoke on a stock redis-server
	// is in replies.txt; the others (REDIRECT, DENIED) are in spec.txt.
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
// captured from a real server are told apart.
func TestRealClusterDownReplies(t *testing.T) {
	got := map[classify.DownReason]int{}
	for _, r := range readReplies(t, "replies.txt") {
		if r.kind == "CLUSTERDOWN" {
			got[classify.DownReasonOf(classify.Parse(r.text))]++
		}
	}
	assert.Equal(t, map[classify.DownReason]int{
		classify.DownCluster: 1, classify.DownSlotUnbound: 1, classify.DownReadOnly: 1,
	}, got)
}
