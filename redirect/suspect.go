package redirect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/slotmap"
)

// Defaults of FailoverOptions.
const (
	DefaultFailoverPoll  = 20 * time.Millisecond
	DefaultFailoverProbe = 250 * time.Millisecond
	DefaultFailoverHold  = 15 * time.Second
	DefaultFailoverStall = 500 * time.Millisecond
)

// FailoverOptions tunes how a Client or a Hook rides out a primary that
// stops answering (a crashed process, a hung one, a partition).
//
// On the first refused connection, broken connection or read timeout from
// a primary that serves slots and has replicas, or when it has not replied
// for StallAfter while round trips to it are under way, the engine
// suspects it: commands for that
// primary are held before they are sent (so they are not in doubt), while
// the engine probes the primary with PING on a connection of its own and
// polls the primary's replicas with ROLE, both every Poll. The first of
// these to say something ends the suspicion:
//   - the primary answers PING: the held commands go to it;
//   - a replica reports itself primary: the engine loads that replica's
//     view of the topology at once (outside the refresh rate limit, under
//     the usual rules against stale views) and the held commands go to the
//     new primary, as a REDIRECT would send them;
//   - Hold passes: the held commands are sent as they would have been.
//
// A held command whose context ends fails as not sent. A healthy cluster
// costs nothing: no probe runs until a primary fails.
type FailoverOptions struct {
	// Disable turns suspicion off: commands are sent to a failing primary
	// until the policy gives up or a refresh moves its slots.
	Disable bool

	// Poll is the interval between two probes of a suspect primary and two
	// polls of its replicas. Zero: DefaultFailoverPoll (20 ms).
	Poll time.Duration

	// Probe bounds each PING and ROLE. Zero: DefaultFailoverProbe (250 ms).
	Probe time.Duration

	// Hold bounds one suspicion: how long commands are held at most. Zero:
	// DefaultFailoverHold (15 s, about a cluster's default node timeout,
	// after which the cluster promotes a replica).
	Hold time.Duration

	// StallAfter: a primary with round trips under way and no reply for
	// this long is suspect before any of them times out, so commands that
	// come meanwhile are held instead of joining them. A node that is only
	// busy (a slow script, a lone blocking command) answers the probe and
	// costs a PING. Zero: DefaultFailoverStall (500 ms). Not applied to
	// the node a Hook's own client is on (its round trips are the
	// client's).
	StallAfter time.Duration
}

func (o FailoverOptions) validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"Poll", o.Poll}, {"Probe", o.Probe}, {"Hold", o.Hold}, {"StallAfter", o.StallAfter}} {
		if f.d < 0 {
			return fmt.Errorf("redirect: Options.Failover.%s is negative (%v)", f.name, f.d)
		}
	}
	return nil
}

func (o FailoverOptions) withDefaults() FailoverOptions {
	if o.Poll == 0 {
		o.Poll = DefaultFailoverPoll
	}
	if o.Probe == 0 {
		o.Probe = DefaultFailoverProbe
	}
	if o.Hold == 0 {
		o.Hold = DefaultFailoverHold
	}
	if o.StallAfter == 0 {
		o.StallAfter = DefaultFailoverStall
	}
	return o
}

// suspicion is one suspect primary, from its first failure until it
// answers, a replica takes its slots over, or the hold ends.
type suspicion struct {
	addr     string
	slot     int      // one slot of the primary's, to see who serves them now
	replicas []string // the replicas polled
	done     chan struct{}
	to       string // set before done closes: the new primary; "" to send as before
}

