package command

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

var benchCommands = []struct {
	name string
	args []any
}{
	{"GET", []any{"get", "user:1000"}},
	{"MSET10", func() []any {
		args := []any{"mset"}
		for i := range 10 {
			args = append(args, "{user}:"+strconv.Itoa(i), "v")
		}
		return args
	}()},
	{"EVAL", []any{"eval", "return redis.call('get', KEYS[1])", 2, "{t}a", "{t}b", "arg"}},
	{"XREAD", []any{"xread", "count", 10, "block", 0, "streams", "{t}a", "{t}b", "0", "0"}},
	{"UPPERCASE", []any{"HGETALL", "user:1000"}},
}

func TestKeysAllocations(t *testing.T) {
	dst := make([]int, 0, 16)
	for _, bc := range benchCommands {
		allocs := testing.AllocsPerRun(100, func() {
			if _, _, ok := Keys(dst[:0], bc.args); !ok {
				t.Fatal("unknown")
			}
		})
		assert.Zero(t, allocs, bc.name)
	}
	strs := []string{"MGET", "a", "b", "c"}
	allocs := testing.AllocsPerRun(100, func() { KeysStrings(dst[:0], strs) })
	assert.Zero(t, allocs, "KeysStrings")
}

func BenchmarkKeys(b *testing.B) {
	dst := make([]int, 0, 16)
	for _, bc := range benchCommands {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst, _, _ = Keys(dst[:0], bc.args)
			}
		})
	}
}

func BenchmarkCommandSlot(b *testing.B) {
	for _, bc := range benchCommands {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SlotOf(bc.args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
