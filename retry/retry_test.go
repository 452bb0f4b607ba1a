package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
)

// failure is one row of the decision matrix: an error and what the policy
// must think of it.
type failure struct {
	name    string
	err     error
	retry   bool // retried after a delay at all
	inDoubt bool // the command may have run
	refresh bool // the topology may have changed
}

func failures() []failure {
	breakerOpen := NewBreaker(BreakerConfig{FailureLimit: 1})
	breakerOpen.Failure("10.0.0.1:6379", t0)
	return []failure{
		{"TRYAGAIN", reply("TRYAGAIN Multiple keys request during rehashing of slot"), true, false, false},
		{"CLUSTERDOWN cluster", reply("CLUSTERDOWN The cluster is down"), true, false, false},
		{"CLUSTERDOWN slot", reply("CLUSTERDOWN Hash slot not served"), true, false, true},
		{"CLUSTERDOWN read-only", reply("CLUSTERDOWN The cluster is down and only accepts read commands"), true, false, false},
		{"LOADING", reply("LOADING Redis is loading the dataset in memory"), true, false, false},
		{"BUSY", reply("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."), true, false, false},
		{"MASTERDOWN", reply("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."), true, false, true},
		{"READONLY", reply("READONLY You can't write against a read only replica."), true, false, true},
		{"UNBLOCKED", reply("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"), true, false, true},
		{"connection refused", clientErr(classify.KindConnection, false, "dial tcp 10.0.0.1:6379: connect: connection refused"), true, false, true},
		{"connection reset after send", clientErr(classify.KindConnection, true, "read tcp: connection reset by peer"), true, true, true},
		{"dial timeout", clientErr(classify.KindTimeout, false, "dial tcp 10.0.0.1:6379: i/o timeout"), true, false, true},
		{"read timeout", clientErr(classify.KindTimeout, true, "read tcp 10.0.0.1:6379: i/o timeout"), true, true, true},
		{"pool exhausted", clientErr(classify.KindPoolExhausted, false, "redis: connection pool timeout"), true, false, false},
		{"slot not covered", clientErr(classify.KindSlotNotCovered, false, "clusterhop: slot 3999 not covered"), true, false, true},
		{"breaker open", breakerOpen.Allow("10.0.0.1:6379", t0), true, false, true},
		{"MOVED unknown endpoint", reply("MOVED 3999 ?"), true, false, true},

		{"WRONGTYPE", reply("WRONGTYPE Operation against a key holding the wrong kind of value"), false, false, false},
		{"ERR", reply("ERR unknown command 'FOO'"), false, false, false},
		{"NOSCRIPT", reply("NOSCRIPT No matching script. Please use EVAL."), false, false, false},
		{"CROSSSLOT", reply("CROSSSLOT Keys in request don't hash to the same slot"), false, false, false},
		{"OOM", reply("OOM command not allowed when used memory > 'maxmemory'."), false, false, false},
		{"NOREPLICAS", reply("NOREPLICAS Not enough good replicas to write."), false, false, false},
		{"EXECABORT", reply("EXECABORT Transaction discarded because of previous errors."), false, false, false},
		{"NOAUTH", reply("NOAUTH Authentication required."), false, false, false},
		{"unknown code", reply("FOO bar"), false, false, false},
		{"unclassified", errors.New("boom"), false, false, false},
		{"canceled", clientErr(classify.KindCanceled, true, "context canceled"), false, false, false},
		{"closed", clientErr(classify.KindClosed, false, "redis: client is closed"), false, false, false},
		{"protocol", clientErr(classify.KindProtocol, true, "redis: invalid reply"), false, false, false},
	}
}

