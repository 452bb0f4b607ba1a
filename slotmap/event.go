package slotmap

import (
	"strconv"
	"time"
)

// Reason says why a refresh was asked for.
type Reason uint8

const (
	ReasonInitial     Reason = iota // the first topology, at start
	ReasonMoved                     // a MOVED reply: slots are moving
	ReasonAsk                       // an ASK reply: a slot is migrating
	ReasonConnError                 // a node did not answer: it may have failed over
	ReasonUncovered                 // a slot had no owner in the current view
	ReasonUnknownNode               // a reply named a node the view does not know
	ReasonPeriodic                  // Config.Periodic elapsed
	ReasonManual                    // the application asked
	ReasonPromoted                  // a replica reported itself primary (RefreshFrom)
)

var reasonNames = [...]string{
	ReasonInitial:     "initial",
	ReasonMoved:       "moved",
	ReasonAsk:         "ask",
	ReasonConnError:   "connection error",
	ReasonUncovered:   "uncovered slot",
	ReasonUnknownNode: "unknown node",
	ReasonPeriodic:    "periodic",
	ReasonManual:      "manual",
	ReasonPromoted:    "replica promoted",
}

// String returns a lower-case description ("moved", "connection error").
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// RefreshEvent reports one topology fetch to Config.Observer.
type RefreshEvent struct {
	Reason    Reason        // why the fetch ran (the first of the requests it served)
	Addr      string        // the node whose view was used; on failure, the first node asked
	Duration  time.Duration // from the start of the fetch to its outcome
	Err       error         // nil when a view was obtained
	Changed   bool          // the published view routes some slot differently or knows other nodes
	Discarded bool          // the view was older than the map's (it would undo a newer MOVED patch)
}
