package redirect_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// textLogger writes records without their time to buf.
func textLogger(buf *bytes.Buffer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func TestSlogObserverRecords(t *testing.T) {
	tests := []struct {
		name string
		emit func(redirect.Observer)
		want string
	}{
		{"redirect", func(o redirect.Observer) {
			o.Redirect(redirect.RedirectEvent{Kind: classify.KindMoved, Command: "get", Slot: 3999, From: "10.0.0.1:6379", To: "10.0.0.2:6379"})
		}, `level=DEBUG msg="clusterhop: redirect" kind=MOVED command=get slot=3999 from=10.0.0.1:6379 to=10.0.0.2:6379`},
		{"retry", func(o redirect.Observer) {
			o.Retry(redirect.RetryEvent{Kind: classify.KindTryAgain, Command: "mget", Addr: "10.0.0.1:6379", Attempt: 2, Delay: 7 * time.Millisecond, Refresh: true})
		}, `level=INFO msg="clusterhop: retry" kind=TRYAGAIN command=mget addr=10.0.0.1:6379 attempt=2 delay=7ms refresh=true`},
		{"refresh unchanged", func(o redirect.Observer) {
			o.Refresh(slotmap.RefreshEvent{Reason: slotmap.ReasonMoved, Addr: "10.0.0.1:6379", Duration: time.Millisecond})
		}, `level=DEBUG msg="clusterhop: topology refresh" reason=moved addr=10.0.0.1:6379 duration=1ms changed=false discarded=false`},
		{"refresh changed", func(o redirect.Observer) {
			o.Refresh(slotmap.RefreshEvent{Reason: slotmap.ReasonConnError, Addr: "10.0.0.1:6379", Duration: time.Millisecond, Changed: true})
		}, `level=INFO msg="clusterhop: topology refresh" reason="connection error" addr=10.0.0.1:6379 duration=1ms changed=true discarded=false`},
		{"refresh failed", func(o redirect.Observer) {
			o.Refresh(slotmap.RefreshEvent{Reason: slotmap.ReasonInitial, Addr: "10.0.0.1:6379", Duration: time.Second, Err: errors.New("dial tcp: connection refused")})
		}, `level=WARN msg="clusterhop: topology refresh" reason=initial addr=10.0.0.1:6379 duration=1s error="dial tcp: connection refused"`},
		{"give up", func(o redirect.Observer) {
			o.GiveUp(redirect.GiveUpEvent{Kind: classify.KindClusterDown, Command: "set", Addr: "10.0.0.1:6379", Err: errors.New("clusterhop: gave up after 60 retries: CLUSTERDOWN")})
		}, `level=WARN msg="clusterhop: gave up" kind=CLUSTERDOWN command=set addr=10.0.0.1:6379 error="clusterhop: gave up after 60 retries: CLUSTERDOWN"`},
		{"breaker open", func(o redirect.Observer) {
			o.Breaker(redirect.BreakerEvent{Addr: "10.0.0.1:6379", Open: true})
		}, `level=WARN msg="clusterhop: node ejected" addr=10.0.0.1:6379`},
		{"breaker closed", func(o redirect.Observer) {
			o.Breaker(redirect.BreakerEvent{Addr: "10.0.0.1:6379"})
		}, `level=INFO msg="clusterhop: node back" addr=10.0.0.1:6379`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.emit(redirect.SlogObserver(textLogger(&buf, slog.LevelDebug)))
			assert.Equal(t, tt.want+"\n", buf.String())
		})
	}
}

func TestSlogObserverLevel(t *testing.T) {
	var buf bytes.Buffer
	o := redirect.SlogObserver(textLogger(&buf, slog.LevelInfo))
	o.Redirect(redirect.RedirectEvent{Kind: classify.KindAsk, Command: "get"})
	o.Refresh(slotmap.RefreshEvent{Reason: slotmap.ReasonPeriodic})
	assert.Empty(t, buf.String(), "redirects and unchanged refreshes are Debug")
	o.Breaker(redirect.BreakerEvent{Addr: "a:1", Open: true})
	assert.NotEmpty(t, buf.String())

	var def bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(textLogger(&def, slog.LevelInfo))
	t.Cleanup(func() { slog.SetDefault(prev) })
	redirect.SlogObserver(nil).Breaker(redirect.BreakerEvent{Addr: "a:1"})
	assert.Equal(t, `level=INFO msg="clusterhop: node back" addr=a:1`+"\n", def.String(), "nil is slog.Default()")
}

// The Client's events reach the log: a migrated slot is a MOVED, a
// TRYAGAIN a retry.
func TestSlogObserverOnClient(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	var buf lockedBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cl := newClient(t, c, redirect.Options{Observer: redirect.SlogObserver(logger), Policy: fastPolicy()})
	ctx := t.Context()
	key := keyOn(t, c, 0, "log")
	require.NoError(t, cl.Set(ctx, key, "v", 0).Err())
	require.NoError(t, c.MigrateSlot(slotmap.Slot(key), c.Primary(1)))
	require.NoError(t, c.InjectError(c.Primary(1), clustertest.FaultSpec{Reply: "TRYAGAIN Multiple keys request during rehashing of slot", Count: 1}))
	require.NoError(t, cl.Get(ctx, key).Err())

	out := buf.String()
	assert.Contains(t, out, `msg="clusterhop: topology refresh" reason=initial`)
	assert.Contains(t, out, `msg="clusterhop: redirect" kind=MOVED command=get slot=`+strconv.Itoa(slotmap.Slot(key))+" from="+c.Primary(0)+" to="+c.Primary(1))
	assert.Contains(t, out, `msg="clusterhop: retry" kind=TRYAGAIN command=get addr=`+c.Primary(1)+" attempt=1")
	assert.Equal(t, 1, strings.Count(out, "clusterhop: retry"))
}

// lockedBuffer is a bytes.Buffer for records written from several
// goroutines (refreshes log from the refresher's).
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
