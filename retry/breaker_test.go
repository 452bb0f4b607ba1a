package retry

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

const node1 = "10.0.0.1:6379"

func TestBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	b := NewBreaker(BreakerConfig{FailureLimit: 3, Pause: time.Second})
	now := t0
	b.Failure(node1, now)
	b.Failure(node1, now)
	require.NoError(t, b.Allow(node1, now), "two failures: still closed")
	assert.Equal(t, BreakerClosed, b.State(node1, now))

	b.Success(node1)
	b.Failure(node1, now)
	b.Failure(node1, now)
	require.NoError(t, b.Allow(node1, now), "a success resets the count: failures must be consecutive")

	b.Failure(node1, now)
	err := b.Allow(node1, now)
	require.Error(t, err)
	assert.Equal(t, BreakerOpen, b.State(node1, now))
	assert.ErrorIs(t, err, ErrBreakerOpen)
	assert.Equal(t, classify.KindBreakerOpen, classify.KindOf(err))
	assert.False(t, classify.InDoubt(err), "a refused command was never sent")
	var oe *OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, OpenError{Addr: node1, Failures: 3, Until: t0.Add(time.Second)}, *oe)
	assert.EqualError(t, err, "clusterhop: node 10.0.0.1:6379 ejected after 3 consecutive failures until 12:00:01.000")

	require.NoError(t, b.Allow("10.0.0.2:6379", now), "other nodes are not affected")
	require.Error(t, b.Allow(node1, now.Add(999*time.Millisecond)), "open for the whole pause")
}

func TestBreakerHalfOpenProbe(t *testing.T) {
	tests := []struct {
		name      string
		probe     func(b *Breaker, now time.Time)
		wantAfter BreakerState
	}{
		{"probe succeeds: closed", func(b *Breaker, _ time.Time) { b.Success(node1) }, BreakerClosed},
		{"probe fails: open again", func(b *Breaker, now time.Time) { b.Failure(node1, now) }, BreakerOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBreaker(BreakerConfig{FailureLimit: 1, Pause: time.Second})
			b.Failure(node1, t0)
			half := t0.Add(time.Second)
			assert.Equal(t, BreakerHalfOpen, b.State(node1, half))

			require.NoError(t, b.Allow(node1, half), "the first caller after the pause is the probe")
			err := b.Allow(node1, half.Add(time.Millisecond))
			require.ErrorIs(t, err, ErrBreakerOpen, "one probe at a time")

			probed := half.Add(10 * time.Millisecond)
			tt.probe(b, probed)
			assert.Equal(t, tt.wantAfter, b.State(node1, probed))
			if tt.wantAfter == BreakerOpen {
				var oe *OpenError
				require.ErrorAs(t, b.Allow(node1, probed), &oe)
				assert.Equal(t, probed.Add(time.Second), oe.Until, "a failed probe ejects for another pause")
				assert.Equal(t, 2, oe.Failures)
				require.NoError(t, b.Allow(node1, probed.Add(time.Second)), "then probes again")
			} else {
				require.NoError(t, b.Allow(node1, probed))
				require.NoError(t, b.Allow(node1, probed))
			}
		})
	}
}

func TestBreakerLostProbe(t *testing.T) {
	b := NewBreaker(BreakerConfig{FailureLimit: 1, Pause: time.Second})
	b.Failure(node1, t0)
	half := t0.Add(time.Second)
	require.NoError(t, b.Allow(node1, half))
	require.Error(t, b.Allow(node1, half.Add(999*time.Millisecond)))
	require.NoError(t, b.Allow(node1, half.Add(time.Second)), "a probe that never reports is replaced after a pause")
}

func TestBreakerRecord(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want BreakerState // after FailureLimit (1) records
	}{
		{"success", nil, BreakerClosed},
		{"error reply: the node is alive", reply("WRONGTYPE Operation against a key holding the wrong kind of value"), BreakerClosed},
		{"MOVED: the node is alive", reply("MOVED 1 10.0.0.2:6379"), BreakerClosed},
		{"connection refused", clientErr(classify.KindConnection, false, "connect: connection refused"), BreakerOpen},
		{"timeout", clientErr(classify.KindTimeout, true, "i/o timeout"), BreakerOpen},
		{"canceled: says nothing of the node", clientErr(classify.KindCanceled, true, "context canceled"), BreakerClosed},
		{"pool exhausted: says nothing of the node", clientErr(classify.KindPoolExhausted, false, "pool timeout"), BreakerClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBreaker(BreakerConfig{FailureLimit: 1})
			b.Record(node1, tt.err, t0)
			assert.Equal(t, tt.want, b.State(node1, t0))
		})
	}
	b := NewBreaker(BreakerConfig{FailureLimit: 2})
	b.Record(node1, clientErr(classify.KindConnection, false, "refused"), t0)
	b.Record(node1, nil, t0)
	b.Record(node1, clientErr(classify.KindConnection, false, "refused"), t0)
	assert.Equal(t, BreakerClosed, b.State(node1, t0), "a success between failures resets the count")
}

