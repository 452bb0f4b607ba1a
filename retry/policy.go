package retry

import (
	"fmt"
	"math"
	"time"

	"github.com/clusterhop/clusterhop/classify"
)

// Defaults: the value a zero field of Policy stands for. doc.go explains
// where each number comes from.
const (
	DefaultMaxRedirects = 16
	DefaultMaxRetries   = 60
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = time.Second
	DefaultMultiplier   = 2.0

	// DefaultTryAgainDelay is the base delay of TRYAGAIN: the keys of a
	// multi-key command are being migrated a few at a time, so the next
	// attempt (which then gets an ASK or succeeds) is worth making soon.
	DefaultTryAgainDelay = 10 * time.Millisecond
)

// Policy says how a command reacts to redirections and transient failures.
// It is plain data: copy it, compare it, load it from JSON (ParseJSON) or
// URL query parameters (FromQuery, ParseURL). Every zero field means the
// documented default, so Policy{} is the recommended policy.
//
// Go field, JSON name and URL parameter name are listed in doc.go and in
// the README; JSON names are the URL names, nested objects joined with '_'
// (budget.max_tokens is budget_max_tokens).
type Policy struct {
	// MaxRedirects bounds the MOVED/ASK/REDIRECT hops of one command.
	// Default 16 (ioredis's maxRedirections, redis-py's TTL).
	MaxRedirects int `json:"max_redirects,omitempty"`

	// MaxRetries bounds the delayed retries of one command (TRYAGAIN,
	// CLUSTERDOWN, LOADING, BUSY, MASTERDOWN, READONLY, UNBLOCKED,
	// connection failures, ...). Separate from MaxRedirects. Default 60:
	// enough for a failover with cluster-node-timeout 15s (see doc.go);
	// the context deadline and Timeout end waiting sooner when they say so.
	MaxRetries int `json:"max_retries,omitempty"`

	// DisableRetries turns delayed retries off: every retryable failure is
	// returned at once (wrapped with ErrRetryBudget). Redirects are still
	// followed. Default false.
	DisableRetries bool `json:"disable_retries,omitempty"`

	// MinBackoff is the base delay of every retryable kind without an
	// entry in Delays (TRYAGAIN's built-in base is 10ms). Default 100ms,
	// or MaxBackoff when that is set lower.
	MinBackoff time.Duration `json:"min_backoff,omitempty"`

	// MaxBackoff caps every delay. Default 1s, or MinBackoff when that is
	// set higher.
	MaxBackoff time.Duration `json:"max_backoff,omitempty"`

	// Multiplier is the growth of the delay ceiling per retry: retry n
	// waits a uniformly random time in [0, min(MaxBackoff, base ×
	// Multiplier^n)) ("full jitter"). At least 1. Default 2.
	Multiplier float64 `json:"multiplier,omitempty"`

	// Delays overrides the base delay of single kinds; keys must be
	// retryable kinds (see DelayKinds). Entries not set keep their
	// default: MinBackoff, or 10ms for TRYAGAIN. Default empty.
	Delays map[classify.Kind]time.Duration `json:"delays,omitempty"`

	// Timeout bounds the whole command, first attempt to last, when
	// positive; the context deadline always bounds it too. No wait is
	// started that would end past either. Default 0: the context alone.
	Timeout time.Duration `json:"timeout,omitempty"`

	// InDoubt says whether a command that may have run is re-sent.
	// Default InDoubtReadOnly: reads are, writes are not.
	InDoubt InDoubtMode `json:"in_doubt,omitempty"`

	// Budget configures the token bucket shared by a client's commands.
	Budget BudgetConfig `json:"budget"`

	// Breaker configures the per-node breaker of a client.
	Breaker BreakerConfig `json:"breaker"`
}

// InDoubtMode says what happens to a command that failed after it may have
// reached the server (a timeout or a broken connection after sending): the
// server may have run it, so re-sending may run it twice.
type InDoubtMode uint8

const (
	// InDoubtReadOnly re-sends only commands without side effects: those
	// the command table flags read-only and that do not block (GET, MGET,
	// HGETALL, ZRANGE, ...; not BLPOP, XREAD, XREADGROUP, GETDEL, nor any
	// write, nor a transaction). A write whose reply was lost fails typed,
	// wrapped with ErrInDoubt. The default: a read that runs twice changes
	// nothing, and only the caller knows whether a write may.
	InDoubtReadOnly InDoubtMode = iota

	// InDoubtNever never re-sends such a command; the failure is returned
	// wrapped with ErrInDoubt.
	InDoubtNever

	// InDoubtIdempotent re-sends it only when running it twice is harmless:
	// State.Idempotent is set or Idempotent(State.Args) says so.
	InDoubtIdempotent

	// InDoubtAlways re-sends every command: at-least-once, an explicit
	// opt-in for callers whose writes are all safe to repeat.
	InDoubtAlways

	inDoubtCount
)

var inDoubtNames = [inDoubtCount]string{"readonly", "never", "idempotent", "always"}

// String returns "readonly", "never", "idempotent" or "always", the names
// the JSON and URL forms use.
func (m InDoubtMode) String() string {
	if m < inDoubtCount {
		return inDoubtNames[m]
	}
	return fmt.Sprintf("InDoubtMode(%d)", uint8(m))
}

// MarshalText writes the mode's name.
func (m InDoubtMode) MarshalText() ([]byte, error) {
	if m >= inDoubtCount {
		return nil, &ConfigError{Field: "in_doubt", Value: m.String(), Reason: "unknown mode"}
	}
	return []byte(m.String()), nil
}

