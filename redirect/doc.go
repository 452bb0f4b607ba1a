// Package redirect makes go-redis follow a Redis or Valkey Cluster: a Hook
// for a plain *redis.Client pointed at any node, and a Client with the whole
// go-redis command API that routes each command to the node serving its
// slot.
//
// Both run one engine, and in it one attempt step that every path takes —
// single commands, each command of a pipeline, transactions, Client.Watch,
// the Hook's commands, pipelines and transactions; the paths differ only in
// how they send. A command goes to a node; when it fails, the step
// classifies the error (package classify), tells the node's breaker, asks
// the retry policy (package retry) what to do, and does it:
//
//   - MOVED: re-send at once to the named node, patch that slot in the slot
//     map (package slotmap) and ask for a coalesced topology refresh. The
//     named node must pass the allow check (Options.AllowAddr, by default:
//     known to the topology, or to a fresh refresh) before it is dialled or
//     patched in, whatever path learned of it;
//   - ASK: send ASKING and the command in one round trip to the named node,
//     leaving the slot map alone;
//   - TRYAGAIN, CLUSTERDOWN, LOADING, BUSY, MASTERDOWN, READONLY, a refused
//     connection: wait (refreshing the topology first when it may have
//     changed), then re-send to wherever the slot is now;
//   - anything else, or a command that may already have run (unless the
//     policy's in-doubt mode allows it; by default only reads are re-sent):
//     give up and return the typed error, wrapped with why in a
//     *retry.GiveUpError.
//
// Every re-send clears the command's previous error first, so what it
// holds is the last attempt's outcome. Every address the engine compares
// (topology, MOVED and ASK targets, seeds, the hooked client's) is in the
// form net.Dial accepts, IPv6 hosts in brackets. The caller's context
// bounds the whole command: dials, reads and writes, waits and the
// refreshes they wait for.
//
// Pipelines re-send only the commands that failed, grouped by node, one
// round trip per node. A transaction moves as a unit: a server answers a
// redirected queued command with MOVED or ASK and then fails EXEC with
// EXECABORT, and go-redis keeps only the EXECABORT, so the engine asks the
// node why by queueing the same commands between MULTI and DISCARD, which
// runs none of them. A transaction that may run under a WATCH (the Hook
// keeps each connection's WATCH and MULTI state with the hook chain go-redis
// builds for it) is never re-sent elsewhere; Client.Watch runs its function
// again from the start instead, WATCH included.
//
// The Client's single commands may travel in batches (batch.go,
// Options.Batch): while a node's batch is on the wire, the commands sent to
// it queue, and go together as one go-redis pipeline when it is answered;
// a lone caller sends at once. Batching is a transport beneath the attempt
// step: each command of a batch meets the step on its own, a queued command
// whose context ends leaves unsent, and the breaker hears of a failed batch
// once.
//
// Per-node clients are go-redis clients made from Options.Template with
// MaxRetries -1: go-redis's own retries re-send a command whose reply was
// lost, and that command may have run.
//
// For go-redis's own ClusterClient, which follows redirections itself,
// OnNewNode adds a narrower hook to its node clients: it reports what each
// node returns and stops ClusterClient from re-sending in-doubt commands.
package redirect
