package command

import (
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/slotmap"
)

func TestCommandSlot(t *testing.T) {
	tests := []struct {
		name string
		args []any
		want int
	}{
		{"one key", []any{"get", "foo"}, 12182},
		{"keys sharing a tag", []any{"mget", "{user1000}.following", "{user1000}.followers"}, slotmap.Slot("user1000")},
		{"keyless", []any{"ping"}, -1},
		{"script without keys", []any{"eval", "return 1", 0}, -1},
		{"script keys", []any{"eval", "return 1", 2, "{t}a", "{t}b", "x"}, slotmap.Slot("t")},
		{"bytes key", []any{"get", []byte("foo")}, 12182},
		{"nil key is empty", []any{"get", nil}, slotmap.Slot("")},
		{"int key", []any{"get", 123}, slotmap.Slot("123")},
		{"int64 key", []any{"get", int64(-5)}, slotmap.Slot("-5")},
		{"uint key", []any{"get", uint8(7)}, slotmap.Slot("7")},
		{"float key", []any{"get", 1.5}, slotmap.Slot("1.5")},
		{"float32 key", []any{"get", float32(0.25)}, slotmap.Slot("0.25")},
		{"bool key", []any{"get", true}, slotmap.Slot("1")},
		{"duration key", []any{"get", time.Second}, slotmap.Slot("1000000000")},
		{"time key", []any{"get", time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)}, slotmap.Slot("2024-01-02T03:04:05.000000006Z")},
		{"ip key", []any{"get", net.IPv4(1, 2, 3, 4).To4()}, slotmap.SlotBytes([]byte{1, 2, 3, 4})},
		{"marshaler key", []any{"get", binaryKey("foo")}, 12182},
		{"pointer key", []any{"get", ptr(42)}, slotmap.Slot("42")},
		{"string pointer key", []any{"get", ptr("foo")}, 12182},
		{"shard channel", []any{"spublish", "foo", "msg"}, 12182},
		{"container", []any{"object", "encoding", "foo"}, 12182},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SlotOf(tt.args)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCommandSlotCrossSlot(t *testing.T) {
	for _, args := range [][]any{
		{"mget", "a", "b"},
		{"mset", "{x}a", 1, "{y}b", 2},
		{"rename", "foo", "bar"},
		{"eval", "s", "2", "a", "b"},
		{"xread", "streams", "a", "b", "0", "0"},
	} {
		_, err := SlotOf(args)
		require.Error(t, err, "%v", args)
		assert.Equal(t, classify.KindCrossSlot, classify.KindOf(err))
		assert.Equal(t, "CROSSSLOT Keys in request don't hash to the same slot", err.Error())
		var ce *classify.Error
		assert.True(t, errors.As(err, &ce))
	}
}

func TestCommandSlotErrors(t *testing.T) {
	_, err := SlotOf([]any{"frobnicate", "a"})
	assert.ErrorIs(t, err, ErrUnknownCommand)
	assert.EqualError(t, err, `command: unknown command "frobnicate"`)

	_, err = SlotOf([]any{"object", "frob", "a"})
	assert.EqualError(t, err, `command: unknown command "object" (subcommand "frob")`)

	_, err = SlotOf(nil)
	assert.EqualError(t, err, "command: unknown command: no command name")

	_, err = SlotOf([]any{"get", struct{}{}})
	assert.EqualError(t, err, "command: key at argument 1: go-redis cannot send a struct {}")

	_, err = SlotOf([]any{"get", (*int)(nil)})
	assert.EqualError(t, err, "command: key at argument 1: go-redis cannot send a *int")

	_, err = SlotOf([]any{"get", binaryKey("")})
	assert.EqualError(t, err, "command: key at argument 1: cannot marshal an empty key")
}

func TestCommandSlotManyKeys(t *testing.T) {
	// More keys than SlotOf's buffer on the stack.
	args := []any{"del"}
	for i := range 100 {
		args = append(args, "{tag}"+strconv.Itoa(i))
	}
	got, err := SlotOf(args)
	require.NoError(t, err)
	assert.Equal(t, slotmap.Slot("tag"), got)
}

func TestCommandSlotAllocations(t *testing.T) {
	args := []any{"mset", "{t}a", "1", "{t}b", "2", "{t}c", "3"}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := SlotOf(args); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

type binaryKey string

func (k binaryKey) MarshalBinary() ([]byte, error) {
	if k == "" {
		return nil, errors.New("cannot marshal an empty key")
	}
	return []byte(k), nil
}

func ptr[T any](v T) *T { return &v }

func TestRoute(t *testing.T) {
	tb := NewTable()
	slot, flags, err := tb.Route([]any{"get", "foo"})
	require.NoError(t, err)
	assert.Equal(t, 12182, slot)
	assert.NotZero(t, flags&FlagReadOnly)

	slot, flags, err = tb.Route([]any{"ping"})
	require.NoError(t, err)
	assert.Equal(t, -1, slot)
	assert.NotZero(t, flags&FlagKeyless)

	_, flags, err = tb.Route([]any{"mget", "a", "b"})
	assert.Equal(t, classify.KindCrossSlot, classify.KindOf(err))
	assert.NotZero(t, flags&FlagSplittable, "flags are valid for a cross-slot command too")

	_, _, err = tb.Route([]any{"frobnicate", "x"})
	assert.True(t, errors.Is(err, ErrUnknownCommand))

	args := []any{"set", "{user1000}.following", "v"}
	allocs := testing.AllocsPerRun(100, func() { _, _, _ = tb.Route(args) })
	assert.Zero(t, allocs)
}
