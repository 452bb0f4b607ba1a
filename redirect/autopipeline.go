package redirect

import (
	"errors"
	"reflect"

	"github.com/redis/go-redis/v9"
)

// go-redis v9.22 and later give redis.UniversalClient four methods,
// AutoPipeline, AutoPipelineWithOptions, AsyncAutoPipeline and
// AsyncAutoPipelineWithOptions, which the Client inherits from its front
// client (their types do not exist in the older releases this package
// supports, so it cannot declare them itself). They are routed on purpose:
// the AutoPipeliner they return sends each of its batches through the
// front client's hooks, whose innermost is the router, so that a batch is
// a Client pipeline — grouped by node, each command redirected, retried
// and judged in doubt on its own, never re-sent whole. The Client batches
// concurrent commands itself (Options.Batch), so an AutoPipeliner adds
// nothing but its own queue; it is there for code written for go-redis.
// What an AutoPipeliner passes to the front client instead of batching
// fails clearly: Watch (errWatchOutside) and the subscriptions
// (errFrontDial).

// errWatchOutside refuses a WATCH that reaches the router: sent on one of
// a node's pooled connections, it would watch nothing the transaction
// that follows could rely on (go-redis's Tx on the front client, an
// AutoPipeliner's Watch, Do("WATCH", ...)). Client.Watch sends WATCH on
// the transaction's own connection and never meets it.
var errWatchOutside = errors.New("redirect: WATCH outside Client.Watch watches nothing a transaction could rely on (the command would go down any pooled connection of the node): use Client.Watch")

// frontOptions sets what the front client's options must say on every
// go-redis release. Fields newer than go-redis v9.2.1 are set by name.
func frontOptions(o *redis.Options) {
	// A method that needs a connection of the front's own fails at once,
	// not after go-redis's dial retries.
	dialOnce(o)
	// No pipeline pool (go-redis v9.22+): an AutoPipeliner asked for
	// FullDuplex would hold one of its connections; without the pool it
	// runs half-duplex, through the hooks, hence the router.
	if f := reflect.ValueOf(o).Elem().FieldByName("PipelinePoolSize"); f.IsValid() && f.CanSet() && f.Kind() == reflect.Int {
		f.SetInt(-1)
	}
}
