package retry

import (
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
)

// State is the retry state of one command. The caller owns it, fills the
// inputs before the first attempt and Addr before each, and passes the same
// State to every Next call of the command; Next updates the counters.
// Reset it (State{...}) to reuse it for another command.
type State struct {
	// Inputs, set by the caller.

	Start    time.Time // when the command began; Next sets it to now if zero
	Deadline time.Time // the context deadline; zero if none
	Addr     string    // the node the failed attempt was sent to, as net.JoinHostPort writes it

	// Idempotent tells Next that the command is safe to run twice; when
	// false and Args is set, Next asks Idempotent(Args) itself, only when
	// a failure is in doubt and the policy is InDoubtIdempotent.
	Idempotent bool
	Args       []any // the command and its arguments, as go-redis's Cmd.Args()

	// Budget is the client's shared retry budget; nil means unlimited.
	Budget *Budget

	// Updated by Next.

	Redirects   int   // redirects followed (a first self-MOVED reconnect is not counted)
	Retries     int   // delayed retries granted
	Reconnected bool  // a self-MOVED reconnect was already asked for
	InDoubt     bool  // a failure Next saw was in doubt: the command may have run
	Last        error // the last failure Next redirected or retried
}

// Action is what the caller does next.
type Action uint8

const (
	// ActionGiveUp: return Decision.Err to the caller.
	ActionGiveUp Action = iota
	// ActionRedirect: send the command to Decision.Addr now, with ASKING
	// first when Decision.Asking.
	ActionRedirect
	// ActionRetry: wait Decision.Delay, refresh the topology first when
	// Decision.Refresh, and send the command again where the slot map says.
	ActionRetry
)

