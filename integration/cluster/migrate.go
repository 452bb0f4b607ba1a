package cluster

import (
	"context"
	"fmt"
	"time"
)

// migration is a slot whose MIGRATING/IMPORTING states the harness set.
type migration struct{ from, to *node }

// MigrateOptions tunes MigrateSlot and MoveSlots. Zero values are defaults.
type MigrateOptions struct {
	// Batch is the number of keys moved by one MIGRATE (default 100).
	Batch int
	// Timeout is MIGRATE's own timeout for one batch (default 5s).
	Timeout time.Duration
}

func (o MigrateOptions) withDefaults() MigrateOptions {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	return o
}

// MigrateSlot moves slot and its keys to the primary at to, with the same
// steps as BeginMigration, MigrateKeys until the slot is empty on the
// source, and FinishMigration.
func (c *Cluster) MigrateSlot(ctx context.Context, slot int, to string, opts MigrateOptions) error {
	if err := c.Refresh(ctx); err != nil {
		return err
	}
	return c.migrateSlot(ctx, slot, to, opts.withDefaults())
}

// migrateSlot is MigrateSlot on the current view.
func (c *Cluster) migrateSlot(ctx context.Context, slot int, to string, opts MigrateOptions) error {
	if err := c.beginMigration(ctx, slot, to); err != nil {
		return err
	}
	for {
		moved, err := c.migrateKeys(ctx, slot, opts)
		if err != nil {
			return err
		}
		if moved == 0 {
			return c.FinishMigration(ctx, slot)
		}
	}
}

// BeginMigration opens the migration of slot from its current owner to the
// primary at to: CLUSTER SETSLOT IMPORTING on the target, then MIGRATING on
// the source (in that order, so that no ASK reaches a target that would
// refuse it). From then on the source answers ASK for keys it no longer
// has, and TRYAGAIN for multi-key commands whose keys are split.
func (c *Cluster) BeginMigration(ctx context.Context, slot int, to string) error {
	if err := c.Refresh(ctx); err != nil {
		return err
	}
	return c.beginMigration(ctx, slot, to)
}

// beginMigration is BeginMigration on the current view.
func (c *Cluster) beginMigration(ctx context.Context, slot int, to string) error {
	if slot < 0 || slot >= slotCount {
		return fmt.Errorf("cluster: slot %d out of range 0-%d", slot, slotCount-1)
	}
	target, err := c.node(to)
	if err != nil {
		return err
	}
	c.mu.Lock()
	source := c.byID[c.view.owner[slot]]
	targetLine := c.view.byID[target.id]
	_, open := c.migrations[slot]
	c.mu.Unlock()
	switch {
	case open:
		return fmt.Errorf("cluster: slot %d is already being migrated", slot)
	case source == nil:
		return fmt.Errorf("cluster: slot %d has no owner", slot)
	case source == target:
		return fmt.Errorf("cluster: slot %d is already on %s", slot, to)
	case targetLine == nil || !targetLine.primary:
		return fmt.Errorf("cluster: migration target %s is not a primary", to)
	}
	if err := target.client.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.id).Err(); err != nil {
		return fmt.Errorf("cluster: CLUSTER SETSLOT %d IMPORTING on %s: %w", slot, target.addr, err)
	}
	if err := source.client.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.id).Err(); err != nil {
		return fmt.Errorf("cluster: CLUSTER SETSLOT %d MIGRATING on %s: %w", slot, source.addr, err)
	}
	c.mu.Lock()
	c.migrations[slot] = migration{from: source, to: target}
	c.mu.Unlock()
	return nil
}

// MigrateKeys moves one batch of at most batch keys (default 100 when
// batch <= 0) of a slot opened by BeginMigration, with CLUSTER
// GETKEYSINSLOT on the source and one MIGRATE ... KEYS to the target. It
// returns the number of keys moved; 0 means the source has no key left in
// the slot. Call it repeatedly to interleave the migration with traffic.
func (c *Cluster) MigrateKeys(ctx context.Context, slot int, batch int) (moved int, err error) {
	return c.migrateKeys(ctx, slot, MigrateOptions{Batch: batch}.withDefaults())
}