// UnmarshalText reads "readonly", "never", "idempotent" or "always".
func (m *InDoubtMode) UnmarshalText(b []byte) error {
	for i, name := range inDoubtNames {
		if string(b) == name {
			*m = InDoubtMode(i)
			return nil
		}
	}
	return &ConfigError{Field: "in_doubt", Value: string(b), Reason: `want "readonly", "never", "idempotent" or "always"`}
}

// ConfigError is a bad field of a Policy: Field is its JSON/URL name.
type ConfigError struct {
	Field  string // "max_backoff", "delays", "budget_max_tokens", ...
	Value  string // the value as written, or as formatted from the struct
	Reason string // what is wrong with it
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return "retry: " + e.Field + ": " + e.Reason
	}
	return "retry: invalid " + e.Field + "=" + e.Value + ": " + e.Reason
}

// Validate reports the first field whose value is out of range, naming it.
// Zero fields are always valid (they mean the default).
func (p Policy) Validate() error {
	bad := func(field string, v any, reason string) error {
		return &ConfigError{Field: field, Value: fmt.Sprint(v), Reason: reason}
	}
	switch {
	case p.MaxRedirects < 0:
		return bad("max_redirects", p.MaxRedirects, "must not be negative (0 means 16)")
	case p.MaxRetries < 0:
		return bad("max_retries", p.MaxRetries, "must not be negative (0 means 60; disable_retries=true turns retries off)")
	case p.MinBackoff < 0:
		return bad("min_backoff", p.MinBackoff, "must not be negative")
	case p.MaxBackoff < 0:
		return bad("max_backoff", p.MaxBackoff, "must not be negative")
	case p.MinBackoff > 0 && p.MaxBackoff > 0 && p.MinBackoff > p.MaxBackoff:
		return bad("min_backoff", p.MinBackoff, "greater than max_backoff ("+p.MaxBackoff.String()+")")
	case p.Multiplier != 0 && !(p.Multiplier >= 1 && p.Multiplier <= 1e6):
		return bad("multiplier", p.Multiplier, "must be between 1 and 1e6")
	case p.Timeout < 0:
		return bad("timeout", p.Timeout, "must not be negative (0 means the context deadline alone)")
	case p.InDoubt >= inDoubtCount:
		return bad("in_doubt", p.InDoubt, `want "readonly", "never", "idempotent" or "always"`)
	}
	for _, k := range DelayKinds() {
		d, ok := p.Delays[k]
		switch {
		case !ok:
		case d < 0:
			return bad("delays", kindKey(k)+":"+d.String(), "must not be negative")
		case d > p.maxBackoff():
			return bad("delays", kindKey(k)+":"+d.String(), "greater than max_backoff ("+p.maxBackoff().String()+")")
		}
	}
	for k := range p.Delays {
		if !isDelayKind(k) {
			return bad("delays", k.String(), "not a retryable kind; want one of "+delayKindList())
		}
	}
	if err := p.Budget.validate(); err != nil {
		return err
	}
	return p.Breaker.validate()
}

func (p *Policy) maxRedirects() int {
	if p.MaxRedirects > 0 {
		return p.MaxRedirects
	}
	return DefaultMaxRedirects
}

func (p *Policy) maxRetries() int {
	switch {
	case p.DisableRetries:
		return 0
	case p.MaxRetries > 0:
		return p.MaxRetries
	}
	return DefaultMaxRetries
}

// minBackoff and maxBackoff keep a default from contradicting the other
// field when only one is set: max_backoff=20ms alone lowers the minimum to
// 20ms, min_backoff=2s alone raises the maximum to 2s.
func (p *Policy) minBackoff() time.Duration {
	if p.MinBackoff > 0 {
		return p.MinBackoff
	}
	return min(DefaultMinBackoff, p.maxBackoff())
}

func (p *Policy) maxBackoff() time.Duration {
	if p.MaxBackoff > 0 {
		return p.MaxBackoff
	}
	return max(DefaultMaxBackoff, p.MinBackoff)
}

func (p *Policy) multiplier() float64 {
	if p.Multiplier >= 1 {
		return p.Multiplier
	}
	return DefaultMultiplier
}

// base is the delay ceiling of the first retry after a failure of kind k.
func (p *Policy) base(k classify.Kind) time.Duration {
	if d, ok := p.Delays[k]; ok && d > 0 {
		return d
	}
	if k == classify.KindTryAgain {
		return min(DefaultTryAgainDelay, p.maxBackoff())
	}
	return p.minBackoff()
}

// Ceiling is the upper bound of the delay before retry number n (0 for the
// first retry) after a failure of kind k: min(MaxBackoff, base(k) ×
// Multiplier^n). The delay itself is uniform in [0, Ceiling).
func (p *Policy) Ceiling(k classify.Kind, n int) time.Duration {
	limit := p.maxBackoff()
	c := float64(p.base(k)) * math.Pow(p.multiplier(), float64(max(n, 0)))
	if !(c < float64(limit)) { // also catches +Inf and NaN
		return limit
	}
	return time.Duration(c)
}

// Backoff returns the delay before retry number n after a failure of kind
// k: rnd() × Ceiling(k, n), rnd() clamped to [0, 1].
func (p *Policy) Backoff(k classify.Kind, n int, rnd func() float64) time.Duration {
	r := rnd()
	if !(r > 0) { // also catches NaN
		return 0
	}
	return time.Duration(min(r, 1) * float64(p.Ceiling(k, n)))
}
