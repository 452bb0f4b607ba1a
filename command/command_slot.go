package command

import (
	"encoding"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/slotmap"
)

// ErrUnknownCommand is wrapped by SlotOf's error for a command the
// table does not know; Table.Learn can teach it.
var ErrUnknownCommand = errors.New("command: unknown command")

// SlotOf returns the one slot all keys of the command args describes
// hash to (args in go-redis's Cmder.Args() form), -1 for a command without
// keys, which any node may serve. Keys in different slots return the
// server's own CROSSSLOT error (classify.KindCrossSlot), so a client can
// refuse the command before sending it. An unknown command returns an error
// wrapping ErrUnknownCommand that names it, and a key go-redis could not
// send an error naming its position and type.
func SlotOf(args []any) (int, error) {
	return DefaultTable.SlotOf(args)
}

// SlotOf is the package-level SlotOf on t's static and learned
// commands.
func (t *Table) SlotOf(args []any) (int, error) {
	slot, _, err := t.Route(args)
	return slot, err
}

// Route is SlotOf that also returns the command's flags, in one pass
// over its keys and without allocating: what a client needs to route a
// command. The flags are valid whenever the command is known (err does not
// wrap ErrUnknownCommand), also when its keys span slots.
func (t *Table) Route(args []any) (slot int, flags Flags, err error) {
	var buf [16]int
	idx, flags, ok := t.Keys(buf[:0], args)
	if !ok {
		return 0, 0, t.unknownCommand(args)
	}
	slot = -1
	for _, i := range idx {
		s, err := argSlot(args[i])
		if err != nil {
			return 0, flags, fmt.Errorf("command: key at argument %d: %w", i, err)
		}
		if slot >= 0 && s != slot {
			return 0, flags, classify.CrossSlot()
		}
		slot = s
	}
	return slot, flags, nil
}

func (t *Table) unknownCommand(args []any) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command name", ErrUnknownCommand)
	}
	name, _ := anyArgs(args).text(0)
	c := staticCommands.find(name)
	if c == nil {
		c = (*t.learned.Load()).find(name)
	}
	if c != nil && len(args) > 1 {
		// A known container: the subcommand is what is unknown.
		if sub, ok := anyArgs(args).text(1); ok {
			return fmt.Errorf("%w %q (subcommand %q)", ErrUnknownCommand, name, sub)
		}
	}
	return fmt.Errorf("%w %q", ErrUnknownCommand, name)
}

// argSlot returns the slot of a key argument as go-redis would write it
// (its proto.Writer.WriteArg): text as is, numbers in decimal, floats in
// their shortest form, booleans as 1 or 0, times in RFC 3339 with
// nanoseconds, durations in nanoseconds, BinaryMarshalers as they marshal.
func argSlot(v any) (int, error) {
	var num [64]byte
	switch v := v.(type) {
	case string:
		return slotmap.Slot(v), nil
	case []byte:
		return slotmap.SlotBytes(v), nil
	case nil:
		return slotmap.Slot(""), nil
	case int:
		return slotmap.SlotBytes(strconv.AppendInt(num[:0], int64(v), 10)), nil
	case int8:
		return slotmap.SlotBytes(strconv.AppendInt(num[:0], int64(v), 10)), nil
	case int16:
		return slotmap.SlotBytes(strconv.AppendInt(num[:0], int64(v), 10)), nil
	case int32:
		return slotmap.SlotBytes(strconv.AppendInt(num[:0], int64(v), 10)), nil
	case int64:
		return slotmap.SlotBytes(strconv.AppendInt(num[:0], v, 10)), nil
	case uint:
		return slotmap.SlotBytes(strconv.AppendUint(num[:0], uint64(v), 10)), nil
	case uint8:
		return slotmap.SlotBytes(strconv.AppendUint(num[:0], uint64(v), 10)), nil
	case uint16:
		return slotmap.SlotBytes(strconv.AppendUint(num[:0], uint64(v), 10)), nil
	case uint32:
		return slotmap.SlotBytes(strconv.AppendUint(num[:0], uint64(v), 10)), nil
	case uint64:
		return slotmap.SlotBytes(strconv.AppendUint(num[:0], v, 10)), nil
	case float32:
		return slotmap.SlotBytes(strconv.AppendFloat(num[:0], float64(v), 'f', -1, 64)), nil
	case float64:
		return slotmap.SlotBytes(strconv.AppendFloat(num[:0], v, 'f', -1, 64)), nil
	case bool:
		if v {
			return slotmap.Slot("1"), nil
		}
		return slotmap.Slot("0"), nil
	case time.Time:
		return slotmap.SlotBytes(v.AppendFormat(num[:0], time.RFC3339Nano)), nil
	case time.Duration:
		return slotmap.SlotBytes(strconv.AppendInt(num[:0], v.Nanoseconds(), 10)), nil
	case encoding.BinaryMarshaler:
		b, err := v.MarshalBinary()
		if err != nil {
			return 0, err
		}
		return slotmap.SlotBytes(b), nil
	case net.IP:
		return slotmap.SlotBytes(v), nil
	}
	if d, ok := deref(v); ok {
		return argSlot(d)
	}
	return 0, fmt.Errorf("go-redis cannot send a %T", v)
}

// deref returns what a pointer argument go-redis accepts points to.
func deref(v any) (any, bool) {
	switch v := v.(type) {
	case *string:
		return derefNonNil(v)
	case *int:
		return derefNonNil(v)
	case *int8:
		return derefNonNil(v)
	case *int16:
		return derefNonNil(v)
	case *int32:
		return derefNonNil(v)
	case *int64:
		return derefNonNil(v)
	case *uint:
		return derefNonNil(v)
	case *uint8:
		return derefNonNil(v)
	case *uint16:
		return derefNonNil(v)
	case *uint32:
		return derefNonNil(v)
	case *uint64:
		return derefNonNil(v)
	case *float32:
		return derefNonNil(v)
	case *float64:
		return derefNonNil(v)
	case *bool:
		return derefNonNil(v)
	}
	return nil, false
}

func derefNonNil[T any](p *T) (any, bool) {
	if p == nil {
		return nil, false
	}
	return *p, true
}
