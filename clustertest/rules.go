package clustertest

import (
	"strconv"

	"github.com/clusterhop/clusterhop/slotmap"
)

// route applies the cluster's rules to a command with keys, the way Redis
// 7.0's getNodeByQuery does, and returns the error to answer, or "" when
// this node serves the command. write says whether the command may write;
// asking and readonly are the connection's flags.
func (n *node) route(t *topology, keys []string, write, asking, readonly bool) string {
	slot := slotmap.Slot(keys[0])
	multiple := false
	for _, k := range keys[1:] {
		if k == keys[0] {
			continue
		}
		if slotmap.Slot(k) != slot {
			return ReplyCrossSlot
		}
		multiple = true
	}
	owner := int(t.owner[slot])
	if owner < 0 {
		return ReplySlotNotServed
	}
	if t.shards[owner].down {
		return ReplyClusterDown
	}
	me := t.nodes[n.idx]
	m, open := t.migrations[slot]
	migrating := open && me.primary && me.shard == m.from
	importing := open && me.primary && me.shard == m.to

	// While a slot moves, what this node can serve depends on which of
	// the keys it still (or already) holds.
	missing, existing := 0, 0
	if migrating || importing {
		for _, k := range keys {
			if n.c.store.exists(me.shard, k) {
				existing++
			} else {
				missing++
			}
		}
	}
	// The source serves the keys it still has; when all are gone the
	// client must ask the target; when the keys are split between the two
	// nodes nobody can serve the command until the migration moves on.
	if migrating && missing > 0 {
		if existing > 0 {
			return ReplyTryAgain
		}
		return "ASK " + strconv.Itoa(slot) + " " + t.redirectTo(m.to)
	}
	// The target serves a slot it imports only to clients sent by an ASK,
	// and a multi-key command only when it already has every key.
	if importing && asking {
		if multiple && missing > 0 {
			return ReplyTryAgain
		}
		return ""
	}
	// A replica in READONLY mode serves reads of its primary's slots.
	if readonly && !write && !me.primary && me.shard == owner {
		return ""
	}
	if me.primary && me.shard == owner {
		return ""
	}
	return "MOVED " + strconv.Itoa(slot) + " " + t.redirectTo(owner)
}
