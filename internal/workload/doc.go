// Package workload is the mixed read/write load that the demo, the
// integration tests and the benchmark run against a cluster, with a ledger
// of every write attempted and what its caller was told, so that lost and
// duplicated writes can be found afterwards.
//
// Every SET writes a value no other write carries (its worker and sequence
// number), so the value a key holds at the end names the one write that
// put it there: a write lost after its acknowledgement, an older write that
// ran again after a newer one, and a write that ran though it reported a
// definite error all show. Counters show an increment lost or run twice.
// The ledger's own tests inject each of these faults into a fake client
// and check that the verdict reports it.
package workload
