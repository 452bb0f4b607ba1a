package retry_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/retry"
)

func ExampleParseURL() {
	p, err := retry.ParseURL("redis://10.0.0.1:6379?max_redirects=8&min_backoff=50ms&delays=tryagain:5ms&in_doubt=idempotent")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.MaxRedirects, p.MinBackoff, p.Delays[classify.KindTryAgain], p.InDoubt)

	_, err = retry.ParseURL("redis://10.0.0.1:6379?min_backoff=50")
	fmt.Println(err)
	// Output:
	// 8 50ms 5ms idempotent
	// retry: invalid min_backoff=50: missing unit, write for example "50ms" or "2s"
}

func ExampleParseJSON() {
	p, err := retry.ParseJSON([]byte(`{
		"max_retries": 20,
		"timeout": "5s",
		"budget": {"max_tokens": 100},
		"breaker": {"failure_limit": 3, "pause": "500ms"}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.MaxRetries, p.Timeout, p.Budget.MaxTokens, p.Breaker.Pause)

	_, err = retry.ParseJSON([]byte(`{"max_retrys": 20}`))
	fmt.Println(err)
	// Output:
	// 20 5s 100 500ms
	// retry: max_retrys: unknown field
}

// A command's life under a policy: the caller keeps one State per command,
// asks Next after every failed attempt and does what the Decision says.
// Here the node first answers MOVED, then the new owner is loading its
// dataset, then the command succeeds.
func ExamplePolicy_Next() {
	var p retry.Policy // the defaults
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := retry.State{Start: start, Deadline: start.Add(5 * time.Second), Addr: "10.0.0.1:6379"}
	rnd := func() float64 { return 0.5 } // a real caller passes nil (math/rand/v2)

	attempts := []error{
		classify.Parse("MOVED 3999 10.0.0.2:6379"),
		classify.Parse("LOADING Redis is loading the dataset in memory"),
		nil,
	}
	now := start
	for _, err := range attempts {
		if err == nil {
			fmt.Println("success after", s.Redirects, "redirect and", s.Retries, "retry")
			break
		}
		d := p.Next(&s, err, now, rnd)
		switch d.Action {
		case retry.ActionRedirect:
			fmt.Println("redirect to", d.Addr, "asking:", d.Asking)
			s.Addr = d.Addr
		case retry.ActionRetry:
			fmt.Println("retry", d.Kind, "after", d.Delay, "refresh:", d.Refresh)
			now = now.Add(d.Delay)
		case retry.ActionGiveUp:
			fmt.Println("give up:", d.Err)
			return
		}
	}
	// Output:
	// redirect to 10.0.0.2:6379 asking: false
	// retry LOADING after 50ms refresh: false
	// success after 1 redirect and 1 retry
}

// When a budget runs out, the error says why and still wraps the server's
// reply.
func ExampleGiveUpError() {
	p := retry.Policy{MaxRedirects: 2}
	s := retry.State{Addr: "10.0.0.1:6379"}
	var d retry.Decision
	for _, addr := range []string{"10.0.0.2:6379", "10.0.0.1:6379", "10.0.0.2:6379"} {
		d = p.Next(&s, classify.Parse("MOVED 3999 "+addr), time.Now(), nil)
		s.Addr = addr
	}
	var moved *classify.MovedError
	fmt.Println(d.Err)
	fmt.Println(errors.Is(d.Err, retry.ErrRedirectBudget), errors.As(d.Err, &moved), moved.Addr)
	// Output:
	// clusterhop: gave up after 2 redirects: MOVED 3999 10.0.0.2:6379
	// true true 10.0.0.2:6379
}

func ExampleBreaker() {
	b := retry.NewBreaker(retry.BreakerConfig{FailureLimit: 2, Pause: time.Second})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	refused := &classify.ClientError{Kind: classify.KindConnection, Err: errors.New("connection refused")}

	b.Record("10.0.0.1:6379", refused, now)
	b.Record("10.0.0.1:6379", refused, now)
	fmt.Println(b.State("10.0.0.1:6379", now), b.Allow("10.0.0.1:6379", now))

	later := now.Add(time.Second)
	fmt.Println(b.State("10.0.0.1:6379", later), b.Allow("10.0.0.1:6379", later)) // the probe
	b.Record("10.0.0.1:6379", nil, later)
	fmt.Println(b.State("10.0.0.1:6379", later))
	// Output:
	// open clusterhop: node 10.0.0.1:6379 ejected after 2 consecutive failures until 12:00:01.000
	// half-open <nil>
	// closed
}

func ExampleIdempotent() {
	fmt.Println(retry.Idempotent([]any{"get", "k"}))
	fmt.Println(retry.Idempotent([]any{"set", "k", "v", "ex", 10}))
	fmt.Println(retry.Idempotent([]any{"set", "k", "v", "nx"}))
	fmt.Println(retry.Idempotent([]any{"incr", "k"}))
	// Output:
	// true
	// true
	// false
	// false
}
