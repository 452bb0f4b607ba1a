// Package integration holds the tests that run clusterhop and go-redis
// against a real Redis or Valkey Cluster on loopback, started by the
// harness in integration/cluster: live resharding, failovers, killed and
// hung primaries, and a soak test that checks no acknowledged write is lost.
//
// The tests run when CLUSTERHOP_INTEGRATION=1 (make test sets it) and skip
// with a NOTICE line otherwise; the soak test also needs CLUSTERHOP_SOAK=1
// (make soak). All the tests of this package share one cluster.
package integration
