package redirect

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/command"
	"github.com/clusterhop/clusterhop/slotmap"
)

// route picks the node for a command of slot (-1: keyless or unknown).
func (c *Client) route(slot int, flags command.Flags) (target, error) {
	topo := c.e.slots.Load()
	if slot < 0 {
		a := randomPrimary(topo)
		if a == "" {
			return target{}, &classify.ClientError{Kind: classify.KindSlotNotCovered,
				Err: errors.New("redirect: the topology has no primary")}
		}
		return target{addr: a}, nil
	}
	sh, err := topo.Shard(slot)
	if err != nil {
		return target{}, err
	}
	if c.e.opts.RouteByLatency && flags&command.FlagReadOnly != 0 {
		if a := c.latency.nearest(sh); a != "" {
			return target{addr: a}, nil
		}
	}
	if (c.e.opts.ReadFromReplicas || c.e.opts.RouteByLatency) && flags&command.FlagReadOnly != 0 {
		if r := healthyReplica(sh); r != "" {
			return target{addr: r}, nil
		}
	}
	return target{addr: sh.Primary.Addr}, nil
}

// randomPrimary returns the address of a random primary.
func randomPrimary(t *slotmap.Topology) string {
	shards := t.Shards()
	if len(shards) == 0 {
		return ""
	}
	return shards[rand.IntN(len(shards))].Primary.Addr
}

// healthyReplica returns a random online replica of sh, or "".
func healthyReplica(sh *slotmap.Shard) string {
	var n int
	for _, r := range sh.Replicas {
		if r.Health == slotmap.HealthOnline {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	pick := rand.IntN(n)
	for _, r := range sh.Replicas {
		if r.Health == slotmap.HealthOnline {
			if pick == 0 {
				return r.Addr
			}
			pick--
		}
	}
	return ""
}

// ownerOf returns the primary address of slot in the current topology.
func (e *engine) ownerOf(slot int) (string, error) {
	t := e.slots.Load()
	if t == nil {
		return "", &classify.ClientError{Kind: classify.KindSlotNotCovered,
			Err: fmt.Errorf("clusterhop: slot %d: no topology loaded", slot)}
	}
	return t.PrimaryAddr(slot)
}

// ownerOfCmd returns the primary serving cmd's slot, when the command has
// keys of one slot and the topology knows the slot's owner.
func (e *engine) ownerOfCmd(cmd redis.Cmder) (string, bool) {
	slot, _, err := e.table.Route(cmd.Args())
	if err != nil || slot < 0 {
		return "", false
	}
	owner, err := e.ownerOf(slot)
	return owner, err == nil
}

// targetOf returns the target of a node: through next when it is the node
// a Hook's client talks to.
func (e *engine) targetOf(addr string) target {
	if addr == e.hookedAddr() {
		return target{}
	}
	return target{addr: addr}
}

// reroute picks the target of a retry: the slot's owner by the (possibly
// refreshed) topology, or the previous node when the topology cannot say.
func (e *engine) reroute(cmd redis.Cmder, prev target) target {
	if owner, ok := e.ownerOfCmd(cmd); ok {
		return e.targetOf(owner)
	}
	return target{addr: prev.addr}
}

// preroute returns where cmd should go first: straight to the owner of its
// slot once the topology is known, through next otherwise. Before the first
// redirection the hook has no topology and adds nothing to a command's path.
func (e *engine) preroute(cmd redis.Cmder) target {
	slot, _, err := e.table.Route(cmd.Args())
	return e.prerouteSlot(slot, err)
}

// prerouteSlot is preroute for a command whose slot the table gave.
func (e *engine) prerouteSlot(slot int, err error) target {
	if err != nil || slot < 0 || e.slots.Load() == nil {
		return target{}
	}
	if owner, oerr := e.ownerOf(slot); oerr == nil {
		return e.targetOf(owner)
	}
	return target{}
}

// group splits a pipeline by first target.
func (e *engine) group(cmds []redis.Cmder) map[target][]redis.Cmder {
	if e.slots.Load() == nil {
		return map[target][]redis.Cmder{{}: cmds}
	}
	groups := make(map[target][]redis.Cmder, 4)
	for _, c := range cmds {
		t := e.preroute(c)
		groups[t] = append(groups[t], c)
	}
	return groups
}

// rerouteTx picks the node of a transaction's retry from its first keyed command.
func (e *engine) rerouteTx(inner []redis.Cmder, prev target) target {
	for _, c := range inner {
		if owner, ok := e.ownerOfCmd(c); ok {
			return e.targetOf(owner)
		}
	}
	return target{addr: prev.addr}
}
