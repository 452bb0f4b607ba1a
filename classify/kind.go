package classify

import "strconv"

// Kind names one class of failure: one kind per server error code, and one
// per client-side failure. The zero Kind is KindNone, the kind of a nil error.
type Kind uint8

// Kinds of server error replies, one per error code.
const (
	KindNone Kind = iota // no error (nil)

	KindMoved       // MOVED slot host:port — the slot lives on another node
	KindAsk         // ASK slot host:port — the key is being migrated; ask the target once
	KindRedirect    // REDIRECT host:port — Valkey: the client should talk to another node
	KindTryAgain    // TRYAGAIN — a multi-key command on a slot being migrated; try later
	KindClusterDown // CLUSTERDOWN — the cluster (or this slot) is down; see DownReasonOf
	KindCrossSlot   // CROSSSLOT — keys in different slots (also raised client-side)
	KindMasterDown  // MASTERDOWN — a replica lost its primary and will not serve stale data
	KindReadOnly    // READONLY — a write was sent to a replica
	KindLoading     // LOADING — the server is loading its dataset in memory
	KindBusy        // BUSY — a script or function is running too long
	KindNoScript    // NOSCRIPT — no script with that SHA1
	KindNoAuth      // NOAUTH — authentication required
	KindWrongPass   // WRONGPASS — invalid username-password pair
	KindNoPerm      // NOPERM — the user lacks a permission (ACL)
	KindOOM         // OOM — maxmemory reached and the command would use more
	KindExecAbort   // EXECABORT — a transaction was discarded because of earlier errors
	KindWrongType   // WRONGTYPE — an operation against a key holding the wrong kind of value
	KindNoReplicas  // NOREPLICAS — not enough good replicas to write
	KindMisconf     // MISCONF — writes refused because an RDB snapshot failed
	KindUnblocked   // UNBLOCKED — a blocked client was unblocked (CLIENT UNBLOCK ERROR, or the key moved)
	KindBusyKey     // BUSYKEY — the target key already exists (RESTORE, MIGRATE)
	KindBusyGroup   // BUSYGROUP — the consumer group already exists
	KindNoGroup     // NOGROUP — no such consumer group or key
	KindNoProto     // NOPROTO — the protocol version is not supported (HELLO)
	KindNotBusy     // NOTBUSY — no script is running (SCRIPT KILL, FUNCTION KILL)
	KindUnkillable  // UNKILLABLE — the running script already wrote and cannot be killed
	KindDenied      // DENIED — the command is refused in this configuration (protected mode, Lua)
	KindErr         // ERR — the generic error code
	KindUnknown     // a reply with a code this package does not know; Error.Code keeps it

	// Client-side failures: no reply was read.

	KindConnection      // dialling failed or the connection broke
	KindTimeout         // a read, write or dial deadline passed
	KindPoolExhausted   // no connection became free in time (go-redis pool timeout)
	KindCanceled        // the caller's context was canceled
	KindDeadline        // the caller's context deadline passed
	KindClosed          // the client was closed
	KindSlotNotCovered  // no node serves the slot in the known topology
	KindBudgetExhausted // retries or redirects ran out; the error wraps the last failure
	KindBreakerOpen     // the node is ejected after repeated failures
	KindProtocol        // the reply could not be parsed (redis-py's InvalidResponse)

	// KindNil is go-redis's redis.Nil: the key (or the reply) does not
	// exist. It is the command's answer, not a failure; it has a kind so
	// that code switching on KindOf need not special-case it.
	KindNil

	kindCount // number of kinds; keep last
)

var kindNames = [kindCount]string{
	KindNone:            "NONE",
	KindMoved:           "MOVED",
	KindAsk:             "ASK",
	KindRedirect:        "REDIRECT",
	KindTryAgain:        "TRYAGAIN",
	KindClusterDown:     "CLUSTERDOWN",
	KindCrossSlot:       "CROSSSLOT",
	KindMasterDown:      "MASTERDOWN",
	KindReadOnly:        "READONLY",
	KindLoading:         "LOADING",
	KindBusy:            "BUSY",
	KindNoScript:        "NOSCRIPT",
	KindNoAuth:          "NOAUTH",
	KindWrongPass:       "WRONGPASS",
	KindNoPerm:          "NOPERM",
	KindOOM:             "OOM",
	KindExecAbort:       "EXECABORT",
	KindWrongType:       "WRONGTYPE",
	KindNoReplicas:      "NOREPLICAS",
	KindMisconf:         "MISCONF",
	KindUnblocked:       "UNBLOCKED",
	KindBusyKey:         "BUSYKEY",
	KindBusyGroup:       "BUSYGROUP",
	KindNoGroup:         "NOGROUP",
	KindNoProto:         "NOPROTO",
	KindNotBusy:         "NOTBUSY",
	KindUnkillable:      "UNKILLABLE",
	KindDenied:          "DENIED",
	KindErr:             "ERR",
	KindUnknown:         "UNKNOWN",
	KindConnection:      "connection",
	KindTimeout:         "timeout",
	KindPoolExhausted:   "pool exhausted",
	KindCanceled:        "canceled",
	KindDeadline:        "deadline exceeded",
	KindClosed:          "closed",
	KindSlotNotCovered:  "slot not covered",
	KindBudgetExhausted: "budget exhausted",
	KindBreakerOpen:     "breaker open",
	KindProtocol:        "protocol",
	KindNil:             "nil",
}

// String returns the server's error code for reply kinds ("MOVED") and a
// lower-case description for client-side kinds ("connection").
func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// IsReply reports whether k is the kind of a server error reply, as opposed
// to a client-side failure.
func (k Kind) IsReply() bool { return k >= KindMoved && k <= KindUnknown }
