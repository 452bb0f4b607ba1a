package classify_test

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

func TestParseKinds(t *testing.T) {
	tests := []struct {
		reply    string
		kind     classify.Kind
		code     string
		tryLater bool
	}{
		{"TRYAGAIN Multiple keys request during rehashing of slot", classify.KindTryAgain, "TRYAGAIN", true},
		{"CLUSTERDOWN The cluster is down", classify.KindClusterDown, "CLUSTERDOWN", true},
		{"CLUSTERDOWN Hash slot not served", classify.KindClusterDown, "CLUSTERDOWN", true},
		{"CROSSSLOT Keys in request don't hash to the same slot", classify.KindCrossSlot, "CROSSSLOT", false},
		{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", classify.KindMasterDown, "MASTERDOWN", true},
		{"READONLY You can't write against a read only replica.", classify.KindReadOnly, "READONLY", false},
		{"LOADING Redis is loading the dataset in memory", classify.KindLoading, "LOADING", true},
		{"LOADING Valkey is loading the dataset in memory", classify.KindLoading, "LOADING", true},
		{"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", classify.KindBusy, "BUSY", true},
		{"NOSCRIPT No matching script. Please use EVAL.", classify.KindNoScript, "NOSCRIPT", false},
		{"NOAUTH Authentication required.", classify.KindNoAuth, "NOAUTH", false},
		{"WRONGPASS invalid username-password pair or user is disabled.", classify.KindWrongPass, "WRONGPASS", false},
		{"NOPERM this user has no permissions to run the 'set' command", classify.KindNoPerm, "NOPERM", false},
		{"OOM command not allowed when used memory > 'maxmemory'.", classify.KindOOM, "OOM", false},
		{"EXECABORT Transaction discarded because of previous errors.", classify.KindExecAbort, "EXECABORT", false},
		{"WRONGTYPE Operation against a key holding the wrong kind of value", classify.KindWrongType, "WRONGTYPE", false},
		{"NOREPLICAS Not enough good replicas to write.", classify.KindNoReplicas, "NOREPLICAS", false},
		{"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", classify.KindMisconf, "MISCONF", false},
		{"UNBLOCKED client unblocked via CLIENT UNBLOCK", classify.KindUnblocked, "UNBLOCKED", false},
		{"BUSYKEY Target key name already exists.", classify.KindBusyKey, "BUSYKEY", false},
		{"BUSYGROUP Consumer Group name already exists", classify.KindBusyGroup, "BUSYGROUP", false},
		{"NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option", classify.KindNoGroup, "NOGROUP", false},
		{"NOPROTO unsupported protocol version", classify.KindNoProto, "NOPROTO", false},
		{"NOTBUSY No scripts in execution right now.", classify.KindNotBusy, "NOTBUSY", false},
		{"UNKILLABLE Sorry the script already executed write commands against the dataset.", classify.KindUnkillable, "UNKILLABLE", false},
		{"DENIED Redis is running in protected mode", classify.KindDenied, "DENIED", false},
		{"ERR unknown command 'foo', with args beginning with: ", classify.KindErr, "ERR", false},
		{"ERR", classify.KindErr, "ERR", false},
		{"QUANTUMFLUX a code nobody knows", classify.KindUnknown, "QUANTUMFLUX", false},
		{"err lower case is not a code", classify.KindUnknown, "err", false},
		{"", classify.KindUnknown, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			err := classify.Parse(tt.reply)
			require.Error(t, err)
			var e *classify.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.kind, e.Kind)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.reply, err.Error(), "Error() must be the server's text")
			assert.Empty(t, e.Malformed)
			assert.Equal(t, tt.tryLater, errors.Is(err, classify.ErrTryLater))
			assert.False(t, errors.Is(err, classify.ErrRedirect))
			assert.False(t, classify.InDoubt(err), "a server reply means the command did not run")
			assert.Equal(t, tt.kind, classify.KindOf(err))
			assert.Implements(t, (*interface{ RedisError() })(nil), err)
		})
	}
}

func TestParseMessage(t *testing.T) {
	err := classify.Parse("WRONGTYPE Operation against a key holding the wrong kind of value")
	var e *classify.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "Operation against a key holding the wrong kind of value", e.Message)
}

func TestParseWireFraming(t *testing.T) {
	tests := []struct{ reply, text string }{
		{"-ERR no such key\r\n", "ERR no such key"},
		{"-ERR no such key", "ERR no such key"},
		{"ERR no such key\r\n", "ERR no such key"},
		{"--ERR", "-ERR"},               // only one '-' is framing
		{"-ERR x\r\n\r\n", "ERR x\r\n"}, // only one CRLF is framing
		{"-ERR x\n", "ERR x\n"},         // a bare LF is not framing
		{"-", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.reply), func(t *testing.T) {
			assert.Equal(t, tt.text, classify.Parse(tt.reply).Error())
		})
	}
}

