package redirect

import (
	"context"
	"fmt"
	"strings"

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
	j   job
}

// processPipeline sends cmds (grouped by target, one round trip per node),
// then re-issues only the commands that failed with a redirection or a
// refusal to try later: redirections at once, retries after the longest of
// their delays, each command within its own budgets through the attempt
// step. Commands that succeeded, or that may have run, are never re-sent
// against the policy.
func (e *engine) processPipeline(ctx context.Context, cmds []redis.Cmder, groups map[target][]redis.Cmder, v via) error {
	e.sendGroups(ctx, groups, v)
	var work []*pending
	for t, gc := range groups {
		for _, c := range gc {
			if err := c.Err(); err == nil || isGoRedisAnswer(err) {
				e.succeeded(t)
				continue
			}
			work = append(work, &pending{cmd: c, j: job{name: c.Name(), args: c.Args(), at: t}})
		}
	}
	var failed map[redis.Cmder]bool
	for len(work) > 0 {
		work = e.pipelineRound(ctx, work, v, func(p *pending, err error) {
			p.cmd.SetErr(err)
			if !isAnswer(err) {
				if failed == nil {
					failed = make(map[redis.Cmder]bool)
				}
				failed[p.cmd] = true
			}
		})
	}
	return pipelineResult(cmds, failed)
}

// pipelineRound takes the attempt step for each failed command of work,
// re-sends the redirected ones at once and the retried ones after one
// shared wait, and returns the commands that failed again. end hears each
// command that the step gave up on, with its final error.
func (e *engine) pipelineRound(ctx context.Context, work []*pending, v via, end func(*pending, error)) []*pending {
	var redirects, retries []*pending
	var wait retry.Decision
	var last error
	for _, p := range work {
		err := p.cmd.Err()
		d := e.decide(ctx, &p.j, err)
		switch d.Action {
		case retry.ActionRedirect:
			redirects = append(redirects, p)
		case retry.ActionRetry:
			wait.Delay = max(wait.Delay, d.Delay)
			if d.Refresh {
				wait.Refresh, last = true, err
			}
			retries = append(retries, p)
		default:
			end(p, d.Err)
		}
	}
	// MOVED and ASK are followed at once: the server did not run the
	// command and named where it will.
	e.sendPending(ctx, redirects, v)
	if len(retries) > 0 {
		if perr := e.pause(ctx, wait, last, nil); perr != nil {
			for _, p := range retries {
				end(p, e.interrupted(&p.j, perr))
			}
			retries = nil
		}
		for _, p := range retries {
			p.j.at = e.reroute(p.cmd, p.j.at)
		}
		e.sendPending(ctx, retries, v)
	}
	var again []*pending
	for _, p := range append(redirects, retries...) {
		p.j.st.Addr = e.addrOf(p.j.at)
		if err := p.cmd.Err(); err == nil || isGoRedisAnswer(err) {
			e.succeeded(p.j.at)
		} else {
			again = append(again, p)
		}
	}
	return again
}

// sendPending sends each pending command to its target, grouped by target.
func (e *engine) sendPending(ctx context.Context, ps []*pending, v via) {
	if len(ps) == 0 {
		return
	}
	groups := make(map[target][]redis.Cmder)
	for _, p := range ps {
		groups[p.j.at] = append(groups[p.j.at], p.cmd)
	}
	e.sendGroups(ctx, groups, v)
}

// pipelineResult is what a pipeline returns: a PipelineError naming the
// commands that failed for good, else, as go-redis does, the first
// command's error (redis.Nil included), else nil.
func pipelineResult(cmds []redis.Cmder, failed map[redis.Cmder]bool) error {
	if len(failed) > 0 {
		out := make([]redis.Cmder, 0, len(failed))
		for _, c := range cmds {
			if failed[c] {
				out = append(out, c)
			}
		}
		return &PipelineError{Total: len(cmds), Failed: out}
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}
