package retry

import (
	"math/rand/v2"
	"testing"
	"testing/quick"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

// randomPolicy draws a valid policy, defaults included.
func randomPolicy(rng *rand.Rand) Policy {
	var p Policy
	if rng.IntN(2) == 0 {
		p.MaxBackoff = time.Duration(1+rng.IntN(3000)) * time.Millisecond
	}
	if rng.IntN(2) == 0 {
		p.MinBackoff = time.Duration(1+rng.Int64N(int64(p.maxBackoff()))) * time.Nanosecond
	}
	if rng.IntN(2) == 0 {
		p.Multiplier = 1 + rng.Float64()*4
	}
	if rng.IntN(3) == 0 {
		p.Timeout = time.Duration(rng.IntN(5000)) * time.Millisecond
	}
	if rng.IntN(3) == 0 {
		p.MaxRetries = 1 + rng.IntN(100)
	}
	if rng.IntN(3) == 0 {
		p.MaxRedirects = 1 + rng.IntN(20)
	}
	if rng.IntN(3) == 0 {
		p.Delays = map[classify.Kind]time.Duration{
			classify.KindClusterDown: time.Duration(1 + rng.Int64N(int64(p.maxBackoff()))),
		}
	}
	p.InDoubt = InDoubtMode(rng.IntN(3))
	return p
}

// TestPropertyWaiting runs thousands of commands through random failures
// under random policies and deadlines, and checks at every decision that
// redirects never wait, delays stay within [0, MaxBackoff], no wait ends
// at or past the deadline (so the total never exceeds it), and the
// per-command budgets hold.
func TestPropertyWaiting(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2026))
	errs := []error{
		reply("MOVED 3999 10.0.0.2:6379"),
		reply("MOVED 3999 10.0.0.1:6379"),
		reply("ASK 3999 10.0.0.3:6379"),
		reply("TRYAGAIN Multiple keys request during rehashing of slot"),
		reply("CLUSTERDOWN The cluster is down"),
		reply("CLUSTERDOWN Hash slot not served"),
		reply("LOADING Redis is loading the dataset in memory"),
		reply("READONLY You can't write against a read only replica."),
		clientErr(classify.KindConnection, false, "connection refused"),
		clientErr(classify.KindTimeout, true, "i/o timeout"),
		clientErr(classify.KindPoolExhausted, false, "pool timeout"),
	}
	for run := range 1500 {
		p := randomPolicy(rng)
		require.NoError(t, p.Validate())
		s := State{Start: t0, Addr: "10.0.0.1:6379", Idempotent: rng.IntN(2) == 0}
		if rng.IntN(2) == 0 {
			s.Deadline = t0.Add(time.Duration(rng.IntN(10000)) * time.Millisecond)
		}
		if rng.IntN(4) == 0 {
			s.Budget = NewBudget(BudgetConfig{MaxTokens: 20})
		}
		limit := p.limit(&s)
		now := t0
		var waited time.Duration
		for {
			now = now.Add(time.Duration(rng.IntN(20)) * time.Millisecond) // the attempt
			d := p.Next(&s, errs[rng.IntN(len(errs))], now, rng.Float64)
			if d.Action == ActionGiveUp {
				require.Error(t, d.Err)
				break
			}
			if d.Action == ActionRedirect {
				require.Zero(t, d.Delay, "run %d: redirects never wait", run)
				require.NotEmpty(t, d.Addr)
				continue
			}
			require.Equal(t, ActionRetry, d.Action)
			require.GreaterOrEqual(t, d.Delay, time.Duration(0), "run %d", run)
			require.LessOrEqual(t, d.Delay, p.maxBackoff(), "run %d", run)
			require.LessOrEqual(t, d.Delay, p.Ceiling(d.Kind, s.Retries-1), "run %d", run)
			if !limit.IsZero() {
				require.True(t, now.Add(d.Delay).Before(limit), "run %d: a wait ends past the deadline", run)
			}
			waited += d.Delay
			now = now.Add(d.Delay)
		}
		require.LessOrEqual(t, s.Retries, p.maxRetries())
		require.LessOrEqual(t, s.Redirects, p.maxRedirects())
		if !limit.IsZero() {
			require.LessOrEqual(t, waited, limit.Sub(t0), "run %d", run)
		}
	}
}

// TestPropertyBackoffBounds checks Backoff with testing/quick over every
// kind, retry number and random draw, including draws out of [0, 1).
func TestPropertyBackoffBounds(t *testing.T) {
	prop := func(minMS, maxMS uint16, mult float64, kind uint8, n int, r float64) bool {
		p := Policy{
			MinBackoff: time.Duration(minMS) * time.Millisecond,
			MaxBackoff: time.Duration(maxMS) * time.Millisecond,
			Multiplier: 1 + abs(mult),
		}
		if p.Validate() != nil {
			return true
		}
		d := p.Backoff(classify.Kind(kind), n, func() float64 { return r })
		return d >= 0 && d <= p.maxBackoff() && d <= p.Ceiling(classify.Kind(kind), n)
	}
	require.NoError(t, quick.Check(prop, &quick.Config{MaxCount: 20000, Rand: nil}))
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestCeiling(t *testing.T) {
	var p Policy
	var got []time.Duration
	for n := range 6 {
		got = append(got, p.Ceiling(classify.KindClusterDown, n))
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, got)

	got = got[:0]
	for n := range 8 {
		got = append(got, p.Ceiling(classify.KindTryAgain, n))
	}
	assert.Equal(t, []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second}, got)

	assert.Equal(t, time.Second, p.Ceiling(classify.KindLoading, 1<<30), "no overflow")
	assert.Equal(t, 100*ms, p.Ceiling(classify.KindLoading, -3), "negative n is the first retry")
	small := Policy{MaxBackoff: 5 * ms, MinBackoff: ms}
	assert.Equal(t, 5*ms, small.Ceiling(classify.KindTryAgain, 0), "TRYAGAIN's base is capped by MaxBackoff")
	slow := Policy{Multiplier: 1.5}
	assert.Equal(t, 150*ms, slow.Ceiling(classify.KindBusy, 1))

	for _, r := range []float64{-1, 0, 2} {
		d := p.Backoff(classify.KindBusy, 0, fixed(r))
		assert.True(t, d == 0 || d == 100*ms, "rnd() %v clamps to [0, 1]: %v", r, d)
	}
}
