package redirect

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestTicker(t *testing.T) {
	var tk ticker
	var runs atomic.Int64
	fn := func(context.Context) { runs.Add(1) }
	tk.start(time.Millisecond, fn)
	tk.start(time.Millisecond, fn) // already running: no second goroutine
	assert.Eventually(t, func() bool { return runs.Load() >= 3 }, time.Second, time.Millisecond)
	tk.stop()
	after := runs.Load()
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, after, runs.Load(), "stop ended the goroutine")

	tk.start(time.Millisecond, fn) // stopped: starts nothing again
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, after, runs.Load())

	var never ticker
	never.stop() // stopping a ticker never started is fine
}
