package retry

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/clusterhop/clusterhop/classify"
)

// rideOut runs one command with the policy p against a primary that is
// unreachable for outage from the command's start: every attempt before
// then fails after one millisecond with fail(attempt); the first attempt at
// or after it succeeds. It reports when the command ended and the error it
// gave up with, nil when it succeeded.
func rideOut(p *Policy, outage, deadline time.Duration, budget *Budget, rng *rand.Rand, fail func(int) error) (time.Duration, error) {
	s := State{Start: t0, Addr: "10.0.0.1:6379", Budget: budget}
	if deadline > 0 {
		s.Deadline = t0.Add(deadline)
	}
	now := t0
	for attempt := 0; ; attempt++ {
		now = now.Add(time.Millisecond)
		if now.Sub(t0) >= outage {
			return now.Sub(t0), nil
		}
		d := p.Next(&s, fail(attempt), now, rng.Float64)
		if d.Action != ActionRetry {
			return now.Sub(t0), d.Err
		}
		now = now.Add(d.Delay)
	}
}

// TestDefaultsRideOutFailover is the evidence for DefaultMaxRetries,
// DefaultMinBackoff and DefaultMaxBackoff (doc.go has the arithmetic). A
// primary killed at the command's start makes its clients see connection
// refused until the failure is detected (cluster-node-timeout N) and a
// replica is elected (500 ms + up to 500 ms + 1 s per rank), then
// CLUSTERDOWN while the cluster state catches up: about N + 2 s, and up to
// 1.5 N + 2 s when failure reports gossip slowly.
func TestDefaultsRideOutFailover(t *testing.T) {
	refused := clientErr(classify.KindConnection, false, "dial tcp 10.0.0.1:6379: connect: connection refused")
	down := reply("CLUSTERDOWN The cluster is down")
	failing := func(attempt int) error {
		if attempt%3 == 2 {
			return down
		}
		return refused
	}
	tests := []struct {
		name     string
		outage   time.Duration
		deadline time.Duration
		minRate  float64 // share of commands that must succeed
		maxRate  float64
	}{
		{"node timeout 2s (test clusters): N+2s", 4 * time.Second, 0, 1, 1},
		{"node timeout 5s: N+2s", 7 * time.Second, 0, 1, 1},
		{"node timeout 15s (redis.conf default): N+2s", 17 * time.Second, 0, 1, 1},
		{"node timeout 15s, slow gossip: N+5s", 20 * time.Second, 0, 0.995, 1},
		{"node timeout 15s, slowest: 1.5N+2s", 24500 * time.Millisecond, 0, 0.95, 1},
		{"a 5s context deadline cannot ride out 17s", 17 * time.Second, 5 * time.Second, 0, 0},
		{"a 30s context deadline can", 17 * time.Second, 30 * time.Second, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Policy
			rng := rand.New(rand.NewPCG(15000, 2))
			const runs = 2000
			ok := 0
			var worst time.Duration
			for range runs {
				at, err := rideOut(&p, tt.outage, tt.deadline, nil, rng, failing)
				switch {
				case err == nil:
					ok++
					worst = max(worst, at-tt.outage)
				case tt.deadline > 0:
					assert.ErrorIs(t, err, ErrDeadline)
					assert.LessOrEqual(t, at, tt.deadline+time.Millisecond, "no wait ends past the deadline; only the attempt may")
				default:
					assert.ErrorIs(t, err, ErrRetryBudget)
				}
			}
			rate := float64(ok) / runs
			assert.GreaterOrEqual(t, rate, tt.minRate)
			assert.LessOrEqual(t, rate, tt.maxRate)
			assert.LessOrEqual(t, worst, DefaultMaxBackoff+time.Millisecond, "a healed cluster is used within MaxBackoff")
		})
	}
}

// TestDefaultBudgetRidesOutFailover: the default retry budget lets eight
// commands in a row ride out a 17 s failover even when nothing else the
// client does succeeds, and then ends the retry storm.
func TestDefaultBudgetRidesOutFailover(t *testing.T) {
	refused := clientErr(classify.KindConnection, false, "connection refused")
	fail := func(int) error { return refused }
	var p Policy
	rng := rand.New(rand.NewPCG(8, 17))
	b := NewBudget(BudgetConfig{})
	rode := 0
	for range 30 {
		_, err := rideOut(&p, 17*time.Second, 0, b, rng, fail)
		if err != nil {
			assert.ErrorIs(t, err, ErrThrottled)
			break
		}
		rode++
	}
	assert.GreaterOrEqual(t, rode, 8)
	assert.Less(t, rode, 30, "with no success anywhere, the budget ends the retry storm")
	t.Logf("%d commands rode out the failover before the budget ran out", rode)
}
