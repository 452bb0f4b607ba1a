package redirect

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
	"github.com/clusterhop/clusterhop/slotmap"
)

// split runs a multi-key command whose keys span slots (MGET, MSET, DEL,
// EXISTS, UNLINK, TOUCH) as one command per slot, sent as pipelines, one
// round trip per node, and merges the replies in the caller's key order.
// Each part is redirected and retried on its own; a part that fails for good
// fails the whole command with a PipelineError naming the parts.
func (c *Client) split(ctx context.Context, cmd redis.Cmder) error {
	args := cmd.Args()
	name := cmd.Name()
	step := 1
	if name == "mset" {
		step = 2 // key value pairs
	}
	bySlot := make(map[int]*part)
	var order []*part
	for i, k := 1, 0; i+step-1 < len(args); i, k = i+step, k+1 {
		slot := keySlot(args[i])
		p := bySlot[slot]
		if p == nil {
			p = &part{}
			bySlot[slot] = p
			order = append(order, p)
		}
		p.keys = append(p.keys, k)
	}
	groups := make(map[target][]redis.Cmder, len(order))
	parts := make([]redis.Cmder, 0, len(order))
	for slot, p := range bySlot {
		pargs := make([]any, 0, 1+len(p.keys)*step)
		pargs = append(pargs, args[0])
		for _, k := range p.keys {
			pargs = append(pargs, args[1+k*step:1+k*step+step]...)
		}
		switch cmd.(type) {
		case *redis.SliceCmd:
			p.cmd = redis.NewSliceCmd(ctx, pargs...)
		case *redis.IntCmd:
			p.cmd = redis.NewIntCmd(ctx, pargs...)
		case *redis.StatusCmd:
			p.cmd = redis.NewStatusCmd(ctx, pargs...)
		default:
			err := fmt.Errorf("redirect: %s with keys in several slots cannot be split for a %T result", name, cmd)
			cmd.SetErr(err)
			return err
		}
		t, err := c.route(slot, 0)
		if err != nil {
			cmd.SetErr(err)
			return err
		}
		groups[t] = append(groups[t], p.cmd)
		parts = append(parts, p.cmd)
	}
	if err := c.e.processPipeline(ctx, parts, groups, via{}); err != nil && !isAnswer(err) {
		cmd.SetErr(err)
		return err
	}
	return mergeParts(cmd, order, (len(args)-1)/step)
}

// part is one slot's share of a split command.
type part struct {
	cmd  redis.Cmder
	keys []int // positions of its keys among the command's keys
}

// mergeParts sets the reply of a split command from its parts, in the
// caller's key order (n keys): values in place for MGET, counts added up
// for DEL/EXISTS/UNLINK/TOUCH, OK for MSET once every part succeeded.
func mergeParts(cmd redis.Cmder, order []*part, n int) error {
	name := cmd.Name()
	switch out := cmd.(type) {
	case *redis.SliceCmd:
		vals := make([]any, n)
		for _, p := range order {
			pv, err := p.cmd.(*redis.SliceCmd).Result()
			if err == nil && len(pv) != len(p.keys) {
				err = fmt.Errorf("redirect: %s: a node answered %d values for %d keys (%v)", name, len(pv), len(p.keys), p.cmd.Args())
			}
			if err != nil {
				out.SetErr(err)
				return err
			}
			for j, k := range p.keys {
				vals[k] = pv[j]
			}
		}
		out.SetVal(vals)
	case *redis.IntCmd:
		var sum int64
		for _, p := range order {
			n, err := p.cmd.(*redis.IntCmd).Result()
			if err != nil {
				out.SetErr(err)
				return err
			}
			sum += n
		}
		out.SetVal(sum)
	case *redis.StatusCmd:
		for _, p := range order {
			if err := p.cmd.Err(); err != nil {
				out.SetErr(err)
				return err
			}
		}
		out.SetVal("OK")
	}
	return nil
}