func (c *Cluster) migrateKeys(ctx context.Context, slot int, opts MigrateOptions) (int, error) {
	m, err := c.migration(slot)
	if err != nil {
		return 0, err
	}
	keys, err := m.from.client.ClusterGetKeysInSlot(ctx, slot, opts.Batch).Result()
	if err != nil {
		return 0, fmt.Errorf("cluster: CLUSTER GETKEYSINSLOT %d on %s: %w", slot, m.from.addr, err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	// REPLACE: a MIGRATE that timed out may have restored a key on the
	// target before deleting it on the source; the source's copy is the
	// current one, since the source served every command on it meanwhile.
	args := []any{"MIGRATE", c.cfg.Host, m.to.port, "", 0, opts.Timeout.Milliseconds(), "REPLACE"}
	if c.acc.users != nil {
		// The target refuses a MIGRATE's RESTORE without credentials.
		args = append(args, "AUTH2", adminUser, c.acc.adminPass)
	}
	args = append(args, "KEYS")
	for _, k := range keys {
		args = append(args, k)
	}
	if err := m.from.client.Do(ctx, args...).Err(); err != nil {
		return 0, fmt.Errorf("cluster: MIGRATE of %d keys of slot %d from %s to %s: %w", len(keys), slot, m.from.addr, m.to.addr, err)
	}
	return len(keys), nil
}

// FinishMigration closes the migration of slot: it checks that the source
// has no key left in it, then assigns the slot with CLUSTER SETSLOT NODE to
// the target first (which bumps its config epoch, so its claim wins), then
// to the source (which from then on answers MOVED), then to every other
// running primary, and waits until every running primary agrees. Replicas
// refuse CLUSTER SETSLOT and learn the new owner by gossip shortly after
// (WaitHealthy waits for them too).
func (c *Cluster) FinishMigration(ctx context.Context, slot int) error {
	ctx, cancel := c.waitCtx(ctx)
	defer cancel()
	m, err := c.migration(slot)
	if err != nil {
		return err
	}
	left, err := m.from.client.ClusterCountKeysInSlot(ctx, slot).Result()
	if err != nil {
		return fmt.Errorf("cluster: CLUSTER COUNTKEYSINSLOT %d on %s: %w", slot, m.from.addr, err)
	}
	if left > 0 {
		return fmt.Errorf("cluster: slot %d still has %d keys on %s; MigrateKeys until it returns 0", slot, left, m.from.addr)
	}
	for _, n := range []*node{m.to, m.from} {
		if err := n.client.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", m.to.id).Err(); err != nil {
			return fmt.Errorf("cluster: CLUSTER SETSLOT %d NODE on %s: %w", slot, n.addr, err)
		}
	}
	c.mu.Lock()
	delete(c.migrations, slot)
	c.mu.Unlock()
	for _, addr := range c.Primaries() {
		n := c.byAddr[addr]
		if n == m.to || n == m.from {
			continue
		}
		// The others would learn it from gossip too; telling them shortens
		// the time in which they still send MOVED to the source.
		if err := n.client.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", m.to.id).Err(); err != nil {
			c.cfg.Logf("cluster: CLUSTER SETSLOT %d NODE on %s: %v (gossip will tell it)", slot, n.addr, err)
		}
	}
	err = poll(ctx, fmt.Sprintf("every primary to see slot %d on %s", slot, m.to.addr), func(ctx context.Context) (string, error) {
		for _, addr := range c.Primaries() {
			n := c.byAddr[addr]
			topo, err := n.topology(ctx)
			if err != nil {
				return err.Error(), nil
			}
			if topo.owner[slot] != m.to.id {
				return fmt.Sprintf("%s sees slot %d on %q", n.addr, slot, topo.owner[slot]), nil
			}
		}
		return "", nil
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.view.owner[slot] = m.to.id
	c.mu.Unlock()
	return nil
}

// MoveSlots migrates the n highest-numbered slots of the primary at from
// to the primary at to, one after another with MigrateSlot and default
// options, and returns them. Only ctx bounds the whole move (each wait
// within it is bounded by Config.WaitTimeout), so thousands of slots can
// be moved under one context.
func (c *Cluster) MoveSlots(ctx context.Context, n int, from, to string) ([]int, error) {
	if _, err := c.node(from); err != nil {
		return nil, err
	}
	if err := c.Refresh(ctx); err != nil {
		return nil, err
	}
	owned := c.SlotsOf(from)
	if n <= 0 || n > len(owned) {
		return nil, fmt.Errorf("cluster: cannot move %d slots from %s, which owns %d", n, from, len(owned))
	}
	slots := owned[len(owned)-n:]
	for _, s := range slots {
		if err := c.migrateSlot(ctx, s, to, MigrateOptions{}.withDefaults()); err != nil {
			return nil, err
		}
	}
	return slots, nil
}

func (c *Cluster) migration(slot int) (migration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.migrations[slot]
	if !ok {
		return m, fmt.Errorf("cluster: slot %d is not being migrated; call BeginMigration first", slot)
	}
	return m, nil
}
