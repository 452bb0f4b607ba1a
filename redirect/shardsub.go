package redirect

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/slotmap"
)

// shardWatchInterval is how often the topology is refreshed while sharded
// subscriptions are open: a slot that moves sends its subscribers no MOVED
// (the server unsubscribes them), so only a fresh topology shows it.
const shardWatchInterval = 2 * time.Second

// shardSub makes one sharded subscription follow its slot: the connection
// of its go-redis PubSub always dials the slot's current owner, and is
// dropped when the owner changes, so that the PubSub reconnects there and
// subscribes again, as go-redis's PubSub does after any broken connection.
type shardSub struct {
	c      *Client
	slot   int
	client *redis.Client // the PubSub's own client, whose Dialer is dial

	mu   sync.Mutex // protects addr and conn
	addr string     // the node conn goes to
	conn net.Conn   // the live connection; nil between connections
}

// dial connects to the current owner of the subscription's slot.
func (s *shardSub) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	addr, err := s.c.e.ownerOf(s.slot)
	if err != nil {
		if rerr := s.c.e.slots.Refresh(ctx, slotmap.ReasonUncovered); rerr != nil {
			return nil, err
		}
		if addr, err = s.c.e.ownerOf(s.slot); err != nil {
			return nil, err
		}
	}
	o := s.c.e.nodes.options(addr) // the template's settings for that node
	var cn net.Conn
	if o.Dialer != nil {
		cn, err = o.Dialer(ctx, network, o.Addr)
	} else {
		d := net.Dialer{Timeout: o.DialTimeout, KeepAlive: 5 * time.Minute}
		if d.Timeout == 0 {
			d.Timeout = 5 * time.Second
		}
		if cn, err = d.DialContext(ctx, network, o.Addr); err == nil && o.TLSConfig != nil {
			cn = tls.Client(cn, o.TLSConfig)
		}
	}
	if err != nil {
		// The owner is down (a failover under way): the next attempt
		// should find its successor.
		s.c.e.slots.RequestRefresh(slotmap.ReasonConnError)
		return nil, err
	}
	s.mu.Lock()
	s.addr, s.conn = addr, cn
	s.mu.Unlock()
	return cn, nil
}

// check drops the connection when the slot has another owner now.
func (s *shardSub) check() {
	owner, err := s.c.e.ownerOf(s.slot)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && owner != s.addr {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// shardSubs are a Client's sharded subscriptions and their watcher.
type shardSubs struct {
	mu    sync.Mutex // protects subs
	subs  []*shardSub
	watch ticker // refreshes the topology while subscriptions are open
}

func (w *shardSubs) add(c *Client, s *shardSub) {
	w.mu.Lock()
	w.subs = append(w.subs, s)
	w.mu.Unlock()
	w.watch.start(shardWatchInterval, func(context.Context) {
		c.e.slots.RequestRefresh(slotmap.ReasonPeriodic)
		w.check()
	})
}

// check makes every subscription follow its slot's owner.
func (w *shardSubs) check() {
	w.mu.Lock()
	subs := append([]*shardSub(nil), w.subs...)
	w.mu.Unlock()
	for _, s := range subs {
		s.check()
	}
}

// close stops the watcher and closes the subscriptions' clients.
func (w *shardSubs) close() {
	w.watch.stop()
	w.mu.Lock()
	subs := w.subs
	w.subs = nil
	w.mu.Unlock()
	for _, s := range subs {
		_ = s.client.Close()
	}
}
