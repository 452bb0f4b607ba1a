package clustertest

import "fmt"

// Config describes the cluster New and Start build. The zero value is a
// three-shard cluster without replicas.
type Config struct {
	// Shards is the number of primaries that share the 16384 slots, split
	// into contiguous ranges as redis-cli --cluster create splits them.
	// Zero means 3.
	Shards int `json:"shards"`

	// ReplicasPerShard is the number of replicas of each primary. Zero
	// means none.
	ReplicasPerShard int `json:"replicas_per_shard"`
}

// maxShards bounds Shards so that every shard keeps at least one slot.
const maxShards = 1024

// Validate reports the first field whose value cannot build a cluster.
func (c Config) Validate() error {
	switch {
	case c.Shards < 0 || c.Shards > maxShards:
		return fmt.Errorf("clustertest: Config.Shards is %d, want 0 (for 3) to %d", c.Shards, maxShards)
	case c.ReplicasPerShard < 0 || c.ReplicasPerShard > 16:
		return fmt.Errorf("clustertest: Config.ReplicasPerShard is %d, want 0 to 16", c.ReplicasPerShard)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Shards == 0 {
		c.Shards = 3
	}
	return c
}
