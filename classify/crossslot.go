package classify

// crossSlotMessage is what Redis 7 and Valkey 8 send after "CROSSSLOT " when
// the keys of one command hash to different slots.
const crossSlotMessage = "Keys in request don't hash to the same slot"

// CrossSlot returns the CROSSSLOT error a server would reply, for a client
// that finds the keys of a command in different slots before sending it.
// It is identical to Parse("CROSSSLOT Keys in request don't hash to the
// same slot"), so callers cannot tell (and need not care) which side
// refused. Each call returns a new *Error that the caller may keep.
func CrossSlot() error {
	return &Error{
		Kind:    KindCrossSlot,
		Code:    "CROSSSLOT",
		Message: crossSlotMessage,
		text:    "CROSSSLOT " + crossSlotMessage,
	}
}
