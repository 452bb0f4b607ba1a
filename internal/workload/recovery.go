package workload

import (
	"sync"
	"time"

	"github.com/clusterhop/clusterhop/slotmap"
)

// Recovery measures how a client came through a cluster event: from the
// event on, the writes that failed on the slots the event touched, and when
// the first write there succeeded again. Feed it every Result (Observe)
// and start it at the event (Mark).
type Recovery struct {
	mu      sync.Mutex // protects the fields below
	at      time.Time  // the event; zero before it
	touched func(slot int) bool
	firstOK time.Time
	failed  int
}

// Mark starts the measurement at the event, for the slots touched reports.
func (r *Recovery) Mark(at time.Time, touched func(slot int) bool) {
	r.mu.Lock()
	r.at, r.touched = at, touched
	r.mu.Unlock()
}

// Observe takes one operation's outcome; reads are left out, since a read
// may succeed on a replica or a stale node before writes do.
func (r *Recovery) Observe(res Result) {
	if res.Op == "get" || res.Op == "mget" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at.IsZero() || res.At.Before(r.at) || !r.touched(slotmap.Slot(res.Key)) {
		return
	}
	if res.Err != nil {
		r.failed++
		return
	}
	if r.firstOK.IsZero() {
		r.firstOK = res.At.Add(res.Took)
	}
}

// Result returns the writes that failed on the touched slots since the
// event, and how long after it the first one succeeded (ok false if none
// did).
func (r *Recovery) Result() (failed int, after time.Duration, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstOK.IsZero() {
		return r.failed, 0, false
	}
	return r.failed, r.firstOK.Sub(r.at), true
}
