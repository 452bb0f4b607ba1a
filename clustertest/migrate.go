package clustertest

import (
	"errors"
	"fmt"

	"github.com/clusterhop/clusterhop/slotmap"
)

// ErrNotMigrating is returned for a slot no migration is moving.
var ErrNotMigrating = errors.New("clustertest: slot is not being migrated")

// BeginMigration opens the migration of slot to the primary at to, as
// CLUSTER SETSLOT IMPORTING on the target and MIGRATING on the source do:
// the source still serves the keys it holds and answers ASK for the
// others; the target serves the slot only to clients that sent ASKING.
func (c *Cluster) BeginMigration(slot int, to string) error {
	if err := checkSlot(slot); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changeLocked(func(t *topology) error {
		target, err := primaryShard(t, to)
		if err != nil {
			return err
		}
		from := int(t.owner[slot])
		switch {
		case from < 0:
			return fmt.Errorf("clustertest: slot %d has no owner to migrate from", slot)
		case from == target:
			return fmt.Errorf("clustertest: slot %d is already served by %s", slot, to)
		}
		if _, open := t.migrations[slot]; open {
			return fmt.Errorf("clustertest: slot %d is already being migrated", slot)
		}
		t.migrations[slot] = migration{from: from, to: target}
		return nil
	})
}

// MigrateKey moves one key of a migrating slot from the source to the
// target, as MIGRATE does, and reports false when no key is left to move.
func (c *Cluster) MigrateKey(slot int) (bool, error) {
	n, err := c.MigrateKeys(slot, 1)
	return n == 1, err
}

// MigrateKeys moves up to n keys of a migrating slot, one at a time, and
// returns how many it moved.
func (c *Cluster) MigrateKeys(slot, n int) (int, error) {
	if err := checkSlot(slot); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.topo.Load().migrations[slot]
	if !ok {
		return 0, fmt.Errorf("%w: %d", ErrNotMigrating, slot)
	}
	c.data.Lock()
	defer c.data.Unlock()
	moved := 0
	for _, key := range c.store.keysInSlot(m.from, slot) {
		if moved == n {
			break
		}
		if c.store.move(key, m.from, m.to) {
			moved++
		}
	}
	return moved, nil
}

// MoveKey moves key, of a migrating slot, from the source to the target
// now, and reports false when the source does not hold it. Tests use it to
// split a multi-key command's keys between the two nodes.
func (c *Cluster) MoveKey(key string) (bool, error) {
	slot := slotmap.Slot(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.topo.Load().migrations[slot]
	if !ok {
		return false, fmt.Errorf("%w: %d (of key %q)", ErrNotMigrating, slot, key)
	}
	c.data.Lock()
	defer c.data.Unlock()
	return c.store.move(key, m.from, m.to), nil
}

// FinishMigration moves the keys left in slot and gives the slot to the
// target, as CLUSTER SETSLOT NODE does: from then on every node answers
// MOVED to the target for it.
func (c *Cluster) FinishMigration(slot int) error {
	if err := checkSlot(slot); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.topo.Load().migrations[slot]
	if !ok {
		return fmt.Errorf("%w: %d", ErrNotMigrating, slot)
	}
	c.data.Lock()
	defer c.data.Unlock()
	for _, key := range c.store.keysInSlot(m.from, slot) {
		c.store.move(key, m.from, m.to)
	}
	return c.changeLocked(func(t *topology) error {
		delete(t.migrations, slot)
		t.owner[slot] = int16(m.to)
		t.bumpEpoch(m.to)
		return nil
	})
}

// MigrateSlot moves slot to the primary at to in the steps of a live
// resharding: BeginMigration, every key, FinishMigration.
func (c *Cluster) MigrateSlot(slot int, to string) error {
	if err := c.BeginMigration(slot, to); err != nil {
		return err
	}
	return c.FinishMigration(slot)
}

func checkSlot(slot int) error {
	if slot < 0 || slot >= slotmap.SlotCount {
		return fmt.Errorf("clustertest: slot %d out of range 0-%d", slot, slotmap.SlotCount-1)
	}
	return nil
}

// primaryShard returns the shard whose primary is at addr.
func primaryShard(t *topology, addr string) (int, error) {
	for _, n := range t.nodes {
		if n.addr != addr {
			continue
		}
		if !n.primary {
			return 0, fmt.Errorf("clustertest: %s is a replica, not a primary", addr)
		}
		return n.shard, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownNode, addr)
}
