package retry

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

func TestNextRedirects(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		from  string
		want  Decision
		count int // State.Redirects afterwards
	}{
		{
			name:  "MOVED is followed at once and asks for a refresh",
			err:   reply("MOVED 3999 127.0.0.1:6381"),
			from:  "127.0.0.1:6379",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindMoved, Addr: "127.0.0.1:6381", Refresh: true},
			count: 1,
		},
		{
			name:  "ASK sends ASKING and leaves the slot map alone",
			err:   reply("ASK 3999 127.0.0.1:6381"),
			from:  "127.0.0.1:6379",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindAsk, Addr: "127.0.0.1:6381", Asking: true},
			count: 1,
		},
		{
			name:  "REDIRECT is followed and asks for a refresh",
			err:   reply("REDIRECT 10.0.0.2:6379"),
			from:  "10.0.0.1:6379",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindRedirect, Addr: "10.0.0.2:6379", Refresh: true},
			count: 1,
		},
		{
			name:  "an empty host is the replying node's host",
			err:   reply("MOVED 3999 :6381"),
			from:  "10.0.0.1:6379",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindMoved, Addr: "10.0.0.1:6381", Refresh: true},
			count: 1,
		},
		{
			name:  "an IPv6 target the server wrote without brackets gets them",
			err:   reply("MOVED 3999 fe80::1:6381"),
			from:  "[fe80::1]:6379",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindMoved, Addr: "[fe80::1]:6381", Refresh: true},
			count: 1,
		},
		{
			name:  "an IPv6 self-MOVED is recognised",
			err:   reply("MOVED 3999 ::1:7202"),
			from:  "[::1]:7202",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindMoved, Addr: "[::1]:7202", Refresh: true, Reconnect: true},
			count: 0,
		},
		{
			name:  "an empty host with an IPv6 replying node",
			err:   reply("ASK 3999 :7203"),
			from:  "[::1]:7202",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindAsk, Addr: "[::1]:7203", Asking: true},
			count: 1,
		},
		{
			name:  "a MOVED to the node that sent it asks for a reconnect, uncounted",
			err:   reply("MOVED 3999 10.0.0.1:6379"),
			from:  "10.0.0.1:6379",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindMoved, Addr: "10.0.0.1:6379", Refresh: true, Reconnect: true},
			count: 0,
		},
		{
			name:  "a self-MOVED with an empty host is recognised by port",
			err:   reply("MOVED 3999 :6379"),
			from:  "10.0.0.1:6379",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindMoved, Addr: "10.0.0.1:6379", Refresh: true, Reconnect: true},
			count: 0,
		},
		{
			name:  "an ASK to the sending node is an ordinary redirect",
			err:   reply("ASK 3999 10.0.0.1:6379"),
			from:  "10.0.0.1:6379",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindAsk, Addr: "10.0.0.1:6379", Asking: true},
			count: 1,
		},
		{
			name:  "a wrapped MOVED is still a MOVED",
			err:   fmt.Errorf("pipeline: %w", reply("MOVED 1 10.0.0.9:7000")),
			from:  "10.0.0.1:7000",
			want:  Decision{Action: ActionRedirect, Kind: classify.KindMoved, Addr: "10.0.0.9:7000", Refresh: true},
			count: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Policy
			s := State{Addr: tt.from, Budget: NewBudget(BudgetConfig{MaxTokens: 2})}
			got := p.Next(&s, tt.err, t0, fixed(0.9))
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.count, s.Redirects)
			assert.Zero(t, s.Retries, "a redirect is not a retry")
			assert.Equal(t, 2.0, s.Budget.Tokens(), "a redirect takes no token")
			assert.Equal(t, t0, s.Start, "Next sets Start when it is zero")
		})
	}
}

func TestNextRedirectBudget(t *testing.T) {
	var p Policy
	var s State
	moved := reply("MOVED 3999 127.0.0.1:6381")
	for i := range DefaultMaxRedirects {
		s.Addr = fmt.Sprintf("127.0.0.1:%d", 7000+i)
		d := p.Next(&s, moved, t0, nil)
		require.Equal(t, ActionRedirect, d.Action, "redirect %d", i+1)
	}
	d := p.Next(&s, moved, t0, nil)
	require.Equal(t, ActionGiveUp, d.Action)
	assert.Equal(t, classify.KindMoved, d.Kind)
	assert.EqualError(t, d.Err, "clusterhop: gave up after 16 redirects: MOVED 3999 127.0.0.1:6381")
	assert.True(t, d.Refresh, "the MOVED still says the slot map is stale")
	assert.ErrorIs(t, d.Err, ErrRedirectBudget)
	assert.ErrorIs(t, d.Err, classify.ErrRedirect)
	var m *classify.MovedError
	require.ErrorAs(t, d.Err, &m)
	assert.Equal(t, "127.0.0.1:6381", m.Addr)
	assert.Equal(t, classify.KindMoved, classify.KindOf(d.Err))
}

