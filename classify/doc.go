// Package classify turns Redis and Valkey failures into typed Go errors:
// every server error reply (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, LOADING, ...)
// and every client-side failure (dial, timeout, broken connection, pool,
// context) gets a Kind, a type that errors.As finds through any wrapping,
// categories for errors.Is (ErrRedirect, ErrTryLater, ErrConnection,
// ErrTimeout), and an answer to the question a retry needs: may the command
// have run (InDoubt)?
//
// Parse reads the text of one error reply; Classify takes whatever a
// go-redis call returned. Reply errors keep the server's exact text in
// Error() and carry go-redis's RedisError() marker. The package uses the
// standard library only.
//
// # Parity with redis-py and valkey-py
//
// Every exception class of redis-py ("redis") and valkey-py ("valkey"), and
// what stands for it here. "both" means both libraries define the class.
//
//	Class                                  In       Go counterpart
//	AskError                               both     *AskError (KindAsk); errors.Is ErrRedirect
//	AuthenticationError                    redis    *Error with KindNoAuth or KindWrongPass (NOAUTH, WRONGPASS replies)
//	AuthenticationWrongNumberOfArgsError   both     *Error with KindErr: the server sends a plain "ERR wrong number of arguments for 'auth' command"
//	AuthorizationError                     redis    *Error with KindNoPerm (NOPERM reply)
//	BusyLoadingError                       redis    *Error with KindLoading; errors.Is ErrTryLater
//	ChildDeadlockedError                   both     none: a Python fork() artefact; Go programs do not fork a running client
//	ClusterCrossSlotError                  both     *Error with KindCrossSlot; CrossSlot() builds the same error client-side
//	ClusterDownError                       both     *Error with KindClusterDown; DownReasonOf tells its three messages apart; errors.Is ErrTryLater
//	ClusterError                           both     *ClientError with KindBudgetExhausted (retries or redirects ran out)
//	ConnectionError                        redis    *ClientError with KindConnection; errors.Is ErrConnection
//	DataError                              redis    none: redis-py's check of argument types before sending; Go's static types and go-redis's encoder do that job
//	ExecAbortError                         redis    *Error with KindExecAbort
//	InvalidResponse                        redis    KindProtocol: *ClientError for a reply go-redis cannot read, *Error for an unreadable MOVED/ASK/REDIRECT
//	LockError                              both     none: belongs to redis-py's Lock helper; this project has no lock recipe
//	LockNotOwnedError                      both     none: belongs to redis-py's Lock helper; this project has no lock recipe
//	MasterDownError                        both     *Error with KindMasterDown; errors.Is ErrTryLater
//	ModuleError                            redis    *Error with KindErr: MODULE LOAD failures come as plain ERR replies
//	MovedError                             both     *MovedError (KindMoved); errors.Is ErrRedirect
//	NoPermissionError                      redis    *Error with KindNoPerm
//	NoScriptError                          redis    *Error with KindNoScript
//	OutOfMemoryError                       valkey   *Error with KindOOM
//	PubSubError                            redis    none: redis-py's misuse check on its PubSub object; go-redis's *redis.PubSub type prevents that misuse
//	ReadOnlyError                          redis    *Error with KindReadOnly
//	RedisClusterException                  redis    no single type: a base class; its members map to the kinds in this table, grouped by ErrRedirect and ErrTryLater
//	RedisError                             redis    the error interface; KindOf gives any error a Kind
//	ResponseError                          redis    *Error (every reply other than a redirection); any Kind with IsReply true
//	SlotNotCoveredError                    both     *ClientError with KindSlotNotCovered
//	TimeoutError                           redis    *ClientError with KindTimeout; errors.Is ErrTimeout
//	TryAgainError                          both     *Error with KindTryAgain; errors.Is ErrTryLater
//	WatchError                             redis    go-redis's redis.TxFailedErr, which Classify returns unchanged
package classify
