package redirect

import (
	"time"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/slotmap"
)

// Observer hears what the engine does. Every field may be nil; a nil
// Observer costs one pointer comparison per event. Callbacks run on the
// command's goroutine (refreshes on the refresher's): keep them short.
type Observer struct {
	// Redirect hears each MOVED, ASK or REDIRECT followed, pipelines included.
	Redirect func(RedirectEvent)
	// Retry hears each delayed retry, before the wait.
	Retry func(RetryEvent)
	// Refresh hears each topology fetch and its outcome.
	Refresh func(slotmap.RefreshEvent)
	// GiveUp hears each command the engine stopped trying, with the error
	// returned to the caller; not a command whose error is its answer
	// (redis.Nil, WRONGTYPE, ERR ...).
	GiveUp func(GiveUpEvent)
	// Breaker hears a node's breaker opening (the node is ejected) and
	// closing again (a probe succeeded).
	Breaker func(BreakerEvent)
}

// RedirectEvent describes one redirection followed.
type RedirectEvent struct {
	Kind    classify.Kind // KindMoved, KindAsk or KindRedirect
	Command string        // the command's name, lower case as go-redis has it
	Slot    int           // -1 for REDIRECT
	From    string        // the node that answered
	To      string        // the node the command is re-sent to
}

// RetryEvent describes one delayed retry.
type RetryEvent struct {
	Kind    classify.Kind // what failed
	Command string
	Addr    string        // the node that failed
	Attempt int           // 1 for the first retry
	Delay   time.Duration // the wait before the retry
	Refresh bool          // a topology refresh was asked for
}

// GiveUpEvent describes a command that failed for good.
type GiveUpEvent struct {
	Kind    classify.Kind // the kind of the last failure
	Command string
	Addr    string
	Err     error // the error returned to the caller
}

// BreakerEvent describes a node's breaker changing state.
type BreakerEvent struct {
	Addr string
	Open bool
}
