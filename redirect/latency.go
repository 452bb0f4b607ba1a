package redirect

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterhop/clusterhop/slotmap"
)

// latencyInterval is how often RouteByLatency measures every node.
const latencyInterval = 5 * time.Second

// latencies is what RouteByLatency knows of each node's round-trip time:
// a map replaced whole after each measurement, read without locks.
type latencies struct {
	view atomic.Pointer[map[string]time.Duration]

	once  sync.Once     // starts the measurements
	first chan struct{} // closed when the first measurement is done
	every ticker        // the measurements, on a goroutine of their own
}

// start measures every node in the background, at once and then every
// latencyInterval until stop. No command waits for it but a routed read,
// and only for the first measurement (await).
func (l *latencies) start(e *engine) {
	l.once.Do(func() {
		first := make(chan struct{})
		l.first = first
		var done sync.Once
		started := l.every.startNow(latencyInterval, func(ctx context.Context) {
			l.measure(ctx, e)
			done.Do(func() { close(first) })
		})
		if !started { // closed before its first read: nothing to wait for
			close(first)
		}
	})
}

// await waits for the first measurement, or until ctx ends: a read routed
// before it would go to a node picked at random.
func (l *latencies) await(ctx context.Context) {
	select {
	case <-l.first:
	case <-ctx.Done():
	}
}

func (l *latencies) stop() { l.every.stop() }

// measure PINGs every node of the topology, all at once, and keeps a
// moving average of each one's round trip; a node that does not answer
// within a second is left out (and so never preferred).
func (l *latencies) measure(ctx context.Context, e *engine) {
	t := e.slots.Load()
	if t == nil {
		return
	}
	addrs := t.Addrs()
	rtt := make([]time.Duration, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.nodes.get(a)
			if err != nil {
				return
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			start := time.Now()
			if n.client.Ping(pctx).Err() == nil {
				rtt[i] = max(time.Since(start), time.Nanosecond)
			}
		}()
	}
	wg.Wait()
	old := l.view.Load()
	next := make(map[string]time.Duration, len(addrs))
	if old != nil {
		maps.Copy(next, *old)
	}
	for i, a := range addrs {
		switch prev, ok := next[a]; {
		case rtt[i] == 0:
			delete(next, a)
		case ok:
			next[a] = (3*prev + rtt[i]) / 4
		default:
			next[a] = rtt[i]
		}
	}
	l.view.Store(&next)
}

// nearest returns the node of sh with the lowest known round trip among the
// primary and the online replicas, or "" when none was measured.
func (l *latencies) nearest(sh *slotmap.Shard) string {
	view := l.view.Load()
	if view == nil {
		return ""
	}
	best, bestRTT := "", time.Duration(0)
	consider := func(addr string) {
		if rtt, ok := (*view)[addr]; ok && (best == "" || rtt < bestRTT) {
			best, bestRTT = addr, rtt
		}
	}
	consider(sh.Primary.Addr)
	for _, r := range sh.Replicas {
		if r.Health == slotmap.HealthOnline {
			consider(r.Addr)
		}
	}
	return best
}
