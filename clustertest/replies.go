package clustertest

// Error replies as Redis 7.0 writes them, without the leading '-'. The
// redirection texts (MOVED, ASK) carry a slot and an address and are built
// where they are sent. Pass any of these to InjectError to make a node
// answer as a real one in that state would.
const (
	// ReplyTryAgain answers a multi-key command on a slot being migrated
	// when only some of its keys are on the node.
	ReplyTryAgain = "TRYAGAIN Multiple keys request during rehashing of slot"

	// ReplyCrossSlot answers a command whose keys hash to different slots.
	ReplyCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot"

	// ReplySlotNotServed answers a command on a slot no node owns.
	ReplySlotNotServed = "CLUSTERDOWN Hash slot not served"

	// ReplyClusterDown answers every keyed command while the cluster is in
	// the fail state (a primary failed and no replica has taken over yet).
	ReplyClusterDown = "CLUSTERDOWN The cluster is down"

	// ReplyReadOnly answers a write sent to a replica outside cluster
	// routing.
	ReplyReadOnly = "READONLY You can't write against a read only replica."

	// ReplyLoading answers commands while a node loads its data set at
	// start-up.
	ReplyLoading = "LOADING Redis is loading the dataset in memory"

	// ReplyMasterDown answers a replica's commands while its link to the
	// primary is down and replica-serve-stale-data is no.
	ReplyMasterDown = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."

	// ReplyBusy answers commands while a script runs past its time limit.
	ReplyBusy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."

	// ReplyExecAbort answers EXEC when a command queued in the transaction
	// was refused (redirected, or rejected by the server).
	ReplyExecAbort = "EXECABORT Transaction discarded because of previous errors."
)
