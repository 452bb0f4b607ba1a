package redirect

import (
	"context"
	"errors"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
)

// via is how an attempt reaches a node: for the node a Hook's client
// talks to, the go-redis hooks after the Hook (a Client has none; every
// target it builds names a node); and, for a single command, what the
// command table says of it, read once when the command was routed (known:
// the table knows the command and flags are its), so that sending it
// (batched or alone) does not read the table again.
type via struct {
	process  redis.ProcessHook
	pipeline redis.ProcessPipelineHook

	flags command.Flags
	known bool
}

// routedVia is the via of a single command that routing found flags for;
// err is the routing's error (command.ErrUnknownCommand: the table does
// not know the command).
func routedVia(process redis.ProcessHook, flags command.Flags, err error) via {
	return via{process: process, flags: flags, known: !errors.Is(err, command.ErrUnknownCommand)}
}

// sendOne makes one attempt of cmd at t. Without ASKING it goes as itself;
// with ASKING, through sendMany, which owns the ASKING rule.
func (e *engine) sendOne(ctx context.Context, t target, cmd redis.Cmder, v via) error {
	if t.asking || (t.addr == "" && v.process == nil) {
		e.sendMany(ctx, t, []redis.Cmder{cmd}, v)
		return cmd.Err()
	}
	// What the command holds afterwards is this attempt's outcome, never
	// a previous attempt's redirection.
	cmd.SetErr(nil)
	if err := ended(ctx); err != nil {
		cmd.SetErr(err)
		return err
	}
	if t.addr == "" {
		if err := e.hold(ctx, e.hookedAddr()); err != nil {
			cmd.SetErr(err)
			return err
		}
		return v.process(ctx, cmd)
	}
	n, err := e.reach(ctx, t.addr)
	if err != nil {
		cmd.SetErr(err)
		return err
	}
	return e.sendNode(ctx, n, cmd, v)
}

// sendMany makes one attempt of cmds at t in one round trip. With ASKING,
// each command is preceded by its own ASKING on the same connection: the
// flag lasts for the next command only. Each command's previous error is
// cleared first; commands that were never sent (no connection, breaker
// open) get an error that says so.
func (e *engine) sendMany(ctx context.Context, t target, cmds []redis.Cmder, v via) {
	for _, c := range cmds {
		c.SetErr(nil)
	}
	if err := ended(ctx); err != nil {
		setErr(cmds, err)
		return
	}
	if t.addr == "" {
		if v.pipeline == nil {
			setErr(cmds, errNoNext)
			return
		}
		if err := e.hold(ctx, e.hookedAddr()); err != nil {
			setErr(cmds, err)
			return
		}
		unsent(cmds, v.pipeline(ctx, cmds))
		return
	}
	n, err := e.reach(ctx, t.addr)
	if err != nil {
		setErr(cmds, err)
		return
	}
	pipe := n.client.Pipeline()
	var asks []*redis.StatusCmd
	for _, c := range cmds {
		if t.asking {
			a := redis.NewStatusCmd(ctx, "asking")
			asks = append(asks, a)
			_ = pipe.Process(ctx, a)
		}
		_ = pipe.Process(ctx, c)
	}
	n.begin(e.now)
	_, err = pipe.Exec(ctx)
	n.end(e.now())
	unsent(cmds, err)
	for i, a := range asks {
		if aerr := a.Err(); aerr != nil && cmds[i].Err() == nil {
			cmds[i].SetErr(aerr)
		}
	}
}

// ended returns the error of an attempt whose context ended before it was
// sent: not in doubt, since nothing was written. Nil while ctx is live.
func ended(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	return classify.NotSent(context.Cause(ctx))
}

// roundTrip sends cmd alone to n, recording the round trip for the stall
// check.
func (e *engine) roundTrip(ctx context.Context, n *node, cmd redis.Cmder) error {
	n.begin(e.now)
	err := n.client.Process(ctx, cmd)
	n.end(e.now())
	return err
}

// reach returns the client of the node at addr if the breaker lets a
// command go there now, once addr is no longer suspect (hold). A node that
// has stopped replying to the round trips under way (stalled) becomes
// suspect here, before its first read timeout.
func (e *engine) reach(ctx context.Context, addr string) (*node, error) {
	n, err := e.nodes.get(addr)
	if err != nil {
		return nil, err
	}
	if !e.failover.Disable && n.stalled(e.now, e.failover.StallAfter) {
		e.suspect(addr, errStalled)
	}
	if err := e.hold(ctx, addr); err != nil {
		return nil, err
	}
	if err := e.allow(addr); err != nil {
		return nil, err
	}
	return n, nil
}

// unsent gives every command of a pipeline the pipeline's error when
// go-redis returned one without setting it on any command: it does so when
// it cannot get a connection (a refused dial, a pool timeout, a context
// ending while waiting), and then none of the commands was sent. Left
// alone, they would look like successes with empty replies. When a read or
// write fails, go-redis sets the error on the commands it concerns itself.
func unsent(cmds []redis.Cmder, err error) {
	if err == nil || classify.KindOf(err).IsReply() || isGoRedisAnswer(err) {
		return
	}
	for _, c := range cmds {
		if c.Err() != nil {
			return
		}
	}
	setErr(cmds, classify.NotSent(err))
}

// sendGroups sends each target's commands, the targets in parallel.
func (e *engine) sendGroups(ctx context.Context, groups map[target][]redis.Cmder, v via) {
	if len(groups) == 1 {
		for t, cmds := range groups {
			e.sendMany(ctx, t, cmds, v)
		}
		return
	}
	var wg sync.WaitGroup
	for t, cmds := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.sendMany(ctx, t, cmds, v)
		}()
	}
	wg.Wait()
}

func setErr(cmds []redis.Cmder, err error) {
	for _, c := range cmds {
		c.SetErr(err)
	}
}
