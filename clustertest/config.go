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

	// Hostname gives node number n the hostname it announces, as
	// cluster-announce-hostname does; "" or a nil Hostname announces
	// none. Nodes are numbered as they were created: the primaries of
	// shards 0, 1, ..., then the replicas shard by shard, then the nodes
	// AddNode adds. Clients dial announced hostnames, so they must resolve
	// to 127.0.0.1 ("localhost" does).
	Hostname func(n int) string `json:"-"`

	// PreferredEndpoint is cluster-preferred-endpoint-type: what MOVED,
	// ASK, CLUSTER SLOTS and the endpoint of CLUSTER SHARDS name a node
	// by. Empty means EndpointIP.
	PreferredEndpoint Endpoint `json:"preferred_endpoint"`
}

// Endpoint is a value of cluster-preferred-endpoint-type.
type Endpoint string

const (
	// EndpointIP names nodes by IP address: "MOVED 3999 127.0.0.1:30002".
	EndpointIP Endpoint = "ip"

	// EndpointHostname names nodes by their announced hostname, or "?"
	// for a node without one: "MOVED 3999 node2.example:30002".
	EndpointHostname Endpoint = "hostname"

	// EndpointUnknown names no host, so that clients reuse the host they
	// reached the cluster by: "MOVED 3999 :30002", a null host in
	// CLUSTER SLOTS and an empty endpoint in CLUSTER SHARDS.
	EndpointUnknown Endpoint = "unknown-endpoint"
)

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
	switch c.PreferredEndpoint {
	case "", EndpointIP, EndpointHostname, EndpointUnknown:
	default:
		return fmt.Errorf("clustertest: Config.PreferredEndpoint is %q, want %q, %q or %q", c.PreferredEndpoint, EndpointIP, EndpointHostname, EndpointUnknown)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Shards == 0 {
		c.Shards = 3
	}
	if c.PreferredEndpoint == "" {
		c.PreferredEndpoint = EndpointIP
	}
	if c.Hostname == nil {
		c.Hostname = func(int) string { return "" }
	}
	return c
}
