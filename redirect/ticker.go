package redirect

import (
	"context"
	"sync"
	"time"
)

// ticker runs a function on a goroutine of its own at a fixed interval,
// from start until stop. Once stopped it starts nothing again, so that a
// client closed before its first use leaves no goroutine behind.
type ticker struct {
	mu      sync.Mutex // protects cancel and stopped
	cancel  context.CancelFunc
	stopped bool
	wg      sync.WaitGroup
}

// start runs fn every interval, unless the ticker runs or was stopped. fn's
// context ends at stop.
func (t *ticker) start(interval time.Duration, fn func(ctx context.Context)) {
	t.run(interval, fn, false)
}

// startNow is start with a first run of fn at once. It reports whether it
// started: not when the ticker runs already or was stopped.
func (t *ticker) startNow(interval time.Duration, fn func(ctx context.Context)) bool {
	return t.run(interval, fn, true)
}

func (t *ticker) run(interval time.Duration, fn func(ctx context.Context), now bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel != nil || t.stopped {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if now {
			fn(ctx)
		}
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				fn(ctx)
			}
		}
	}()
	return true
}

// stop ends the goroutine and waits for it.
func (t *ticker) stop() {
	t.mu.Lock()
	t.stopped = true
	cancel := t.cancel
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	t.wg.Wait()
}