// keySlot returns the slot of one key argument as go-redis holds it.
func keySlot(arg any) int {
	switch k := arg.(type) {
	case string:
		return slotmap.Slot(k)
	case []byte:
		return slotmap.SlotBytes(k)
	}
	return slotmap.Slot(fmt.Sprint(arg))
}

// broadcast sends a keyless command that concerns the whole keyspace
// (FLUSHALL, DBSIZE, KEYS, SCRIPT LOAD, FUNCTION LOAD, ...) to every primary,
// as go-redis's ClusterClient does, and merges the replies: counts add up,
// lists are concatenated, a status or a script's SHA1 is the first node's
// once every node agreed.
//
// With FlagOneSucceeded (SCRIPT KILL, FUNCTION KILL: only the node running
// the script can kill it) the command succeeds when any primary succeeds,
// and fails with a primary's own error (NOTBUSY when no node was busy)
// only when none did.
func (c *Client) broadcast(ctx context.Context, cmd redis.Cmder, flags command.Flags) error {
	topo := c.e.slots.Load()
	args := cmd.Args()
	var parts []redis.Cmder
	groups := make(map[target][]redis.Cmder)
	for _, sh := range topo.Shards() {
		var p redis.Cmder
		switch cmd.(type) {
		case *redis.StatusCmd:
			p = redis.NewStatusCmd(ctx, args...)
		case *redis.IntCmd:
			p = redis.NewIntCmd(ctx, args...)
		case *redis.StringSliceCmd:
			p = redis.NewStringSliceCmd(ctx, args...)
		case *redis.StringCmd:
			p = redis.NewStringCmd(ctx, args...)
		case *redis.BoolSliceCmd:
			p = redis.NewBoolSliceCmd(ctx, args...)
		default:
			// No merge rule for this result type: one node answers.
			t, err := c.route(-1, 0)
			if err != nil {
				cmd.SetErr(err)
				return err
			}
			return c.e.process(ctx, cmd, t, via{})
		}
		t := target{addr: sh.Primary.Addr}
		groups[t] = append(groups[t], p)
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		err := fmt.Errorf("redirect: %s: the topology has no primary", cmd.Name())
		cmd.SetErr(err)
		return err
	}
	err := c.e.processPipeline(ctx, parts, groups, via{})
	if flags&command.FlagOneSucceeded != 0 {
		parts, err = oneSucceeded(parts)
	}
	if err != nil {
		cmd.SetErr(err)
		return err
	}
	switch out := cmd.(type) {
	case *redis.StatusCmd:
		out.SetVal(parts[0].(*redis.StatusCmd).Val())
	case *redis.StringCmd:
		out.SetVal(parts[0].(*redis.StringCmd).Val())
	case *redis.IntCmd:
		var sum int64
		for _, p := range parts {
			sum += p.(*redis.IntCmd).Val()
		}
		out.SetVal(sum)
	case *redis.StringSliceCmd:
		var all []string
		for _, p := range parts {
			all = append(all, p.(*redis.StringSliceCmd).Val()...)
		}
		out.SetVal(all)
	case *redis.BoolSliceCmd:
		// SCRIPT EXISTS: a script exists only where every primary has it.
		var and []bool
		for i, p := range parts {
			v := p.(*redis.BoolSliceCmd).Val()
			if i == 0 {
				and = append(and, v...)
				continue
			}
			for j := range and {
				and[j] = and[j] && j < len(v) && v[j]
			}
		}
		out.SetVal(and)
	}
	return nil
}

// oneSucceeded returns the parts that succeeded, or, when none did, the
// error to report: the first that is not NOTBUSY (a node that could not be
// asked, or refused), else NOTBUSY.
func oneSucceeded(parts []redis.Cmder) ([]redis.Cmder, error) {
	var ok []redis.Cmder
	var first, notBusy error
	for _, p := range parts {
		switch err := p.Err(); {
		case err == nil:
			ok = append(ok, p)
		case classify.KindOf(err) == classify.KindNotBusy:
			notBusy = err
		case first == nil:
			first = err
		}
	}
	switch {
	case len(ok) > 0:
		return ok, nil
	case first != nil:
		return nil, first
	}
	return nil, notBusy
}
