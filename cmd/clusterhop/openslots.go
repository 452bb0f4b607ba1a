package main

import (
	"strconv"
	"strings"

	"github.com/clusterhop/clusterhop/slotmap"
)

// openSlot is a slot a node reports in the middle of a migration.
type openSlot struct {
	Slot     int    `json:"slot"`
	Addr     string `json:"addr"`  // the node that reports it
	State    string `json:"state"` // stateMigrating (to Peer) or stateImporting (from Peer)
	Peer     string `json:"peer_id"`
	PeerAddr string `json:"peer_addr"`
}

const (
	stateMigrating = "migrating"
	stateImporting = "importing"
)

// parseOpenSlots reads a CLUSTER NODES reply and returns the open slots of
// the node that sent it (the line flagged "myself"): a slot field
// "[N->-id]" is migrating to node id, "[N-<-id]" importing from it. Lines
// and fields it cannot read are skipped: this is a report, and the slot
// map itself comes from CLUSTER SHARDS.
func parseOpenSlots(nodes string) []openSlot {
	var out []openSlot
	for line := range strings.Lines(nodes) {
		f := strings.Fields(line)
		if len(f) < 9 || !hasFlag(f[2], "myself") {
			continue
		}
		for _, field := range f[8:] {
			inner, ok := strings.CutPrefix(field, "[")
			if !ok {
				continue
			}
			inner, ok = strings.CutSuffix(inner, "]")
			if !ok {
				continue
			}
			o := openSlot{State: stateMigrating}
			slot, peer, ok := strings.Cut(inner, "->-")
			if !ok {
				o.State = stateImporting
				if slot, peer, ok = strings.Cut(inner, "-<-"); !ok {
					continue
				}
			}
			n, err := strconv.Atoi(slot)
			if err != nil || n < 0 || n >= slotmap.SlotCount || peer == "" {
				continue
			}
			o.Slot, o.Peer = n, peer
			out = append(out, o)
		}
	}
	return out
}

func hasFlag(flags, want string) bool {
	for f := range strings.SplitSeq(flags, ",") {
		if f == want {
			return true
		}
	}
	return false
}