func TestParseRedirections(t *testing.T) {
	tests := []struct {
		reply string
		kind  classify.Kind
		slot  int
		addr  string
		host  string
		port  int
	}{
		{"MOVED 3999 127.0.0.1:6381", classify.KindMoved, 3999, "127.0.0.1:6381", "127.0.0.1", 6381},
		{"-MOVED 3999 127.0.0.1:6381\r\n", classify.KindMoved, 3999, "127.0.0.1:6381", "127.0.0.1", 6381},
		{"MOVED 0 redis-0.cache.svc:6379", classify.KindMoved, 0, "redis-0.cache.svc:6379", "redis-0.cache.svc", 6379},
		{"MOVED 16383 2001:db8::1:6381", classify.KindMoved, 16383, "[2001:db8::1]:6381", "2001:db8::1", 6381},
		{"MOVED 3999 ::1:7000", classify.KindMoved, 3999, "[::1]:7000", "::1", 7000},
		{"MOVED 3999 [::1]:7000", classify.KindMoved, 3999, "[::1]:7000", "::1", 7000},
		{"MOVED 3999 :6380", classify.KindMoved, 3999, ":6380", "", 6380},
		{"MOVED 3999 ?:6380", classify.KindMoved, 3999, "", "", 0},
		{"MOVED 3999 ?", classify.KindMoved, 3999, "", "", 0},
		{"MOVED 03999 h:1", classify.KindMoved, 3999, "h:1", "h", 1},
		{"ASK 3999 127.0.0.1:6381", classify.KindAsk, 3999, "127.0.0.1:6381", "127.0.0.1", 6381},
		{"ASK 12182 2001:db8::2:65535", classify.KindAsk, 12182, "[2001:db8::2]:65535", "2001:db8::2", 65535},
		{"ASK 3999 :6380", classify.KindAsk, 3999, ":6380", "", 6380},
		{"REDIRECT 127.0.0.1:6379", classify.KindRedirect, 0, "127.0.0.1:6379", "127.0.0.1", 6379},
		{"REDIRECT primary.example:6379", classify.KindRedirect, 0, "primary.example:6379", "primary.example", 6379},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			err := classify.Parse(tt.reply)
			assert.True(t, errors.Is(err, classify.ErrRedirect))
			assert.False(t, errors.Is(err, classify.ErrTryLater))
			assert.False(t, classify.InDoubt(err))
			assert.Equal(t, tt.kind, classify.KindOf(err))
			wrapped := fmt.Errorf("get user:1: %w", err)
			var addr string
			var form classify.AddrForm
			switch tt.kind {
			case classify.KindMoved:
				var m *classify.MovedError
				require.ErrorAs(t, wrapped, &m)
				assert.Equal(t, tt.slot, m.Slot)
				addr, form = m.Addr, m.Form
			case classify.KindAsk:
				var a *classify.AskError
				require.ErrorAs(t, wrapped, &a)
				assert.Equal(t, tt.slot, a.Slot)
				addr, form = a.Addr, a.Form
			case classify.KindRedirect:
				var r *classify.RedirectError
				require.ErrorAs(t, wrapped, &r)
				addr, form = r.Addr, r.Form
			}
			assert.Equal(t, tt.addr, addr)
			if addr == "" {
				assert.Equal(t, classify.AddrUnknown, form)
				return
			}
			if tt.host == "" {
				assert.Equal(t, classify.AddrSameHost, form)
			} else {
				assert.Equal(t, classify.AddrHost, form)
				_, _, err := net.SplitHostPort(addr) // as net.Dial reads it: no "too many colons"
				assert.NoError(t, err)
			}
			host, port, ok := classify.SplitAddr(addr)
			assert.Equal(t, tt.port != 0, ok)
			assert.Equal(t, tt.host, host)
			assert.Equal(t, tt.port, port)
			assert.Implements(t, (*interface{ RedisError() })(nil), err)
		})
	}
}

