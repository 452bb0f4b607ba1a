package redirect

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// The ticker runs in a synctest bubble: time moves only when every
// goroutine waits, so the tick count is exact.
func TestTicker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tk ticker
		var runs atomic.Int64
		var stopping atomic.Bool
		fn := func(context.Context) {
			runs.Add(1)
			if stopping.Load() {
				// A goroutine that outlived stop, or one started after
				// it: counted, then ended here, so that the bubble can
				// finish and the test report it rather than tick on.
				runtime.Goexit()
			}
		}
		tk.start(time.Second, fn)
		tk.start(time.Second, fn) // already running: no second goroutine
		time.Sleep(3*time.Second + time.Millisecond)
		synctest.Wait()
		assert.Equal(t, int64(3), runs.Load(), "one goroutine, one run a second")

		stopping.Store(true)
		tk.stop()
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, int64(3), runs.Load(), "stop ended the goroutine")

		tk.start(time.Second, fn) // stopped: starts nothing again
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, int64(3), runs.Load(), "a stopped ticker does not start again")

		var never ticker
		never.stop() // stopping a ticker never started is fine
		never.start(time.Second, fn)
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, int64(3), runs.Load(), "a ticker stopped before it started never starts")
	})
}

// stop cancels the context fn runs with, and waits for fn to return.
func TestTickerStopEndsARunningTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tk ticker
		var ended atomic.Bool
		started := make(chan struct{})
		tk.start(time.Second, func(ctx context.Context) {
			close(started)
			<-ctx.Done()
			ended.Store(true)
		})
		<-started
		tk.stop()
		assert.True(t, ended.Load(), "stop returned before the running tick did")
	})
}
