package redirect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/retry"
)

// PipelineError is returned by a pipeline some of whose commands failed for
// good for a reason of the cluster or the network (a redirect or retry
// budget spent, a reply lost in doubt, an unreachable node). Each command
// keeps its own error; commands that succeeded or whose failure was their
// answer (redis.Nil, WRONGTYPE, ...) are untouched.
type PipelineError struct {
	Total  int           // commands in the pipeline
	Failed []redis.Cmder // the commands that failed for good, in pipeline order
}

func (e *PipelineError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clusterhop: %d of %d pipelined commands failed", len(e.Failed), e.Total)
	inDoubt := 0
	for _, c := range e.Failed {
		if classify.InDoubt(c.Err()) {
			inDoubt++
		}
	}
	if inDoubt > 0 {
		fmt.Fprintf(&b, " (%d in doubt: they may have run)", inDoubt)
	}
	if len(e.Failed) > 0 {
		fmt.Fprintf(&b, "; first: %s: %v", e.Failed[0].Name(), e.Failed[0].Err())
	}
	return b.String()
}

// Unwrap returns each failed command's error, so errors.Is and errors.As
// see through to the typed failures.
func (e *PipelineError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, c := range e.Failed {
		errs[i] = c.Err()
	}
	return errs
}

// pending is one pipelined command still being worked on.
type pending struct {
	cmd redis.Cmder
	st  retry.State
	at  target
	ran bool // an attempt failed in doubt: the command may have run
}

// sendGroup sends cmds to one target as one pipeline (one round trip).
func (e *engine) sendGroup(ctx context.Context, t target, cmds []redis.Cmder, next redis.ProcessPipelineHook) {
	if t.addr == "" {
		unsent(cmds, next(ctx, cmds))
		return
	}
	if err := e.allow(t.addr); err != nil {
		setErr(cmds, err)
		return
	}
	n, err := e.nodes.get(t.addr)
	if err != nil {
		setErr(cmds, err)
		return
	}
	pipe := n.client.Pipeline()
	for _, c := range cmds {
		if t.asking {
			// The ASKING flag lasts for one command: each redirected
			// command needs its own.
			_ = pipe.Process(ctx, redis.NewStatusCmd(ctx, "asking"))
		}
		_ = pipe.Process(ctx, c)
	}
	_, err = pipe.Exec(ctx)
	unsent(cmds, err)
}

// unsent gives every command of a pipeline the pipeline's error when
// go-redis returned one without setting it on any command: it does so when
// it cannot get a connection (a refused dial, a pool timeout, a context
// ending while waiting), and then none of the commands was sent. Left
// alone, they would look like successes with empty replies. When a read or
// write fails, go-redis sets the error on the commands it concerns itself.
func unsent(cmds []redis.Cmder, err error) {
	if err == nil || classify.KindOf(err).IsReply() {
		return
	}
	for _, c := range cmds {
		if c.Err() != nil {
			return
		}
	}
	err = classify.NotSent(err)
	for _, c := range cmds {
		c.SetErr(err)
	}
}

// sendGroups sends each target's commands, the targets in parallel.
func (e *engine) sendGroups(ctx context.Context, groups map[target][]redis.Cmder, next redis.ProcessPipelineHook) {
	if len(groups) == 1 {
		for t, cmds := range groups {
			e.sendGroup(ctx, t, cmds, next)
		}
		return
	}
	var wg sync.WaitGroup
	for t, cmds := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.sendGroup(ctx, t, cmds, next)
		}()
	}
	wg.Wait()
}

// sendPending sends each pending command to its target, grouped by target.
func (e *engine) sendPending(ctx context.Context, ps []*pending, next redis.ProcessPipelineHook) {
	groups := make(map[target][]redis.Cmder)
	for _, p := range ps {
		groups[p.at] = append(groups[p.at], p.cmd)
	}
	e.sendGroups(ctx, groups, next)
}