func TestParseMalformedRedirections(t *testing.T) {
	tests := []struct {
		reply, problem string
	}{
		{"MOVED", `MOVED: want "<slot> <host>:<port>", got ""`},
		{"MOVED 3999", `MOVED: want "<slot> <host>:<port>", got "3999"`},
		{"MOVED  127.0.0.1:6381", `MOVED: slot "" is not a number in 0..16383`},
		{"MOVED 16384 127.0.0.1:6381", `MOVED: slot "16384" is not a number in 0..16383`},
		{"MOVED 99999999999999999999 h:1", `MOVED: slot "99999999999999999999" is not a number in 0..16383`},
		{"MOVED -1 127.0.0.1:6381", `MOVED: slot "-1" is not a number in 0..16383`},
		{"MOVED +5 127.0.0.1:6381", `MOVED: slot "+5" is not a number in 0..16383`},
		{"ASK x 127.0.0.1:6381", `ASK: slot "x" is not a number in 0..16383`},
		{"MOVED 3999 127.0.0.1", `MOVED: address "127.0.0.1" is not <host>:<port> with a port in 1..65535`},
		{"MOVED 3999 127.0.0.1:", `MOVED: address "127.0.0.1:" is not <host>:<port> with a port in 1..65535`},
		{"MOVED 3999 127.0.0.1:0", `MOVED: address "127.0.0.1:0" is not <host>:<port> with a port in 1..65535`},
		{"MOVED 3999 127.0.0.1:65536", `MOVED: address "127.0.0.1:65536" is not <host>:<port> with a port in 1..65535`},
		{"MOVED 3999 127.0.0.1:http", `MOVED: address "127.0.0.1:http" is not <host>:<port> with a port in 1..65535`},
		{"MOVED 3999 127.0.0.1:6381 extra", `MOVED: address "127.0.0.1:6381 extra" contains white space`},
		{"MOVED 3999 ", `MOVED: address "" is not <host>:<port> with a port in 1..65535`},
		{"ASK 3999", `ASK: want "<slot> <host>:<port>", got "3999"`},
		{"REDIRECT", `REDIRECT: address "" is not <host>:<port> with a port in 1..65535`},
		{"REDIRECT 127.0.0.1", `REDIRECT: address "127.0.0.1" is not <host>:<port> with a port in 1..65535`},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			err := classify.Parse(tt.reply)
			var e *classify.Error
			require.ErrorAs(t, err, &e, "a malformed redirection must not be a *MovedError/*AskError")
			assert.Equal(t, classify.KindProtocol, e.Kind)
			assert.Equal(t, tt.problem, e.Malformed)
			assert.Equal(t, tt.reply, err.Error(), "Error() stays the server's text")
			assert.False(t, errors.Is(err, classify.ErrRedirect), "no usable target: not a redirect")
			assert.False(t, classify.InDoubt(err))
		})
	}
}

func TestSplitAddr(t *testing.T) {
	tests := []struct {
		addr string
		host string
		port int
		ok   bool
	}{
		{"127.0.0.1:6379", "127.0.0.1", 6379, true},
		{"2001:db8::1:6381", "2001:db8::1", 6381, true},
		{"[2001:db8::1]:6381", "2001:db8::1", 6381, true},
		{":6380", "", 6380, true},
		{"?:6380", "?", 6380, true},
		{"host:65535", "host", 65535, true},
		{"?", "", 0, false},
		{"host", "", 0, false},
		{"host:0", "", 0, false},
		{"host:-1", "", 0, false},
		{"host:123456", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			host, port, ok := classify.SplitAddr(tt.addr)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.host, host)
			assert.Equal(t, tt.port, port)
		})
	}
}

func TestCrossSlotMatchesServer(t *testing.T) {
	server := classify.Parse("-CROSSSLOT Keys in request don't hash to the same slot\r\n")
	client := classify.CrossSlot()
	assert.Equal(t, server, client)
	assert.Equal(t, server.Error(), client.Error())
	assert.Equal(t, classify.KindCrossSlot, classify.KindOf(client))
	assert.NotSame(t, classify.CrossSlot(), classify.CrossSlot(), "each call returns its own error")
}

func TestDownReasonOf(t *testing.T) {
	tests := []struct {
		err  error
		want classify.DownReason
	}{
		{classify.Parse("CLUSTERDOWN The cluster is down"), classify.DownCluster},
		{classify.Parse("CLUSTERDOWN Hash slot not served"), classify.DownSlotUnbound},
		{classify.Parse("CLUSTERDOWN The cluster is down and only accepts read commands"), classify.DownReadOnly},
		{classify.Parse("CLUSTERDOWN something new"), classify.DownOther},
		{classify.Parse("CLUSTERDOWN"), classify.DownOther},
		{fmt.Errorf("wrapped: %w", classify.Parse("-CLUSTERDOWN Hash slot not served\r\n")), classify.DownSlotUnbound},
		{replyErr("CLUSTERDOWN The cluster is down"), classify.DownCluster},
		{classify.Parse("TRYAGAIN Multiple keys request during rehashing of slot"), classify.DownNone},
		{classify.Parse("MOVED 1 h:1"), classify.DownNone},
		{errors.New("CLUSTERDOWN The cluster is down"), classify.DownNone}, // not a reply: no marker
		{nil, classify.DownNone},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			assert.Equal(t, tt.want, classify.DownReasonOf(tt.err))
		})
	}
}

func TestDownReasonString(t *testing.T) {
	assert.Equal(t, "slot unbound", classify.DownSlotUnbound.String())
	assert.Equal(t, "read only", classify.DownReadOnly.String())
	assert.Equal(t, "DownReason(9)", classify.DownReason(9).String())
}

func TestKindString(t *testing.T) {
	assert.Equal(t, "MOVED", classify.KindMoved.String())
	assert.Equal(t, "connection", classify.KindConnection.String())
	assert.Equal(t, "Kind(200)", classify.Kind(200).String())
	assert.True(t, classify.KindUnknown.IsReply())
	assert.False(t, classify.KindTimeout.IsReply())
}

// replyErr is a reply error as a client library other than go-redis might
// make it: any type with the RedisError marker.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}