func (a Action) String() string {
	switch a {
	case ActionGiveUp:
		return "give up"
	case ActionRedirect:
		return "redirect"
	case ActionRetry:
		return "retry"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Decision is the outcome of Next.
type Decision struct {
	Action Action
	Kind   classify.Kind // the kind of the failure decided on

	// Addr is the redirect target in the form net.Dial accepts; an empty
	// host in the reply (":6380") is already replaced by the host of the
	// node that replied (State.Addr).
	Addr string

	Asking    bool          // ASK: send ASKING and the command in one round trip
	Delay     time.Duration // ActionRetry: wait this long first; always 0 for redirects
	Refresh   bool          // the topology may have changed: ask for a (coalesced) refresh; set on give-ups too
	Reconnect bool          // self-MOVED: drop the connections to Addr, then re-send there
	Err       error         // ActionGiveUp: the error to return
}

// Next decides what to do after an attempt of the command failed with err
// (classified by classify.Classify, or raw: Next classifies what it needs,
// but only classified redirects take the allocation-free path). It is deterministic given now and rnd
// (uniform in [0, 1); nil means math/rand/v2), updates s, and allocates
// nothing when it follows a redirect.
//
// The rules, in order:
//   - MOVED, ASK, REDIRECT: redirect at once, never after a delay, up to
//     MaxRedirects per command. A MOVED naming the node that sent it asks
//     for a reconnect once (the address now leads elsewhere: a load
//     balancer or DNS changed); after that it counts like any other.
//   - a failure whose kind is in DelayKinds: retry after a full-jitter
//     delay, up to MaxRetries per command, one token of the shared Budget
//     each. In-doubt failures (classify.InDoubt) only as InDoubt allows.
//     No wait starts that would end past the deadline or Start+Timeout.
//   - anything else (WRONGTYPE, ERR, NOSCRIPT, CROSSSLOT, OOM, ...): that
//     is the command's answer. Next returns err unchanged, not wrapped, so
//     the caller sees the server's reply exactly as with a plain client.
//     A canceled context is returned unchanged too; a passed deadline is
//     wrapped with ErrDeadline and the failure retried before it.
//
// Every other give-up returns a *GiveUpError wrapping the reason and err.
//
// Next only reads p, so one Policy may serve many goroutines; s is the
// caller's and must not be shared.
func (p *Policy) Next(s *State, err error, now time.Time, rnd func() float64) Decision {
	if err == nil {
		return Decision{Action: ActionGiveUp}
	}
	if s.Start.IsZero() {
		s.Start = now
	}
	if classify.InDoubt(err) {
		s.InDoubt = true
	}
	if d, ok := p.redirect(s, err, now); ok {
		return d
	}
	return p.retry(s, err, now, rnd)
}

// redirect handles MOVED, ASK and REDIRECT with a known target; ok is false
// for every other error.
func (p *Policy) redirect(s *State, err error, now time.Time) (d Decision, ok bool) {
	var (
		kind classify.Kind
		addr string
		form classify.AddrForm
	)
	// The order is classify.KindOf's, so both agree on wrapped chains.
	if m, found := as[*classify.MovedError](err); found {
		kind, addr, form = classify.KindMoved, m.Addr, m.Form
	} else if a, found := as[*classify.AskError](err); found {
		kind, addr, form = classify.KindAsk, a.Addr, a.Form
	} else if r, found := as[*classify.RedirectError](err); found {
		kind, addr, form = classify.KindRedirect, r.Addr, r.Form
	} else {
		return Decision{}, false
	}
	if addr, ok = target(addr, form, s.Addr); !ok {
		return Decision{}, false
	}
	// MOVED and REDIRECT say the slot map (or the node's role) changed,
	// and slots usually move in groups; ASK is about one key in flight
	// and must not touch the map.
	refresh := kind != classify.KindAsk
	if limit := p.limit(s); !limit.IsZero() && !now.Before(limit) {
		return p.giveUp(s, kind, ErrDeadline, err, refresh), true
	}
	// A node that answers MOVED with its own address is reached through an
	// address that now leads to another node (a load balancer or DNS
	// changed behind it): fresh connections will find the right one. Once:
	// a second self-MOVED is a loop the redirect budget ends.
	if kind == classify.KindMoved && !s.Reconnected && sameNode(s.Addr, addr) {
		s.Reconnected = true
		s.Last = err
		return Decision{Action: ActionRedirect, Kind: kind, Addr: addr, Refresh: true, Reconnect: true}, true
	}
	if s.Redirects >= p.maxRedirects() {
		return p.giveUp(s, kind, ErrRedirectBudget, err, refresh), true
	}
	s.Redirects++
	s.Last = err
	return Decision{Action: ActionRedirect, Kind: kind, Addr: addr, Asking: !refresh, Refresh: refresh}, true
}

// retry handles every error but a followable redirect.
func (p *Policy) retry(s *State, err error, now time.Time, rnd func() float64) Decision {
	kind := classify.KindOf(err)
	if kind == classify.KindMoved || kind == classify.KindAsk || kind == classify.KindRedirect {
		// A redirect reply the caller did not classify (a raw go-redis
		// error): classify it and follow it like any other.
		if d, ok := p.redirect(s, classify.Classify(err), now); ok {
			return d
		}
	}
	again, refresh := retryRule(kind, err)
	if !again {
		if kind == classify.KindDeadline {
			// The attempt itself ran into the deadline; the failure that
			// made us retry is what the caller wants to hear about.
			g := newGiveUp(s, ErrDeadline, err)
			g.Last = s.Last
			return Decision{Action: ActionGiveUp, Kind: kind, Err: g, Refresh: refresh}
		}
		return Decision{Action: ActionGiveUp, Kind: kind, Err: err}
	}
	if classify.InDoubt(err) && !p.mayRepeat(s) {
		return p.giveUp(s, kind, ErrInDoubt, err, refresh)
	}
	if s.Retries >= p.maxRetries() {
		return p.giveUp(s, kind, ErrRetryBudget, err, refresh)
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	delay := p.Backoff(kind, s.Retries, rnd)
	if limit := p.limit(s); !limit.IsZero() && !now.Add(delay).Before(limit) {
		return p.giveUp(s, kind, ErrDeadline, err, refresh)
	}
	// The token is taken last, when the retry is certain, so a give-up for
	// another reason does not drain the client's budget.
	if !s.Budget.take() {
		return p.giveUp(s, kind, ErrThrottled, err, refresh)
	}
	s.Retries++
	s.Last = err
	return Decision{Action: ActionRetry, Kind: kind, Delay: delay, Refresh: refresh}
}

// mayRepeat reports whether the policy lets a command that may have run be
// sent again.
func (p *Policy) mayRepeat(s *State) bool {
	switch p.InDoubt {
	case InDoubtAlways:
		return true
	case InDoubtIdempotent:
		return s.Idempotent || (s.Args != nil && Idempotent(s.Args))
	case InDoubtReadOnly:
		return s.Args != nil && ReadOnly(s.Args)
	}
	return false
}

// MayResend reports whether p lets the command args be sent again after a
// failure that left it in doubt (its reply was lost): the rule Next
// applies, for callers that only need that rule (a hook on another
// client's node clients).
func (p *Policy) MayResend(args []any) bool {
	return p.mayRepeat(&State{Args: args})
}

// ReadOnly reports whether the command args (go-redis's Cmd.Args(): name
// first) has no side effect, by the command table's flags
// (command.FlagsOf): read-only and not blocking. A blocking read
// (BLPOP, XREAD) is not: a copy may still be waiting when the retry takes
// the data.
func ReadOnly(args []any) bool {
	f, ok := command.FlagsOf(args)
	return ok && f&command.FlagReadOnly != 0 && f&(command.FlagBlocking|command.FlagWrite|command.FlagPubSub) == 0
}

// limit is the earliest of the context deadline and Start+Timeout; zero
// when neither is set.
func (p *Policy) limit(s *State) time.Time {
	limit := s.Deadline
	if p.Timeout > 0 {
		if end := s.Start.Add(p.Timeout); limit.IsZero() || end.Before(limit) {
			limit = end
		}
	}
	return limit
}

func (p *Policy) giveUp(s *State, kind classify.Kind, reason, err error, refresh bool) Decision {
	return Decision{Action: ActionGiveUp, Kind: kind, Err: newGiveUp(s, reason, err), Refresh: refresh}
}

func newGiveUp(s *State, reason, err error) *GiveUpError {
	return &GiveUpError{Reason: reason, Err: err, Redirects: s.Redirects, Retries: s.Retries}
}

// target returns the address a redirection sends the command to, in the
// form net.Dial accepts: the server's address, or for an empty host
// ("MOVED 3999 :6380") the host of the node that replied (from) with the
// port named. ok is false when it cannot be known before a refresh: the
// endpoint is "?" (the server does not know it), or the host is empty and
// the replying node's address is not known either.
func target(addr string, form classify.AddrForm, from string) (string, bool) {
	switch form {
	case classify.AddrUnknown:
		return "", false
	case classify.AddrSameHost:
		host, _, err := net.SplitHostPort(from)
		if err != nil || host == "" {
			return "", false
		}
		return net.JoinHostPort(host, addr[1:]), true
	}
	return addr, true
}

// sameNode reports whether the redirect target names the node at from;
// both are in the form net.Dial accepts, which is what every package of
// the project compares.
func sameNode(from, target string) bool {
	return from != "" && from == target
}
