// Package slotmap maps keys to the cluster nodes that serve them and keeps
// that map current: Slot hashes a key to its slot, Topology is an immutable
// view of the cluster (shards, nodes, the owner of each slot) parsed from
// CLUSTER SHARDS or CLUSTER SLOTS, and Map publishes views without locks on
// the read path, repoints single slots on MOVED, and refreshes the whole
// view with single-flight, rate-limited, sampled fetches that never replace
// a newer view with an older one.
package slotmap