func TestBreakerForgetAndBound(t *testing.T) {
	b := NewBreaker(BreakerConfig{FailureLimit: 2, MaxNodes: 3})
	b.Failure("open:1", t0)
	b.Failure("open:1", t0)
	b.Failure("open:2", t0)
	b.Failure("open:2", t0)
	b.Failure("closed:1", t0)
	for i := range 10 {
		b.Failure(fmt.Sprintf("new:%d", i), t0)
		require.LessOrEqual(t, len(b.nodes), 3)
	}
	assert.Equal(t, BreakerOpen, b.State("open:1", t0), "ejected nodes are evicted last")
	assert.Equal(t, BreakerOpen, b.State("open:2", t0))

	b.Forget("open:1")
	assert.Equal(t, BreakerClosed, b.State("open:1", t0))
	require.NoError(t, b.Allow("open:1", t0))
}

func TestBreakerNilAndDisabled(t *testing.T) {
	assert.Nil(t, NewBreaker(BreakerConfig{Disabled: true}))
	var b *Breaker
	b.Failure(node1, t0)
	b.Record(node1, errors.New("x"), t0)
	b.Success(node1)
	b.Forget(node1)
	assert.NoError(t, b.Allow(node1, t0))
	assert.Equal(t, BreakerClosed, b.State(node1, t0))
}

func TestBreakerDefaults(t *testing.T) {
	b := NewBreaker(BreakerConfig{})
	for range DefaultFailureLimit - 1 {
		b.Failure(node1, t0)
	}
	require.NoError(t, b.Allow(node1, t0))
	b.Failure(node1, t0)
	require.Error(t, b.Allow(node1, t0))
	require.Error(t, b.Allow(node1, t0.Add(DefaultBreakerPause-time.Nanosecond)))
	require.NoError(t, b.Allow(node1, t0.Add(DefaultBreakerPause)))
}

func TestBreakerStateString(t *testing.T) {
	assert.Equal(t, "closed", BreakerClosed.String())
	assert.Equal(t, "open", BreakerOpen.String())
	assert.Equal(t, "half-open", BreakerHalfOpen.String())
	assert.Equal(t, "BreakerState(7)", BreakerState(7).String())
}

func TestBreakerConcurrent(t *testing.T) {
	b := NewBreaker(BreakerConfig{FailureLimit: 3, Pause: time.Millisecond, MaxNodes: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				addr := fmt.Sprintf("10.0.0.%d:6379", (g+i)%6)
				now := t0.Add(time.Duration(i) * time.Microsecond)
				if b.Allow(addr, now) == nil {
					if i%3 == 0 {
						b.Success(addr)
					} else {
						b.Failure(addr, now)
					}
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, len(b.nodes), 4)
}

// TestNextRetriesBreakerRefusals shows the breaker and the policy together:
// a command for an ejected node is not sent, and is retried after a refresh
// (the slot may have a new owner) until the policy's budget says stop.
func TestNextRetriesBreakerRefusals(t *testing.T) {
	b := NewBreaker(BreakerConfig{FailureLimit: 1, Pause: time.Hour})
	b.Failure(node1, t0)
	p := Policy{MaxRetries: 2}
	s := State{Addr: node1}
	for range 2 {
		d := p.Next(&s, b.Allow(node1, t0), t0, fixed(0.5))
		require.Equal(t, ActionRetry, d.Action)
		assert.True(t, d.Refresh)
	}
	d := p.Next(&s, b.Allow(node1, t0), t0, fixed(0.5))
	require.Equal(t, ActionGiveUp, d.Action)
	assert.ErrorIs(t, d.Err, ErrRetryBudget)
	assert.ErrorIs(t, d.Err, ErrBreakerOpen)
	assert.EqualError(t, d.Err, "clusterhop: gave up after 2 retries: clusterhop: node 10.0.0.1:6379 ejected after 1 consecutive failure until 13:00:00.000")
}

func TestBreakerWatching(t *testing.T) {
	var nilBreaker *Breaker
	assert.False(t, nilBreaker.Watching())
	b := NewBreaker(BreakerConfig{})
	assert.False(t, b.Watching(), "no failure on record: Allow passes without the clock")
	now := time.Unix(1000, 0)
	b.Failure("a:1", now)
	assert.True(t, b.Watching())
	b.Success("a:1")
	assert.False(t, b.Watching(), "a success forgets the node")
}
