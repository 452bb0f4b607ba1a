package command_test

import (
	"errors"
	"fmt"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
)

func ExampleKeys() {
	args := []any{"eval", "return 1", 2, "{user1000}.following", "{user1000}.followers", "x"}
	idx, flags, ok := command.Keys(nil, args)
	fmt.Println(idx, ok, flags&command.FlagWrite != 0)

	idx, flags, _ = command.Keys(idx[:0], []any{"XREAD", "COUNT", 10, "STREAMS", "a", "b", "0", "0"})
	fmt.Println(idx, flags&command.FlagBlocking != 0)
	// Output:
	// [3 4] true true
	// [4 5] true
}

func ExampleSlotOf() {
	slot, _ := command.SlotOf([]any{"mget", "{user1000}.following", "{user1000}.followers"})
	fmt.Println(slot)

	slot, _ = command.SlotOf([]any{"ping"})
	fmt.Println(slot)

	_, err := command.SlotOf([]any{"mget", "a", "b"})
	fmt.Println(err, classify.KindOf(err) == classify.KindCrossSlot)

	_, err = command.SlotOf([]any{"frobnicate", "a"})
	fmt.Println(errors.Is(err, command.ErrUnknownCommand))
	// Output:
	// 3443
	// -1
	// CROSSSLOT Keys in request don't hash to the same slot true
	// true
}
