package retry

import (
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBudgetThrottlesAtHalf(t *testing.T) {
	tests := []struct {
		name    string
		cfg     BudgetConfig
		retries int // retries allowed from a full bucket
	}{
		{"default: 1000 tokens", BudgetConfig{}, 499},
		{"10 tokens, as grpc-go's examples", BudgetConfig{MaxTokens: 10}, 4},
		{"fractional", BudgetConfig{MaxTokens: 3.5}, 1},
		{"one token", BudgetConfig{MaxTokens: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudget(tt.cfg)
			n := 0
			for b.take() {
				n++
				require.LessOrEqual(t, n, 1000)
			}
			assert.Equal(t, tt.retries, n)
			assert.Greater(t, b.Tokens()*2, tt.cfg.maxTokens()-2, "never below half minus one token")
		})
	}
}

func TestBudgetSuccessRefills(t *testing.T) {
	b := NewBudget(BudgetConfig{MaxTokens: 10, TokenRatio: 0.1})
	for b.take() {
	}
	assert.InDelta(t, 6.0, b.Tokens(), 1e-9, "4 retries taken; a fifth would leave 5, half the bucket")
	b.Success()
	require.True(t, b.take(), "6.1 tokens: a retry leaves 5.1, more than half")
	for cycle := range 5 {
		n := 0
		for !b.take() {
			b.Success()
			n++
			require.Less(t, n, 100)
		}
		assert.Equal(t, 10, n, "cycle %d: ten successes pay for one retry", cycle)
	}
	for range 1000 {
		b.Success()
	}
	assert.Equal(t, 10.0, b.Tokens(), "the bucket never holds more than MaxTokens")
}

func TestBudgetNilIsUnlimited(t *testing.T) {
	var b *Budget
	assert.True(t, b.take())
	b.Success()
	assert.True(t, math.IsInf(b.Tokens(), 1))
	assert.Nil(t, NewBudget(BudgetConfig{Disabled: true}))
}

func TestBudgetConcurrent(t *testing.T) {
	b := NewBudget(BudgetConfig{MaxTokens: 100, TokenRatio: 0.5})
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range 8 {
		wg.Go(func() {
			n := 0
			for range 1000 {
				if b.take() {
					n++
				}
			}
			mu.Lock()
			taken += n
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, 49, taken, "exactly the tokens above half, whatever the interleaving")
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				b.Success()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 100.0, b.Tokens())
}
