package slotmap

import "errors"

func crossSlotError() error { return errors.New(crossSlotReply) }
