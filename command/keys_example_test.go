package slotmap_test

import (
	"errors"
	"fmt"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/slotmap"
)

func ExampleKeys() {
	args := []any{"eval", "return 1", 2, "{user1000}.following", "{user1000}.followers", "x"}
	idx, flags, ok := slotmap.Keys(nil, args)
	fmt.Println(idx, ok, flags&slotmap.FlagWrite != 0)

	idx, flags, _ = slotmap.Keys(idx[:0], []any{"XREAD", "COUNT", 10, "STREAMS", "a", "b", "0", "0"})
	fmt.Println(idx, flags&slotmap.FlagBlocking != 0)
	// Output:
	// [3 4] true true
	// [4 5] true
}

func ExampleCommandSlot() {
	slot, _ := slotmap.CommandSlot([]any{"mget", "{user1000}.following", "{user1000}.followers"})
	fmt.Println(slot)

	slot, _ = slotmap.CommandSlot([]any{"ping"})
	fmt.Println(slot)

	_, err := slotmap.CommandSlot([]any{"mget", "a", "b"})
	fmt.Println(err, classify.KindOf(err) == classify.KindCrossSlot)

	_, err = slotmap.CommandSlot([]any{"frobnicate", "a"})
	fmt.Println(errors.Is(err, slotmap.ErrUnknownCommand))
	// Output:
	// 3443
	// -1
	// CROSSSLOT Keys in request don't hash to the same slot true
	// true
}
