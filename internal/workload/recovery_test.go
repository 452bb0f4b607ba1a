package workload_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/clusterhop/clusterhop/internal/workload"
	"github.com/clusterhop/clusterhop/slotmap"
)

func TestRecovery(t *testing.T) {
	at := time.Unix(1000, 0)
	touched, other := "{a}k", "{b}k"
	assert.NotEqual(t, slotmap.Slot(touched), slotmap.Slot(other), "the two keys are in different slots")
	var r workload.Recovery
	fail := errors.New("CLUSTERDOWN")

	r.Observe(workload.Result{Op: "set", Key: touched, Err: fail, At: at.Add(-time.Second)}) // before Mark
	r.Mark(at, func(s int) bool { return s == slotmap.Slot(touched) })
	r.Observe(workload.Result{Op: "set", Key: touched, Err: fail, At: at.Add(-time.Millisecond)}) // started before the event
	r.Observe(workload.Result{Op: "set", Key: other, Err: fail, At: at.Add(time.Millisecond)})    // another slot
	r.Observe(workload.Result{Op: "get", Key: touched, At: at.Add(time.Millisecond)})             // a read
	_, _, ok := r.Result()
	assert.False(t, ok, "no write on the touched slots succeeded yet")

	r.Observe(workload.Result{Op: "incr", Key: touched, Err: fail, At: at.Add(time.Second)})
	r.Observe(workload.Result{Op: "transaction", Key: touched, Err: fail, At: at.Add(2 * time.Second)})
	r.Observe(workload.Result{Op: "set", Key: touched, At: at.Add(3 * time.Second), Took: 500 * time.Millisecond})
	r.Observe(workload.Result{Op: "set", Key: touched, At: at.Add(5 * time.Second)}) // not the first
	failed, after, ok := r.Result()
	assert.True(t, ok)
	assert.Equal(t, 2, failed, "the failed writes on the touched slots after the event")
	assert.Equal(t, 3500*time.Millisecond, after, "to the end of the first write that succeeded")
}