// TestNextMatrix decides every failure under every in-doubt mode, with
// idempotent and other commands, a retry budget that is missing, full or
// spent, and a per-command retry count below or at MaxRetries.
func TestNextMatrix(t *testing.T) {
	type budgetState int
	const (
		noBudget budgetState = iota
		fullBudget
		spentBudget
	)
	newBudget := func(b budgetState) *Budget {
		switch b {
		case fullBudget:
			return NewBudget(BudgetConfig{MaxTokens: 10})
		case spentBudget:
			bud := NewBudget(BudgetConfig{MaxTokens: 10})
			for bud.take() {
			}
			return bud
		}
		return nil
	}
	for _, f := range failures() {
		for _, mode := range []InDoubtMode{InDoubtNever, InDoubtIdempotent, InDoubtAlways} {
			for _, idem := range []bool{false, true} {
				for _, bs := range []budgetState{noBudget, fullBudget, spentBudget} {
					for _, used := range []int{0, 3} {
						name := fmt.Sprintf("%s/%s/idempotent=%t/budget=%d/retries=%d", f.name, mode, idem, bs, used)
						t.Run(name, func(t *testing.T) {
							p := Policy{InDoubt: mode, MaxRetries: 3}
							s := State{Start: t0, Retries: used, Idempotent: idem, Budget: newBudget(bs), Addr: "10.0.0.1:6379"}
							tokens := s.Budget.Tokens()
							d := p.Next(&s, f.err, t0, fixed(0.5))

							repeatable := mode == InDoubtAlways || (mode == InDoubtIdempotent && idem)
							switch {
							case !f.retry:
								require.Equal(t, ActionGiveUp, d.Action)
								assert.Same(t, f.err, d.Err, "the command's answer is returned unchanged")
							case f.inDoubt && !repeatable:
								require.Equal(t, ActionGiveUp, d.Action)
								assert.ErrorIs(t, d.Err, ErrInDoubt)
								assert.ErrorIs(t, d.Err, f.err)
							case used == 3:
								require.Equal(t, ActionGiveUp, d.Action)
								assert.ErrorIs(t, d.Err, ErrRetryBudget)
								assert.ErrorIs(t, d.Err, f.err)
							case bs == spentBudget:
								require.Equal(t, ActionGiveUp, d.Action)
								assert.ErrorIs(t, d.Err, ErrThrottled)
								assert.ErrorIs(t, d.Err, f.err)
							default:
								require.Equal(t, ActionRetry, d.Action, "err: %v", d.Err)
								assert.Equal(t, f.refresh, d.Refresh)
								assert.Equal(t, p.Backoff(d.Kind, used, fixed(0.5)), d.Delay)
								assert.Positive(t, d.Delay)
								assert.Equal(t, used+1, s.Retries)
								assert.Same(t, f.err, s.Last)
								if bs == fullBudget {
									assert.Equal(t, tokens-1, s.Budget.Tokens(), "a retry takes one token")
								}
								return
							}
							assert.Equal(t, f.refresh, d.Refresh, "a give-up still reports a topology change")
							assert.Equal(t, used, s.Retries, "a give-up is not a retry")
							assert.Equal(t, tokens, s.Budget.Tokens(), "a give-up takes no token")
							assert.Equal(t, classify.KindOf(f.err), classify.KindOf(d.Err))
						})
					}
				}
			}
		}
	}
}

func TestNextInDoubtAsksIdempotentOfArgs(t *testing.T) {
	p := Policy{InDoubt: InDoubtIdempotent}
	timeout := clientErr(classify.KindTimeout, true, "read tcp: i/o timeout")

	s := State{Args: []any{"get", "k"}}
	assert.Equal(t, ActionRetry, p.Next(&s, timeout, t0, fixed(0.5)).Action, "GET is idempotent")

	s = State{Args: []any{"incr", "k"}}
	d := p.Next(&s, timeout, t0, fixed(0.5))
	assert.ErrorIs(t, d.Err, ErrInDoubt, "INCR is not")
	assert.EqualError(t, d.Err, "clusterhop: not retried, the command may have run: read tcp: i/o timeout")

	s = State{Args: []any{"incr", "k"}, Idempotent: true}
	assert.Equal(t, ActionRetry, p.Next(&s, timeout, t0, fixed(0.5)).Action, "the caller's word wins")
}

func TestNextDisableRetries(t *testing.T) {
	p := Policy{DisableRetries: true}
	var s State
	d := p.Next(&s, reply("TRYAGAIN Multiple keys request during rehashing of slot"), t0, fixed(0.5))
	require.Equal(t, ActionGiveUp, d.Action)
	assert.ErrorIs(t, d.Err, ErrRetryBudget)
	assert.EqualError(t, d.Err, "clusterhop: gave up after 0 retries: TRYAGAIN Multiple keys request during rehashing of slot")

	d = p.Next(&s, reply("MOVED 1 b:1"), t0, nil)
	assert.Equal(t, ActionRedirect, d.Action, "redirects are still followed")
}

func TestNextDefaultRetryBudget(t *testing.T) {
	var p Policy
	var s State
	down := reply("CLUSTERDOWN The cluster is down")
	for i := range DefaultMaxRetries {
		require.Equal(t, ActionRetry, p.Next(&s, down, t0, fixed(0)).Action, "retry %d", i+1)
	}
	d := p.Next(&s, down, t0, fixed(0))
	require.ErrorIs(t, d.Err, ErrRetryBudget)
	assert.EqualError(t, d.Err, fmt.Sprintf("clusterhop: gave up after %d retries: CLUSTERDOWN The cluster is down", DefaultMaxRetries))
}

