package retry

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clusterhop/clusterhop/classify"
)

// The default in-doubt mode re-sends reads and nothing else: a command
// whose reply was lost is re-sent only when the command table says it has
// no side effect.
func TestInDoubtReadOnlyIsTheDefault(t *testing.T) {
	lost := &classify.ClientError{Kind: classify.KindTimeout, Sent: true, Err: errors.New("i/o timeout")}
	tests := []struct {
		args []any
		want bool
	}{
		{[]any{"get", "k"}, true},
		{[]any{"GET", "k"}, true},
		{[]any{"mget", "a", "b"}, true},
		{[]any{"hgetall", "h"}, true},
		{[]any{"zrange", "z", 0, -1}, true},
		{[]any{"set", "k", "v"}, false},
		{[]any{"incr", "k"}, false},
		{[]any{"getdel", "k"}, false},
		{[]any{"blpop", "l", 0}, false},
		{[]any{"xreadgroup", "group", "g", "c", "streams", "s", ">"}, false},
		{[]any{"xread", "block", 0, "streams", "s", "$"}, false},
		{[]any{"no-such-command", "k"}, false},
		{nil, false},
	}
	var p Policy
	assert.Equal(t, InDoubtReadOnly, p.InDoubt)
	assert.Equal(t, "readonly", p.InDoubt.String())
	for _, tt := range tests {
		s := State{Args: tt.args}
		d := p.Next(&s, lost, t0, fixed(0.5))
		assert.Equal(t, tt.want, d.Action == ActionRetry, "%v: %v", tt.args, d)
		if !tt.want {
			assert.ErrorIs(t, d.Err, ErrInDoubt, "%v", tt.args)
		}
		assert.Equal(t, tt.want, p.MayResend(tt.args), "%v", tt.args)
	}
	never := Policy{InDoubt: InDoubtNever}
	assert.False(t, never.MayResend([]any{"get", "k"}), "never means never")
}