func TestNextRedirectPingPongStopsAtBudget(t *testing.T) {
	p := Policy{MaxRedirects: 5}
	s := State{Addr: "a:1"}
	toB, toA := reply("MOVED 7 b:1"), reply("MOVED 7 a:1")
	hops := 0
	for {
		err := toB
		if s.Addr == "b:1" {
			err = toA
		}
		d := p.Next(&s, err, t0, nil)
		if d.Action != ActionRedirect {
			require.ErrorIs(t, d.Err, ErrRedirectBudget)
			break
		}
		assert.False(t, d.Reconnect, "a ping-pong is not a self-MOVED")
		s.Addr = d.Addr
		hops++
		require.LessOrEqual(t, hops, 5)
	}
	assert.Equal(t, 5, hops)
}

func TestNextSelfMovedReconnectsOnceThenCounts(t *testing.T) {
	p := Policy{MaxRedirects: 2}
	s := State{Addr: "10.0.0.1:6379"}
	self := reply("MOVED 3999 10.0.0.1:6379")

	d := p.Next(&s, self, t0, nil)
	assert.True(t, d.Reconnect)
	assert.Equal(t, 0, s.Redirects)
	assert.True(t, s.Reconnected)

	for i := 1; i <= 2; i++ {
		d = p.Next(&s, self, t0, nil)
		require.Equal(t, ActionRedirect, d.Action)
		assert.False(t, d.Reconnect, "reconnect is asked for once")
		assert.Equal(t, i, s.Redirects)
	}
	d = p.Next(&s, self, t0, nil)
	require.ErrorIs(t, d.Err, ErrRedirectBudget)
	assert.EqualError(t, d.Err, "clusterhop: gave up after 2 redirects: MOVED 3999 10.0.0.1:6379")
}

func TestNextRedirectPastDeadline(t *testing.T) {
	var p Policy
	s := State{Start: t0, Deadline: t0.Add(time.Second)}
	d := p.Next(&s, reply("MOVED 1 b:1"), t0.Add(time.Second), nil)
	require.Equal(t, ActionGiveUp, d.Action)
	assert.ErrorIs(t, d.Err, ErrDeadline)
	assert.EqualError(t, d.Err, "clusterhop: gave up at the deadline after 0 retries: MOVED 1 b:1")

	p.Timeout = 500 * time.Millisecond
	s = State{Start: t0}
	d = p.Next(&s, reply("ASK 1 b:1"), t0.Add(499*time.Millisecond), nil)
	assert.Equal(t, ActionRedirect, d.Action, "before Start+Timeout")
	d = p.Next(&s, reply("ASK 1 b:1"), t0.Add(500*time.Millisecond), nil)
	assert.ErrorIs(t, d.Err, ErrDeadline, "at Start+Timeout")
}

func TestNextUnknownEndpointRefreshesAndRetries(t *testing.T) {
	for _, text := range []string{"MOVED 3999 ?", "ASK 3999 ?", "MOVED 3999 ?:6380", "ASK 3999 ?:6380"} {
		t.Run(text, func(t *testing.T) {
			var p Policy
			var s State
			d := p.Next(&s, reply(text), t0, fixed(0.5))
			assert.Equal(t, ActionRetry, d.Action)
			assert.True(t, d.Refresh)
			assert.Equal(t, 50*time.Millisecond, d.Delay)
			assert.Equal(t, 0, s.Redirects)
			assert.Equal(t, 1, s.Retries)
		})
	}
	// An empty host names the replying node's host; when that node's
	// address is not known either, only a refresh can tell.
	var p Policy
	var s State
	d := p.Next(&s, reply("MOVED 3999 :6380"), t0, fixed(0.5))
	assert.Equal(t, ActionRetry, d.Action)
	assert.True(t, d.Refresh)
}

