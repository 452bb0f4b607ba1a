package clustertest

import "fmt"

// DelSlots makes slots first to last (inclusive) unowned, as CLUSTER
// DELSLOTSRANGE on their owners: commands on them get ReplySlotNotServed
// and CLUSTER INFO reports the cluster as failed. Their keys stay where
// they were.
func (c *Cluster) DelSlots(first, last int) error {
	if err := checkRange(first, last); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changeLocked(func(t *topology) error {
		for slot := first; slot <= last; slot++ {
			if _, open := t.migrations[slot]; open {
				return fmt.Errorf("clustertest: slot %d is being migrated", slot)
			}
			t.owner[slot] = -1
		}
		return nil
	})
}

// AddSlots gives the unowned slots first to last (inclusive) to the
// primary at to, as CLUSTER ADDSLOTSRANGE on it.
func (c *Cluster) AddSlots(to string, first, last int) error {
	if err := checkRange(first, last); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changeLocked(func(t *topology) error {
		shard, err := primaryShard(t, to)
		if err != nil {
			return err
		}
		for slot := first; slot <= last; slot++ {
			if t.owner[slot] >= 0 {
				return fmt.Errorf("clustertest: slot %d is already served by %s", slot, t.primaryAddr(int(t.owner[slot])))
			}
			t.owner[slot] = int16(shard)
		}
		t.bumpEpoch(shard)
		return nil
	})
}

func checkRange(first, last int) error {
	if err := checkSlot(first); err != nil {
		return err
	}
	if err := checkSlot(last); err != nil {
		return err
	}
	if first > last {
		return fmt.Errorf("clustertest: slot range %d-%d is empty", first, last)
	}
	return nil
}
