package retry

import (
	"errors"
	"strconv"
)

// Reasons for giving up, matched with errors.Is on the error Next returns.
// They carry no data; the *GiveUpError that wraps them carries the counts
// and the last failure.
var (
	// ErrRedirectBudget: the command was redirected (MOVED, ASK, REDIRECT)
	// MaxRedirects times and was redirected once more.
	ErrRedirectBudget = errors.New("clusterhop: redirect budget exhausted")

	// ErrRetryBudget: the command was retried MaxRetries times (or retries
	// are disabled) and failed once more with a retryable error.
	ErrRetryBudget = errors.New("clusterhop: retry budget exhausted")

	// ErrThrottled: the client's shared retry budget (the token bucket) is
	// spent; the client is failing more than it succeeds.
	ErrThrottled = errors.New("clusterhop: retries throttled by the client's retry budget")

	// ErrDeadline: the next wait would end past the context deadline or the
	// policy's Timeout, or the deadline passed during an attempt.
	ErrDeadline = errors.New("clusterhop: deadline reached")

	// ErrInDoubt: the command may have run on the server (it was sent and
	// no reply came back), so it was not re-sent (see InDoubtMode).
	ErrInDoubt = errors.New("clusterhop: not retried; the command may have run")

	// ErrCanceled: the caller's context was canceled while the command
	// waited to be retried.
	ErrCanceled = errors.New("clusterhop: context canceled")

	// ErrBreakerOpen matches the error Breaker.Allow returns for an ejected
	// node, and any give-up whose last failure was that error.
	ErrBreakerOpen = errors.New("clusterhop: node ejected by the breaker")
)

// GiveUpError is what Next returns in Decision.Err when it stops retrying a
// failure it would otherwise retry. It wraps both the reason (one of the
// Err* sentinels above) and the last failure, so errors.Is(err,
// ErrRedirectBudget) and errors.As(err, &moved) both hold.
//
// Error() is public API: "clusterhop: gave up after 16 redirects: MOVED 3999
// 127.0.0.1:6381".
//
// It is the one shape of every give-up in the project: the redirect engine
// uses it for its own reasons too (a redirection target not allowed, a
// transaction that a WATCH keeps from being re-sent), whose text is then
// the reason's.
type GiveUpError struct {
	Reason    error  // ErrRedirectBudget, ErrRetryBudget, ErrThrottled, ErrDeadline, ErrCanceled, ErrInDoubt, or a caller's sentinel
	Err       error  // the failure of the last attempt, as classified
	Last      error  // the failure retried (or explained) before Err, if any
	Addr      string // the node the reason concerns, when it names one (a redirection target refused); may be empty
	Redirects int    // redirects followed before giving up
	Retries   int    // delayed retries made before giving up
}

func (e *GiveUpError) Error() string {
	var s string
	switch e.Reason {
	case ErrRedirectBudget:
		s = "clusterhop: gave up after " + plural(e.Redirects, "redirect")
	case ErrRetryBudget:
		s = "clusterhop: gave up after " + plural(e.Retries, "retry")
	case ErrThrottled:
		s = "clusterhop: gave up after " + plural(e.Retries, "retry") + ", retries throttled by the client's retry budget"
	case ErrDeadline:
		s = "clusterhop: gave up at the deadline after " + plural(e.Retries, "retry")
	case ErrCanceled:
		s = "clusterhop: gave up, the context was canceled, after " + plural(e.Retries, "retry")
	case ErrInDoubt:
		s = "clusterhop: not retried, the command may have run"
	case nil:
		s = "clusterhop: gave up"
	default:
		s = e.Reason.Error()
		if e.Addr != "" {
			s += " (" + e.Addr + ")"
		}
	}
	s += ": " + errText(e.Err)
	if e.Last != nil && e.Last != e.Err { //nolint:errorlint // identity: the same failure is said once
		s += " (last retried failure: " + errText(e.Last) + ")"
	}
	return s
}

// Unwrap returns the reason, the last failure and, when set, the failure
// retried before it.
func (e *GiveUpError) Unwrap() []error {
	if e.Reason == nil {
		return []error{e.Err}
	}
	if e.Last != nil {
		return []error{e.Reason, e.Err, e.Last}
	}
	return []error{e.Reason, e.Err}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if noun == "retry" {
		return strconv.Itoa(n) + " retries"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
