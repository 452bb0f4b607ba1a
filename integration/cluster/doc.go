// Package cluster starts a real Redis or Valkey Cluster on loopback for
// integration tests and benchmarks, and drives it through the events a
// cluster client must survive: live slot migration (the MIGRATING/IMPORTING
// protocol that makes servers reply ASK and TRYAGAIN), manual and automatic
// failover, a killed and restarted primary, and a hung (stopped) process.
//
// Start launches one server process per node from the redis-server or
// valkey-server binary (CLUSTERHOP_SERVER names another), on free
// 127.0.0.1 ports, in a temporary directory; assigns slots with CLUSTER
// ADDSLOTSRANGE, joins the nodes with CLUSTER MEET, attaches replicas with
// CLUSTER REPLICATE and waits until every node reports cluster_state:ok and
// all of them agree on the slot map. Close kills every process and removes
// the directory. The processes also die with the process that started them
// (Linux parent-death signal), so a crashed or timed-out test leaves none
// behind, and a later Start removes directories left by such a run.
//
// Config.Host binds and announces the nodes on ::1 instead of 127.0.0.1;
// Config.TLS serves clients, the cluster bus and replication over TLS only,
// with a throwaway CA made in Go (Cluster.TLSConfig, Cluster.CAFile);
// Config.Users turns ACLs on with the default user off, the harness
// authenticating as its own admin user; Config.Standalone starts a
// primary with replicas and no cluster mode (Cluster.Promote swaps roles).
// Cluster.Reshard moves slots with the server's own redis-cli/valkey-cli
// --cluster reshard.
//
// Servers is the table of servers the real-cluster tests run against
// (Redis 7 and Valkey 8); ForEachServer and Shared.Each run a test once per
// server, as subtests named after it.
//
// Tests gate on one mechanism: Require (or Shared.Get, which calls it) skips
// with a "NOTICE:" line unless CLUSTERHOP_INTEGRATION=1, and when no server
// binary is found it skips too, except under CI=true where it fails;
// RequireServer does the same for one server of the table. Shared gives
// every test of a package one cluster per server, started on first use and
// always stopped when the package's tests end; StartForTest gives one test
// its own.
package cluster
