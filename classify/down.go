package classify

import (
	"errors"
	"strconv"
	"strings"
)

// DownReason tells apart the three CLUSTERDOWN replies, which call for
// different reactions: a whole cluster down waits, an uncovered slot refreshes
// the topology, and a read-only cluster still serves reads.
type DownReason uint8

const (
	DownNone        DownReason = iota // not a CLUSTERDOWN reply
	DownCluster                       // "CLUSTERDOWN The cluster is down"
	DownSlotUnbound                   // "CLUSTERDOWN Hash slot not served"
	DownReadOnly                      // "CLUSTERDOWN The cluster is down and only accepts read commands"
	DownOther                         // a CLUSTERDOWN with another message
)

// String names the reason in lower case ("slot unbound").
func (r DownReason) String() string {
	switch r {
	case DownNone:
		return "none"
	case DownCluster:
		return "cluster down"
	case DownSlotUnbound:
		return "slot unbound"
	case DownReadOnly:
		return "read only"
	case DownOther:
		return "other"
	}
	return "DownReason(" + strconv.Itoa(int(r)) + ")"
}

// The messages that follow "CLUSTERDOWN " in Redis 7 and Valkey 8, which
// word them identically. They are matched as prefixes so that a server
// adding detail after them is still understood.
const (
	downReadOnlyMsg = "The cluster is down and only accepts read commands"
	downClusterMsg  = "The cluster is down"
	downUnboundMsg  = "Hash slot not served"
)

// DownReasonOf tells which CLUSTERDOWN reply err is, through any wrapping;
// err may be a typed error or a raw go-redis reply error. It returns
// DownNone for anything that is not a CLUSTERDOWN reply.
//
// The cluster refuses with "The cluster is down" when it lost coverage or a
// majority, "...and only accepts read commands" when
// cluster-allow-reads-when-down lets reads through (a read may be retried
// at once), and "Hash slot not served" when this node knows no owner for
// the slot (the topology changed: refresh it).
func DownReasonOf(err error) DownReason {
	e, ok := err.(*Error) // the common case skips errors.As
	if !ok {
		e = findError(err)
	}
	if e == nil || e.Kind != KindClusterDown {
		return DownNone
	}
	// The read-only message starts with the cluster-down one: test it first.
	switch {
	case strings.HasPrefix(e.Message, downReadOnlyMsg):
		return DownReadOnly
	case strings.HasPrefix(e.Message, downClusterMsg):
		return DownCluster
	case strings.HasPrefix(e.Message, downUnboundMsg):
		return DownSlotUnbound
	}
	return DownOther
}

// findError returns the *Error in err's chain, classifying err first if
// it has none; nil when there is none either way.
func findError(err error) *Error {
	var e *Error
	if errors.As(err, &e) || errors.As(Classify(err), &e) {
		return e
	}
	return nil
}
