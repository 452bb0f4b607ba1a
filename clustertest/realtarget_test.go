package clustertest_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/slotmap"
)

// realTarget runs scripts on a real cluster, doing the topology operations
// with the commands redis-cli --cluster reshard sends.
type realTarget struct {
	nodes      map[string]string // p0 … r2 → address
	ids        map[string]string // address → node ID
	migrations map[int][2]string // slot → source, target addresses
}

// newRealTarget learns the shards of the cluster at seed, numbered by slot
// order.
func newRealTarget(seed string) (*realTarget, error) {
	c := redis.NewClient(&redis.Options{Addr: seed, DisableIndentity: true})
	defer c.Close()
	shards, err := c.ClusterShards(context.Background()).Result()
	if err != nil {
		return nil, err
	}
	shards = slices.DeleteFunc(shards, func(s redis.ClusterShard) bool { return len(s.Slots) == 0 })
	slices.SortFunc(shards, func(a, b redis.ClusterShard) int { return int(a.Slots[0].Start - b.Slots[0].Start) })
	tg := &realTarget{nodes: map[string]string{}, ids: map[string]string{}, migrations: map[int][2]string{}}
	for i, s := range shards {
		for _, n := range s.Nodes {
			addr := net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
			tg.ids[addr] = n.ID
			name := fmt.Sprintf("p%d", i)
			if n.Role != "master" {
				name = fmt.Sprintf("r%d", i)
			}
			if _, seen := tg.nodes[name]; !seen {
				tg.nodes[name] = addr
			}
		}
	}
	return tg, nil
}

func (r *realTarget) addr(name string) (string, error) {
	a, ok := r.nodes[name]
	if !ok {
		return "", fmt.Errorf("no node %s", name)
	}
	return a, nil
}

func (r *realTarget) do(addr string, args ...any) error {
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIndentity: true, MaxRetries: -1})
	defer c.Close()
	return c.Do(context.Background(), args...).Err()
}

func (r *realTarget) owner(slot int) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: r.nodes["p0"], DisableIndentity: true})
	defer c.Close()
	slots, err := c.ClusterSlots(context.Background()).Result()
	if err != nil {
		return "", err
	}
	for _, s := range slots {
		if s.Start <= slot && slot <= s.End {
			return s.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("slot %d has no owner", slot)
}

func (r *realTarget) begin(slot int, to string) error {
	from, err := r.owner(slot)
	if err != nil {
		return err
	}
	if err := r.do(to, "CLUSTER", "SETSLOT", slot, "IMPORTING", r.ids[from]); err != nil {
		return err
	}
	if err := r.do(from, "CLUSTER", "SETSLOT", slot, "MIGRATING", r.ids[to]); err != nil {
		return err
	}
	r.migrations[slot] = [2]string{from, to}
	return nil
}

func (r *realTarget) migrate(slot int, key string) error {
	m, ok := r.migrations[slot]
	if !ok {
		return fmt.Errorf("slot %d is not migrating", slot)
	}
	host, port, _ := net.SplitHostPort(m[1])
	return r.do(m[0], "MIGRATE", host, port, key, 0, 5000)
}

func (r *realTarget) moveKey(key string) error {
	return r.migrate(slotmap.Slot(key), key)
}

func (r *realTarget) finish(slot int) error {
	m, ok := r.migrations[slot]
	if !ok {
		return fmt.Errorf("slot %d is not migrating", slot)
	}
	c := redis.NewClient(&redis.Options{Addr: m[0], DisableIndentity: true})
	defer c.Close()
	keys, err := c.ClusterGetKeysInSlot(context.Background(), slot, 1000).Result()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := r.migrate(slot, k); err != nil {
			return err
		}
	}
	// Every primary learns the new owner at once, as redis-cli tells them.
	for name, addr := range r.nodes {
		if strings.HasPrefix(name, "p") {
			if err := r.do(addr, "CLUSTER", "SETSLOT", slot, "NODE", r.ids[m[1]]); err != nil {
				return err
			}
		}
	}
	delete(r.migrations, slot)
	return nil
}

// flush empties every primary.
func (r *realTarget) flush() {
	for name, addr := range r.nodes {
		if strings.HasPrefix(name, "p") {
			_ = r.do(addr, "FLUSHALL")
		}
	}
}
