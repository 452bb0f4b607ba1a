package slotmap

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type keysCase struct {
	line string // the command, split on spaces; "''" is an empty argument
	want []int  // key positions
}

func split(line string) []string {
	args := strings.Fields(line)
	for i, a := range args {
		if a == "''" {
			args[i] = ""
		}
	}
	return args
}

func toAny(args []string) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

// checkKeys runs each case through both forms of Keys.
func checkKeys(t *testing.T, cases []keysCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			args := split(tc.line)
			got, _, ok := KeysStrings(nil, args)
			require.True(t, ok, "command not known")
			assert.Equal(t, tc.want, nonNil(got), "KeysStrings")
			got, _, ok = Keys(nil, toAny(args))
			require.True(t, ok, "command not known")
			assert.Equal(t, tc.want, nonNil(got), "Keys")
		})
	}
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

func k(i ...int) []int { return append([]int{}, i...) }

func TestKeysStrings(t *testing.T) {
	checkKeys(t, []keysCase{
		{"GET a", k(1)},
		{"get a", k(1)},
		{"gEt a", k(1)},
		{"SET a 1 EX 10 GET", k(1)},
		{"INCRBYFLOAT a 1.5", k(1)},
		{"GETRANGE a 0 -1", k(1)},
		{"LCS a b", k(1, 2)},
		{"MSET a 1 b 2 c 3", k(1, 3, 5)},
		{"MSETNX a 1 b 2", k(1, 3)},
		{"MGET a b c", k(1, 2, 3)},
		{"APPEND a x", k(1)},
		{"GETEX a PERSIST", k(1)},
	})
}