func TestNextDeadline(t *testing.T) {
	down := reply("CLUSTERDOWN The cluster is down")
	tests := []struct {
		name     string
		p        Policy
		deadline time.Duration // after t0; 0 for none
		now      time.Duration // after t0
		rnd      float64
		want     Action
	}{
		{"no deadline", Policy{}, 0, time.Hour, 0.99, ActionRetry},
		{"wait ends before the deadline", Policy{}, 100 * time.Millisecond, 40 * time.Millisecond, 0.5, ActionRetry},
		{"wait would end at the deadline", Policy{}, 100 * time.Millisecond, 50 * time.Millisecond, 0.5, ActionGiveUp},
		{"wait would end past the deadline", Policy{}, 100 * time.Millisecond, 60 * time.Millisecond, 0.5, ActionGiveUp},
		{"Timeout caps without a deadline", Policy{Timeout: 100 * time.Millisecond}, 0, 60 * time.Millisecond, 0.5, ActionGiveUp},
		{"Timeout within the deadline", Policy{Timeout: time.Second}, time.Hour, 949 * time.Millisecond, 0.5, ActionRetry},
		{"the earlier of deadline and Timeout", Policy{Timeout: time.Hour}, 100 * time.Millisecond, 60 * time.Millisecond, 0.5, ActionGiveUp},
		{"past the deadline already", Policy{}, 100 * time.Millisecond, 200 * time.Millisecond, 0, ActionGiveUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := State{Start: t0}
			if tt.deadline > 0 {
				s.Deadline = t0.Add(tt.deadline)
			}
			d := tt.p.Next(&s, down, t0.Add(tt.now), fixed(tt.rnd))
			require.Equal(t, tt.want, d.Action, "delay %v err %v", d.Delay, d.Err)
			if tt.want == ActionGiveUp {
				assert.ErrorIs(t, d.Err, ErrDeadline)
				assert.EqualError(t, d.Err, "clusterhop: gave up at the deadline after 0 retries: CLUSTERDOWN The cluster is down")
			}
		})
	}
}

func TestNextDeadlineDuringAttempt(t *testing.T) {
	var p Policy
	s := State{Start: t0, Deadline: t0.Add(time.Second)}
	down := reply("CLUSTERDOWN The cluster is down")
	require.Equal(t, ActionRetry, p.Next(&s, down, t0, fixed(0.5)).Action)

	ctxErr := &classify.ClientError{Kind: classify.KindDeadline, Sent: true, Err: context.DeadlineExceeded}
	d := p.Next(&s, ctxErr, t0.Add(time.Second), fixed(0.5))
	require.Equal(t, ActionGiveUp, d.Action)
	assert.ErrorIs(t, d.Err, ErrDeadline)
	assert.ErrorIs(t, d.Err, context.DeadlineExceeded)
	assert.ErrorIs(t, d.Err, classify.ErrTryLater, "the failure retried before is kept")
	assert.EqualError(t, d.Err, "clusterhop: gave up at the deadline after 1 retry: context deadline exceeded (last retried failure: CLUSTERDOWN The cluster is down)")

	// An unclassified context error is recognised too; with nothing retried
	// before, there is no last failure to report.
	s = State{}
	d = p.Next(&s, context.DeadlineExceeded, t0, nil)
	assert.ErrorIs(t, d.Err, ErrDeadline)
	assert.EqualError(t, d.Err, "clusterhop: gave up at the deadline after 0 retries: context deadline exceeded")
}

func TestNextCanceledIsReturnedUnchanged(t *testing.T) {
	var p Policy
	var s State
	d := p.Next(&s, context.Canceled, t0, nil)
	assert.Equal(t, Decision{Action: ActionGiveUp, Kind: classify.KindCanceled, Err: context.Canceled}, d)
}

func TestNextCustomDelays(t *testing.T) {
	p := Policy{Delays: map[classify.Kind]time.Duration{classify.KindLoading: 400 * time.Millisecond}}
	var s State
	d := p.Next(&s, reply("LOADING Redis is loading the dataset in memory"), t0, fixed(0.5))
	assert.Equal(t, 200*time.Millisecond, d.Delay)
	d = p.Next(&s, reply("LOADING Redis is loading the dataset in memory"), t0, fixed(0.5))
	assert.Equal(t, 400*time.Millisecond, d.Delay, "the ceiling doubles: 800ms")
	d = p.Next(&s, reply("TRYAGAIN x"), t0, fixed(0.5))
	assert.Equal(t, 20*time.Millisecond, d.Delay, "TRYAGAIN keeps its 10ms base: 10ms × 2² × 0.5")
}

func TestActionString(t *testing.T) {
	assert.Equal(t, "give up", ActionGiveUp.String())
	assert.Equal(t, "redirect", ActionRedirect.String())
	assert.Equal(t, "retry", ActionRetry.String())
	assert.Equal(t, "Action(9)", Action(9).String())
}