// processPipeline sends cmds (grouped by target, one round trip per node),
// then re-issues only the commands that failed with a redirection or a
// try-later reply: redirections at once, retries after the longest of their
// delays, each command within its own budgets. Commands that succeeded, or
// that may have run, are never re-sent against the policy.
func (e *engine) processPipeline(ctx context.Context, cmds []redis.Cmder, groups map[target][]redis.Cmder, next redis.ProcessPipelineHook) error {
	e.sendGroups(ctx, groups, next)

	var work []*pending
	for t, gc := range groups {
		for _, c := range gc {
			if c.Err() == nil {
				e.succeeded(t)
				continue
			}
			work = append(work, &pending{cmd: c, at: t, st: e.newState(ctx, c, t)})
		}
	}
	var gaveUp map[redis.Cmder]struct{}
	giveUp := func(p *pending, err error) {
		if !isAnswer(err) {
			if gaveUp == nil {
				gaveUp = make(map[redis.Cmder]struct{})
			}
			gaveUp[p.cmd] = struct{}{}
		}
		_ = e.giveUp(p.cmd, p.st.Addr, err)
	}
	for len(work) > 0 {
		now := e.now()
		var redirects, retries []*pending
		var wait time.Duration
		var refresh bool
		var refreshFor error
		for _, p := range work {
			err := classify.Classify(p.cmd.Err())
			if errors.Is(err, redis.Nil) {
				continue
			}
			p.cmd.SetErr(err)
			p.ran = p.ran || classify.InDoubt(err)
			e.failed(p.at, err)
			d := e.policy.Next(&p.st, err, now, e.rand)
			if d.Reconnect {
				e.nodes.reconnect(p.st.Addr)
			}
			switch d.Action {
			case retry.ActionRedirect:
				t, rerr := e.redirectTarget(ctx, p.cmd.Name(), p.st.Addr, d, err)
				if rerr != nil {
					giveUp(p, rerr)
					continue
				}
				p.at = t
				redirects = append(redirects, p)
			case retry.ActionRetry:
				if d.Refresh {
					refresh = true
					refreshFor = err
				}
				if e.obs != nil && e.obs.Retry != nil {
					e.obs.Retry(RetryEvent{Kind: classify.KindOf(err), Command: p.cmd.Name(), Addr: p.st.Addr,
						Attempt: p.st.Retries, Delay: d.Delay, Refresh: d.Refresh})
				}
				wait = max(wait, d.Delay)
				retries = append(retries, p)
			default:
				giveUp(p, d.Err)
			}
		}
		// MOVED and ASK are followed at once: the server did not run the
		// command and named where it will.
		if len(redirects) > 0 {
			e.sendPending(ctx, redirects, next)
		}
		if len(retries) > 0 {
			if err := e.wait(ctx, retry.Decision{Delay: wait, Refresh: refresh}, refreshFor, false, nil); err != nil {
				for _, p := range retries {
					cerr := classify.NotSent(context.Cause(ctx))
					if p.ran {
						cerr = classify.Classify(context.Cause(ctx))
					}
					giveUp(p, fmt.Errorf("%w (while waiting to retry after: %w)", cerr, p.cmd.Err()))
				}
				retries = nil
			}
			for _, p := range retries {
				p.at = e.reroute(p.cmd, p.at)
			}
			e.sendPending(ctx, retries, next)
		}
		// Whatever failed in this round goes to the next one.
		work = nil
		for _, p := range append(redirects, retries...) {
			p.st.Addr = e.addrOf(p.at)
			if p.cmd.Err() == nil {
				e.succeeded(p.at)
			} else {
				work = append(work, p)
			}
		}
	}
	if len(gaveUp) > 0 {
		failed := make([]redis.Cmder, 0, len(gaveUp))
		for _, c := range cmds {
			if _, ok := gaveUp[c]; ok {
				failed = append(failed, c)
			}
		}
		return &PipelineError{Total: len(cmds), Failed: failed}
	}
	// As go-redis does: the first command error, if any (redis.Nil included).
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// isAnswer reports whether err is the command's own answer rather than a
// failure to deliver it: redis.Nil and reply errors that are not about the
// cluster (WRONGTYPE, NOSCRIPT, ERR ...).
func isAnswer(err error) bool {
	if errors.Is(err, redis.Nil) {
		return true
	}
	k := classify.KindOf(err)
	if !k.IsReply() || errors.Is(err, classify.ErrRedirect) || errors.Is(err, classify.ErrTryLater) {
		return false
	}
	var g *retry.GiveUpError
	return !errors.As(err, &g)
}

func setErr(cmds []redis.Cmder, err error) {
	for _, c := range cmds {
		c.SetErr(err)
	}
}
