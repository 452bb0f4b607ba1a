package command

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// learnCall is one COMMAND INFO fetch under way; callers that need the same
// names wait for it instead of asking again.
type learnCall struct {
	done chan struct{} // closed when err is set and the result published
	err  error
}

// doer is the part of a go-redis client Learn uses: every client,
// connection and cluster client has it, though redis.Cmdable does not list it.
type doer interface {
	Do(ctx context.Context, args ...any) *redis.Cmd
}

// Learn asks the server behind c, with COMMAND INFO, for the key specs of
// the named commands the table does not know yet (module commands, commands
// newer than the static table), and remembers them. A name is fetched once:
// names already known, learned or found unknown to the server are not asked
// again, and concurrent callers share one fetch, each waiting no longer than
// its own ctx. Names are matched without regard to case; "container|sub"
// names a subcommand, and a container's name (XINFO) learns all its
// subcommands. c must be a go-redis client or connection (it needs
// Do). A failed fetch is not remembered, so a later Learn tries again.
func (t *Table) Learn(ctx context.Context, c redis.Cmdable, names ...string) error {
	d, ok := c.(doer)
	if !ok {
		return fmt.Errorf("command: Learn needs a go-redis client with a Do method, not %T", c)
	}
	var (
		fetch []string
		waits []*learnCall
		mine  *learnCall
	)
	t.mu.Lock()
	learned := *t.learned.Load()
	for _, n := range names {
		n = strings.ToLower(n)
		if staticKnows(n) {
			continue
		}
		if _, ok := learned[n]; ok {
			continue
		}
		if call := t.inflight[n]; call != nil {
			if call != mine {
				waits = append(waits, call)
			}
			continue
		}
		if mine == nil {
			mine = &learnCall{done: make(chan struct{})}
		}
		t.inflight[n] = mine
		fetch = append(fetch, n)
	}
	t.mu.Unlock()

	var errs []error
	if mine != nil {
		mine.err = t.fetch(ctx, d, fetch)
		close(mine.done)
		errs = append(errs, mine.err)
	}
	for _, call := range waits {
		select {
		case <-call.done:
			errs = append(errs, call.err)
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return errors.Join(errs...)
}

// staticKnows reports whether the static table has the lower-case name,
// "container|sub" included. A container with keys in its subcommands
// (OBJECT, XINFO) counts as unknown when named alone: learning it learns
// its subcommands newer than the table.
func staticKnows(name string) bool {
	top, sub, isSub := strings.Cut(name, "|")
	c := staticCommands.find(top)
	switch {
	case c == nil:
		return false
	case isSub:
		return c.subs.find(sub) != nil
	}
	return c.subs == nil || c.anySub
}

// fetch runs COMMAND INFO for names and publishes what it learned, then
// ends the names' inflight entries.
func (t *Table) fetch(ctx context.Context, d doer, names []string) error {
	args := make([]any, 0, 2+len(names))
	args = append(args, "command", "info")
	for _, n := range names {
		args = append(args, n)
	}
	reply, err := d.Do(ctx, args...).Result()
	var got map[string]*command
	if err == nil {
		got, err = parseCommandInfo(reply, names)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range names {
		delete(t.inflight, n)
	}
	if err != nil {
		return fmt.Errorf("command: learning %s: %w", strings.Join(names, " "), err)
	}
	next := make(learnedIndex, len(*t.learned.Load())+len(got))
	for n, c := range *t.learned.Load() {
		next[n] = c
	}
	for n, c := range got {
		next[n] = c
	}
	t.learned.Store(&next)
	return nil
}