func TestNextNilError(t *testing.T) {
	var p Policy
	var s State
	assert.Equal(t, Decision{Action: ActionGiveUp}, p.Next(&s, nil, t0, nil))
}

func TestGiveUpErrorText(t *testing.T) {
	base := reply("CLUSTERDOWN The cluster is down")
	tests := []struct {
		err  *GiveUpError
		want string
	}{
		{&GiveUpError{Reason: ErrRedirectBudget, Err: reply("ASK 1 a:1"), Redirects: 1}, "clusterhop: gave up after 1 redirect: ASK 1 a:1"},
		{&GiveUpError{Reason: ErrRetryBudget, Err: base, Retries: 50}, "clusterhop: gave up after 50 retries: CLUSTERDOWN The cluster is down"},
		{&GiveUpError{Reason: ErrRetryBudget, Err: base, Retries: 1}, "clusterhop: gave up after 1 retry: CLUSTERDOWN The cluster is down"},
		{&GiveUpError{Reason: ErrThrottled, Err: base, Retries: 3}, "clusterhop: gave up after 3 retries, retries throttled by the client's retry budget: CLUSTERDOWN The cluster is down"},
		{&GiveUpError{Reason: ErrInDoubt, Err: errors.New("read tcp: i/o timeout")}, "clusterhop: not retried, the command may have run: read tcp: i/o timeout"},
		{&GiveUpError{Reason: ErrDeadline, Err: errors.New("context deadline exceeded"), Last: base, Retries: 2}, "clusterhop: gave up at the deadline after 2 retries: context deadline exceeded (last retried failure: CLUSTERDOWN The cluster is down)"},
		{&GiveUpError{Reason: ErrCanceled, Err: errors.New("context canceled"), Last: base, Retries: 1}, "clusterhop: gave up, the context was canceled, after 1 retry: context canceled (last retried failure: CLUSTERDOWN The cluster is down)"},
		{&GiveUpError{Reason: errors.New("redirect: redirection target not allowed"), Err: reply("MOVED 1 6.6.6.6:1"), Addr: "6.6.6.6:1"}, "redirect: redirection target not allowed (6.6.6.6:1): MOVED 1 6.6.6.6:1"},
		{&GiveUpError{Reason: errors.New("other")}, "other: <nil>"},
	}
	for _, tt := range tests {
		assert.EqualError(t, tt.err, tt.want)
		assert.ErrorIs(t, tt.err, tt.err.Reason)
	}
}

// rawReply is a server reply as go-redis returns it before classification:
// an error with go-redis's RedisError marker.
type rawReply string

func (r rawReply) Error() string { return string(r) }
func (r rawReply) RedisError()   {}

func TestNextClassifiesRawRedirects(t *testing.T) {
	var p Policy
	s := State{Addr: "127.0.0.1:6379"}
	d := p.Next(&s, rawReply("ASK 3999 127.0.0.1:6381"), t0, nil)
	assert.Equal(t, Decision{Action: ActionRedirect, Kind: classify.KindAsk, Addr: "127.0.0.1:6381", Asking: true}, d)
	assert.Equal(t, 1, s.Redirects)

	d = p.Next(&s, rawReply("TRYAGAIN Multiple keys request during rehashing of slot"), t0, fixed(0.5))
	assert.Equal(t, ActionRetry, d.Action)
	assert.Equal(t, 5*time.Millisecond, d.Delay)
}

func TestAsWalksTheWholeTree(t *testing.T) {
	moved := reply("MOVED 1 10.0.0.9:7000")
	tests := []struct {
		name  string
		err   error
		found bool
	}{
		{"bare", moved, true},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", moved)), true},
		{"joined, second", errors.Join(errors.New("x"), moved), true},
		{"joined inside wrapped", fmt.Errorf("a: %w", errors.Join(errors.New("x"), fmt.Errorf("b: %w", moved))), true},
		{"two %w", fmt.Errorf("%w and %w", errors.New("x"), moved), true},
		{"joined, absent", errors.Join(errors.New("x"), errors.New("y")), false},
		{"wrapped nil", fmt.Errorf("a: %w", nil), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := as[*classify.MovedError](tt.err)
			assert.Equal(t, tt.found, ok)
			var want *classify.MovedError
			assert.Equal(t, tt.found, errors.As(tt.err, &want), "as agrees with errors.As")
			if ok {
				assert.Same(t, want, m)
			}
		})
	}
}
