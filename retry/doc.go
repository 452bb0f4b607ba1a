// Package retry decides what a Redis or Valkey Cluster command does after a
// failed attempt: follow a redirect now, retry after a delay, or give up
// with an error that says why. It is pure policy, plain data and functions
// of (state, error, clock, random source); it has no network and starts no
// goroutines, so every decision can be tested without sleeping.
//
// # Use
//
// A client keeps one Budget and one Breaker (NewBudget, NewBreaker, from
// the Policy's Budget and Breaker fields) and, for every command, one
// State. After each failed attempt it calls Policy.Next and does what the
// Decision says:
//
//   - ActionRedirect: send the command to Decision.Addr at once (with ASKING
//     first when Decision.Asking; dropping that node's connections first
//     when Decision.Reconnect). Redirects never wait.
//   - ActionRetry: wait Decision.Delay (refreshing the topology when
//     Decision.Refresh), then send the command again.
//   - ActionGiveUp: return Decision.Err.
//
// Before sending to a node the client asks Breaker.Allow, and after each
// attempt it tells Breaker.Record the outcome; after each successful
// command it calls Budget.Success.
//
// # What is retried
//
// MOVED, ASK and Valkey's REDIRECT are followed immediately, up to
// MaxRedirects per command. A MOVED that names the node that sent it
// (its address now leads elsewhere: a load balancer or DNS changed) asks
// for a reconnect once; after that it counts like any other, so a loop,
// and a ping-pong between two nodes, ends at the budget. A redirect to an
// unknown endpoint ("MOVED 3999 ?") is retried after a refresh.
//
// These failures happen before the command runs, so they are retried
// after a delay, up to MaxRetries per command, whatever the command:
//
//	TRYAGAIN            multi-key command on a slot in migration    base 10ms
//	CLUSTERDOWN         cluster down / read-only; slot not served   base MinBackoff; refresh for "Hash slot not served"
//	LOADING, BUSY       node loading its dataset / running a script base MinBackoff
//	MASTERDOWN          replica lost its primary                    refresh
//	READONLY            a write reached a replica (after failover)  refresh
//	UNBLOCKED           blocked client released by a role change    refresh
//	connection refused  dial failed (not sent)                      refresh
//	dial timeout        (not sent)                                  refresh
//	pool exhausted      no free connection in time                  base MinBackoff
//	slot not covered    no known node serves the slot               refresh
//	breaker open        the node is ejected (see Breaker)           refresh
//
// A timeout or broken connection after the request was sent is "in doubt"
// (classify.InDoubt): the server may have run the command. It is retried
// only as InDoubt says: reads only (readonly, the default: commands the
// command table flags read-only and not blocking, see ReadOnly), never, for
// idempotent commands only (see Idempotent), or always.
//
// Every other error is the command's answer (WRONGTYPE, ERR, NOSCRIPT,
// CROSSSLOT, OOM, NOREPLICAS, EXECABORT, NOAUTH, ...) and is returned
// unchanged, not wrapped, so callers see the server's reply as a plain
// client would show it. A canceled context is returned unchanged too.
//
// When Next gives up on a failure it would otherwise retry, Decision.Err is
// a *GiveUpError wrapping a reason (ErrRedirectBudget, ErrRetryBudget,
// ErrThrottled, ErrDeadline, ErrInDoubt) and the last failure, so
// errors.Is(err, retry.ErrRetryBudget) and errors.As(err, &moved) both
// hold: "clusterhop: gave up after 16 redirects: MOVED 3999 127.0.0.1:6381".
//
// # Delays
//
// Retry n (from 0) after a failure of kind k waits a uniformly random time
// in [0, min(MaxBackoff, base(k) × Multiplier^n)) ("full jitter": clients
// that failed together do not retry together). base(k) is Delays[k] when
// set, 10ms for TRYAGAIN, MinBackoff otherwise. The deadline caps all
// waiting: the earlier of the context deadline (State.Deadline) and
// State.Start + Timeout. No wait starts that would end at or past it; Next
// gives up at once with ErrDeadline instead.
//
// # Knobs
//
// Every zero value is the default. JSON names are the URL parameter names;
// nested objects join with '_' (budget.max_tokens is budget_max_tokens).
// Durations are written "50ms", "2s".
//
//	Go field              JSON / URL              default
//	MaxRedirects          max_redirects           16
//	MaxRetries            max_retries             60
//	DisableRetries        disable_retries         false (true: no delayed retries; redirects still followed)
//	MinBackoff            min_backoff             100ms (or max_backoff, if set lower)
//	MaxBackoff            max_backoff             1s (or min_backoff, if set higher)
//	Multiplier            multiplier              2 (at least 1)
//	Delays                delays                  none: tryagain 10ms, others min_backoff (URL: delays=tryagain:5ms,loading:200ms)
//	Timeout               timeout                 0: the context deadline alone
//	InDoubt               in_doubt                readonly (or never, idempotent, always)
//	Budget.MaxTokens      budget_max_tokens       1000
//	Budget.TokenRatio     budget_token_ratio      0.1
//	Budget.Disabled       budget_disabled         false
//	Breaker.FailureLimit  breaker_failure_limit   5
//	Breaker.Pause         breaker_pause           2s
//	Breaker.MaxNodes      breaker_max_nodes       1024
//	Breaker.Disabled      breaker_disabled        false
//
// Policy.Validate, FromQuery, ParseURL and ParseJSON reject negative
// values, unknown parameters or fields, durations without a unit and
// kinds that are not retried, with a *ConfigError naming the field. A count
// of 0 always means the default, never "none": to turn retries off, set
// DisableRetries; to turn the budget or the breaker off, their Disabled.
//
// JSON names are exact: encoding/json alone would take {"Timeout":"5s"}
// for timeout and keep the last of a repeated name; ParseJSON refuses both,
// saying which name was meant, and points a URL name used in JSON
// (budget_max_tokens) at its nested form ({"budget":{"max_tokens":…}}).
// Errors name fields as the URL does, never a Go type.
//
// ParseURL reads the policy's parameters and nothing else. A connection
// string that also names the nodes and go-redis's settings (dial_timeout,
// pool_size, addr, ...) is read whole by redirect.ParseURL, where
// max_retries and max_redirects are this package's.
//
// # Why these defaults
//
// A failover must be ridden out, reads and writes alike, when the caller's
// deadline allows it. When a primary dies, its clients get connection
// refused (or, with the breaker, fast refusals) until the cluster notices
// and promotes a replica: every node flags the primary PFAIL after
// cluster-node-timeout N, FAIL once a majority of primaries report it
// (usually within a few hundred milliseconds; up to about N/2 when failure
// reports gossip slowly), and the replica then waits 500 ms + up to 500 ms
// + 1 s per rank before winning a vote. Nodes answer CLUSTERDOWN
// meanwhile. That is N + 1–2 s, up to 1.5 N + 2 s: 17–24.5 s with
// redis.conf's default N = 15 s, 4–5 s with the N = 2 s common in tests.
//
// go-redis's default (3 retries, 8–512 ms backoff) waits about 100 ms in
// all, so a failover reaches the user as errors. Here, with base 100 ms,
// Multiplier 2 and MaxBackoff 1 s, the ceilings run 100, 200, 400, 800 ms,
// then 1 s; full jitter waits half a ceiling on average, 0.75 s for the
// first four retries and 0.5 s for each one after. 60 retries wait
// 28.75 s on average (σ 2.2 s): in a simulation (failover_test.go) every
// command rides out N + 2 s = 17 s, 99.9% ride out 20 s and 97% 24.5 s. A
// MaxBackoff of 1 s also bounds how late a command notices the cluster
// healed: 0.5 s on average, 1 s at most. A caller whose deadline is
// shorter than the failover gets ErrDeadline as soon as the next wait
// would not fit, not at the deadline.
//
// TRYAGAIN's base is 10 ms because keys migrate a few at a time
// (redis-cli --cluster reshard moves 10 keys per MIGRATE), so the next
// attempt soon gets an ASK or succeeds. MaxRedirects is 16 as in ioredis
// (maxRedirections) and redis-py (the cluster TTL); ioredis waits 100 ms
// on TRYAGAIN, CLUSTERDOWN and failover, which MinBackoff follows.
//
// The budget follows grpc-go's retry throttling. One command riding out a
// 17 s failover retries about 38 times; the 500 tokens above half a
// default bucket let about 13 such commands ride it out even when nothing
// else the client does succeeds (failover_test.go), and each success puts
// back 0.1 token, so in the long run retries add at most 10% to the load.
// The breaker uses libmemcached's defaults (pylibmc's failure_limit 5,
// retry_timeout 2 s): a dead host that drops packets costs a dial timeout
// per attempt until 5 of them eject it; then attempts are refused at once
// and retried after a refresh, with one probe every 2 s.
//
// InDoubt defaults to readonly: a read whose reply was lost is sent again
// (running it twice changes nothing), a write is not, because only the
// caller knows whether its writes may run twice. InDoubtIdempotent also
// re-sends writes that repeat harmlessly (SET without NX/GET, EXPIRE, ...).
package retry