// suspects holds the engine's suspicions by address.
type suspects struct {
	n      atomic.Int32 // len(m): the hot path reads only this
	mu     sync.Mutex
	m      map[string]*suspicion
	ctx    context.Context // canceled by stop: ends every watch
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (s *suspects) init() {
	s.m = make(map[string]*suspicion)
	s.ctx, s.cancel = context.WithCancel(context.Background())
}

// stop ends every watch, releasing what they hold, and waits for them.
func (s *suspects) stop() {
	s.cancel()
	s.wg.Wait()
}

func (s *suspects) get(addr string) *suspicion {
	if s.n.Load() == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[addr]
}

// suspected reports whether commands for addr are being held.
func (e *engine) suspected(addr string) bool { return e.sus.get(addr) != nil }

// suspect starts watching the primary at addr after a failure (cause) of a
// command sent to it, unless it is watched already, the failure says
// nothing about the node, or the node is not a primary serving slots.
func (e *engine) suspect(addr string, cause error) {
	if e.failover.Disable || addr == "" {
		return
	}
	if k := classify.KindOf(cause); k != classify.KindConnection && k != classify.KindTimeout {
		return
	}
	s := e.suspicionOf(addr)
	if s == nil {
		return
	}
	e.sus.mu.Lock()
	defer e.sus.mu.Unlock()
	if e.sus.m[addr] != nil || e.sus.ctx.Err() != nil {
		return
	}
	e.sus.m[addr] = s
	e.sus.n.Add(1)
	e.sus.wg.Add(1)
	go e.watch(s)
}

// suspicionOf returns a new suspicion of the primary at addr, or nil if
// the topology has no slots on it or no replica to take them over: then
// the policy's retries are all there is to do.
func (e *engine) suspicionOf(addr string) *suspicion {
	for _, sh := range e.slots.Load().Shards() {
		if sh.Primary.Addr != addr || len(sh.Ranges) == 0 || len(sh.Replicas)+len(sh.Unhealthy) == 0 {
			continue
		}
		s := &suspicion{addr: addr, slot: sh.Ranges[0].Start, done: make(chan struct{})}
		for _, r := range append(sh.Replicas, sh.Unhealthy...) {
			s.replicas = append(s.replicas, r.Addr)
		}
		return s
	}
	return nil
}

// hold waits, before a command is sent to addr, while addr is suspect. It
// returns nil to send the command to addr, an error that is not in doubt
// when ctx ends first, or a *promotedError when a replica took addr's
// slots over: the command goes there instead.
func (e *engine) hold(ctx context.Context, addr string) error {
	s := e.sus.get(addr)
	if s == nil {
		return nil
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return ended(ctx)
	}
	if s.to == "" {
		return nil
	}
	return newPromotedError(s.addr, s.to)
}

// watch probes the suspect primary and polls its replicas until one of
// them ends the suspicion.
func (e *engine) watch(s *suspicion) {
	defer e.sus.wg.Done()
	ctx, cancel := context.WithTimeout(e.sus.ctx, e.failover.Hold)
	defer cancel()
	answered := make(chan struct{})
	e.sus.wg.Add(1)
	go func() {
		defer e.sus.wg.Done()
		if e.ping(ctx, s.addr) {
			close(answered)
		}
	}()
	tick := time.NewTicker(e.failover.Poll)
	defer tick.Stop()
	for {
		if to := e.promoted(ctx, s); to != "" {
			e.release(s, to)
			return
		}
		select {
		case <-answered:
			e.release(s, "")
			return
		case <-ctx.Done():
			e.release(s, "")
			return
		case <-tick.C:
		}
	}
}

// release ends s: the held commands go to to, or ("") where they were going.
func (e *engine) release(s *suspicion, to string) {
	e.sus.mu.Lock()
	delete(e.sus.m, s.addr)
	e.sus.n.Add(-1)
	e.sus.mu.Unlock()
	s.to = to
	close(s.done)
}

// ping probes addr with PING, every Poll, on a connection of its own (the
// node's pool may be full of connections waiting for replies), until it
// answers (true) or ctx ends.
func (e *engine) ping(ctx context.Context, addr string) bool {
	o := e.nodes.options(addr)
	o.PoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 0, 1
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = e.failover.Probe, e.failover.Probe, e.failover.Probe
	c := redis.NewClient(o)
	defer c.Close()
	for {
		pctx, cancel := context.WithTimeout(ctx, e.failover.Probe)
		err := c.Ping(pctx).Err()
		cancel()
		if err == nil {
			return true
		}
		if sleepCtx(ctx, e.failover.Poll) != nil {
			return false
		}
	}
}

// promoted returns the primary now serving s's slots if it is not s's
// node: the topology moved them (a refresh, a MOVED), or one of s's
// replicas reports itself primary and its view, loaded at once, says so.
func (e *engine) promoted(ctx context.Context, s *suspicion) string {
	if to := e.servedBy(s); to != "" {
		return to
	}
	for _, r := range e.askRoles(ctx, s.replicas) {
		if err := e.slots.RefreshFrom(ctx, r, slotmap.ReasonPromoted); err == nil {
			if to := e.servedBy(s); to != "" {
				return to
			}
		}
	}
	return ""
}

// servedBy returns the primary of s's slot in the current view if it is
// not s's node, else "".
func (e *engine) servedBy(s *suspicion) string {
	if a, err := e.slots.Load().PrimaryAddr(s.slot); err == nil && a != s.addr {
		return a
	}
	return ""
}

// askRoles sends ROLE to every replica at once and returns those that
// report themselves primary, or whose ROLE was refused by the server (an
// ACL without ROLE): their own view of the topology tells instead.
func (e *engine) askRoles(ctx context.Context, replicas []string) []string {
	type answer struct {
		addr   string
		master bool
	}
	out := make(chan answer, len(replicas))
	for _, r := range replicas {
		go func() {
			out <- answer{r, e.reportsPrimary(ctx, r)}
		}()
	}
	var masters []string
	for range replicas {
		if a := <-out; a.master {
			masters = append(masters, a.addr)
		}
	}
	return masters
}

// reportsPrimary asks addr for its ROLE: true when it says master, or
// refuses the command itself.
func (e *engine) reportsPrimary(ctx context.Context, addr string) bool {
	n, err := e.nodes.get(addr)
	if err != nil {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, e.failover.Probe)
	defer cancel()
	v, err := n.client.Do(rctx, "role").Slice()
	if err != nil {
		k := classify.KindOf(classify.Classify(err))
		return k.IsReply() && k != classify.KindLoading
	}
	if len(v) == 0 {
		return false
	}
	role, _ := v[0].(string)
	return strings.EqualFold(role, "master")
}

// errStalled is the cause of a suspicion that a node stopped replying.
var errStalled = &classify.ClientError{Kind: classify.KindTimeout, Sent: false,
	Err: errors.New("redirect: the node has not replied to the round trips under way")}

// promotedError is what a command held for a suspect primary fails with
// when a replica took the primary's slots over: it was not sent, and it
// goes to the new primary as a REDIRECT would send it.
type promotedError struct {
	from, to string
	redirect error // a *classify.RedirectError to the new primary
}

func newPromotedError(from, to string) error {
	r := classify.Parse("REDIRECT " + to)
	var re *classify.RedirectError
	if !errors.As(r, &re) {
		return nil
	}
	return &promotedError{from: from, to: to, redirect: re}
}

func (e *promotedError) Error() string {
	return fmt.Sprintf("redirect: %s stopped answering and its replica %s took its slots over; the command was not sent to %s", e.from, e.to, e.from)
}

func (e *promotedError) Unwrap() error { return e.redirect }
