package retry

import (
	"fmt"
	"math"
	"sync/atomic"
)

// Budget defaults (see doc.go for the arithmetic).
const (
	DefaultMaxTokens  = 1000
	DefaultTokenRatio = 0.1
)

// BudgetConfig configures a client's retry budget, grpc-go's retry
// throttling: a bucket of MaxTokens tokens, full at first; every delayed
// retry takes one token, every successful command puts back TokenRatio;
// a retry is refused (ErrThrottled) when it would leave MaxTokens/2 tokens
// or fewer. Redirects never take tokens.
type BudgetConfig struct {
	// MaxTokens is the size of the bucket; at most 1e6. Default 1000:
	// 500 retries beyond what successes pay back before throttling starts.
	MaxTokens float64 `json:"max_tokens,omitempty"`

	// TokenRatio is what one success puts back; at most MaxTokens.
	// Default 0.1: in the long run, one retry per ten successes.
	TokenRatio float64 `json:"token_ratio,omitempty"`

	// Disabled turns the budget off: NewBudget returns nil, and a nil
	// *Budget allows every retry. Default false.
	Disabled bool `json:"disabled,omitempty"`
}

func (c BudgetConfig) validate() error {
	bad := func(field string, v float64, reason string) error {
		return &ConfigError{Field: field, Value: fmt.Sprint(v), Reason: reason}
	}
	switch {
	case c.MaxTokens != 0 && !(c.MaxTokens >= 1 && c.MaxTokens <= 1e6):
		return bad("budget_max_tokens", c.MaxTokens, "must be between 1 and 1e6")
	case c.TokenRatio != 0 && !(c.TokenRatio > 0 && c.TokenRatio <= c.maxTokens()):
		return bad("budget_token_ratio", c.TokenRatio, fmt.Sprintf("must be above 0 and at most budget_max_tokens (%g)", c.maxTokens()))
	}
	return nil
}

func (c BudgetConfig) maxTokens() float64 {
	if c.MaxTokens > 0 {
		return c.MaxTokens
	}
	return DefaultMaxTokens
}

func (c BudgetConfig) tokenRatio() float64 {
	if c.TokenRatio > 0 {
		return c.TokenRatio
	}
	return DefaultTokenRatio
}

// Budget is a token bucket shared by all the commands of one client; put it
// in State.Budget and call Success after every command that succeeded. Safe
// for concurrent use and lock-free. A nil *Budget allows every retry.
type Budget struct {
	milli atomic.Int64 // tokens × 1000, as grpc-go counts them, so adding ratios is exact
	max   int64        // capacity, in milli-tokens
	ratio int64        // refund per success, in milli-tokens
}

// NewBudget returns a full bucket, or nil when c.Disabled.
func NewBudget(c BudgetConfig) *Budget {
	if c.Disabled {
		return nil
	}
	b := &Budget{
		max:   int64(math.Round(c.maxTokens() * 1000)),
		ratio: max(1, int64(math.Round(c.tokenRatio()*1000))),
	}
	b.milli.Store(b.max)
	return b
}

// take spends one token for a retry if more than half the bucket remains
// afterwards, and reports whether it did.
func (b *Budget) take() bool {
	if b == nil {
		return true
	}
	for {
		cur := b.milli.Load()
		next := cur - 1000
		if next*2 <= b.max {
			return false
		}
		if b.milli.CompareAndSwap(cur, next) {
			return true
		}
	}
}

// Success puts TokenRatio tokens back, up to MaxTokens.
func (b *Budget) Success() {
	if b == nil {
		return
	}
	for {
		cur := b.milli.Load()
		if cur >= b.max {
			return
		}
		if b.milli.CompareAndSwap(cur, min(b.max, cur+b.ratio)) {
			return
		}
	}
}

// Tokens returns the tokens in the bucket; +Inf for a nil (unlimited)
// budget.
func (b *Budget) Tokens() float64 {
	if b == nil {
		return math.Inf(1)
	}
	return float64(b.milli.Load()) / 1000
}
