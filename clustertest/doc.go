// Package clustertest runs an in-process fake Redis Cluster for tests, the
// way net/http/httptest runs an HTTP server: real TCP listeners on 127.0.0.1,
// one per node, speaking RESP2 and RESP3, with the cluster's redirection
// rules and error texts as Redis 7.0 writes them, topology changes on demand
// (slot migration key by key, failover, killed and restarted nodes, new
// nodes) and fault injection (error replies, latency, dropped connections).
//
// A test starts a cluster with New, points a client at Cluster.Addrs, drives
// the topology while the client runs, and checks what the nodes saw with
// Cluster.Stats and Cluster.Counters:
//
//	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
//	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
//	c.MigrateSlot(slotmap.Slot("user:1"), c.Primary(2))
//
// # Design
//
// Data lives in one miniredis store; each shard is one of its numbered
// databases. A node is a front end: it reads a request, applies the cluster
// rules (MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN, ASKING, READONLY,
// MULTI/EXEC) itself, and runs the command on its shard's database. Replicas
// read their primary's database, so replication is synchronous and a
// failover loses nothing; moving a key during a migration is miniredis's
// MOVE between two databases. Commands a real cluster refuses (SELECT of a
// database other than 0, MOVE, SWAPDB) are refused, and FLUSHALL flushes
// only the node's shard, as on a real node.
//
// The fake implements what a cluster client observes, not the cluster bus:
// a topology change is visible on every node at once, a killed node is
// flagged as failed at once, and every node answers CLUSTERDOWN during a
// failover window only for the slots of the shard that fails over.
// Commands that clustertest answers itself (CLUSTER, COMMAND, INFO,
// ASKING, READONLY, READWRITE) cannot be queued inside MULTI.
package clustertest
