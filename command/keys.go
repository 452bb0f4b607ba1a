package command

// Flags describe how a command must be routed in a cluster and what it does
// to the data. They come from the static command table or from the flags and
// tips a server reports in COMMAND INFO.
type Flags uint16

const (
	// FlagKeyless marks a command with no keys: any node can serve it
	// (PING, INFO, CLUSTER ..., SCRIPT LOAD). Sub-flags below may narrow the
	// choice to every primary or every node.
	FlagKeyless Flags = 1 << iota

	// FlagReadOnly marks a command that never writes, so a replica in
	// READONLY mode may serve it.
	FlagReadOnly

	// FlagWrite marks a command that may write; only a primary serves it.
	FlagWrite

	// FlagBlocking marks a command that may block (BLPOP, XREAD BLOCK, WAIT):
	// its reply can take as long as its own timeout, not the client's.
	FlagBlocking

	// FlagAllPrimaries marks a keyless command whose effect or answer is per
	// shard, so a cluster client sends it to every primary and merges the
	// replies (FLUSHALL, FLUSHDB, KEYS, DBSIZE, FUNCTION LOAD/FLUSH/DELETE/
	// RESTORE, SCRIPT EXISTS/KILL, MEMORY PURGE); the server's tip is
	// request_policy:all_shards. Array replies concatenate (KEYS) unless a
	// merge flag says otherwise. go-redis v9.7.3's ClusterClient broadcasts
	// only DBSIZE (summed over primaries) and SCRIPT LOAD, FLUSH and EXISTS
	// (to every node, EXISTS AND-ed); it sends the others to one node.
	FlagAllPrimaries

	// FlagAllNodes marks a keyless command that must reach every node,
	// replicas included (SCRIPT LOAD, SCRIPT FLUSH, CONFIG SET); the server's
	// tip is request_policy:all_nodes.
	FlagAllNodes

	// FlagPubSub marks the publish/subscribe family. PUBLISH is keyless
	// because the cluster bus broadcasts it; SPUBLISH and SSUBSCRIBE carry a
	// shard channel that hashes like a key.
	FlagPubSub

	// FlagSplittable marks a multi-key command whose keys a client may
	// split by slot into several commands and merge the replies (MGET, MSET,
	// DEL, EXISTS, UNLINK, TOUCH); the server's tip is
	// request_policy:multi_shard. Array replies (MGET) go back together in
	// the order of the keys.
	FlagSplittable

	// FlagMergeSum says the replies of a split or broadcast command add up
	// (DBSIZE, DEL, EXISTS); the server's tip is response_policy:agg_sum.
	FlagMergeSum

	// FlagMergeMin says the merged reply is the smallest one (WAIT, MSETNX);
	// the server's tip is response_policy:agg_min.
	FlagMergeMin

	// FlagMergeAnd says array replies merge element-wise with a logical AND
	// (SCRIPT EXISTS); the server's tip is response_policy:agg_logical_and.
	FlagMergeAnd

	// FlagOneSucceeded says a broadcast succeeds when any node succeeds
	// (SCRIPT KILL, FUNCTION KILL: only the node running the script can
	// kill it). Without it a broadcast succeeds only when all nodes do, and
	// array replies concatenate (KEYS).
	FlagOneSucceeded

	// FlagConnection marks a command that changes the state of the
	// connection rather than data (AUTH, HELLO, SELECT, READONLY, ASKING,
	// MULTI, EXEC, WATCH): it must go down the connection its neighbours
	// use and cannot be re-sent elsewhere on its own.
	FlagConnection
)

// Keys appends to dst the indexes in args of the keys of the command args
// describes, and returns the command's flags. args[0] is the command name,
// matched without regard to case; for container commands ("OBJECT ENCODING
// key", "XINFO STREAM key", "MEMORY USAGE key") args[1] names the
// subcommand. Arguments are in go-redis's Cmder.Args() form: strings,
// []byte, numbers and whatever else go-redis writes.
//
// ok is false when the command is known neither to the static table nor to
// DefaultTable's learned key specs. A command may have no keys in the
// form given although its flags do not say keyless (EVAL with numkeys 0):
// any node serves it. A malformed one (a numkeys count beyond the
// arguments, no STREAMS keyword) yields no keys from the malformed part,
// never a position outside args; the server rejects it wherever it goes.
// Keys does not allocate when dst has room for the keys.
func Keys(dst []int, args []any) (idx []int, flags Flags, ok bool) {
	return DefaultTable.Keys(dst, args)
}

// KeysStrings is Keys for arguments held as strings, the form a server-side
// hook (the fake cluster's) receives.
func KeysStrings(dst []int, args []string) (idx []int, flags Flags, ok bool) {
	return DefaultTable.KeysStrings(dst, args)
}

// Keys is the package-level Keys on t's static and learned commands.
func (t *Table) Keys(dst []int, args []any) ([]int, Flags, bool) {
	return keysOf(t, dst, anyArgs(args))
}

// KeysStrings is the package-level KeysStrings on t's static and learned
// commands.
func (t *Table) KeysStrings(dst []int, args []string) ([]int, Flags, bool) {
	return keysOf(t, dst, stringArgs(args))
}

// Flags returns the flags of the command args (name first) on t's static
// and learned commands; ok is false for a command t does not know. It
// does not allocate.
func (t *Table) Flags(args []any) (Flags, bool) {
	c := lookup(t, anyArgs(args))
	if c == nil {
		return 0, false
	}
	return c.flags, true
}

// FlagsOf is Table.Flags on DefaultTable: what the command table says
// of a command (read-only, write, blocking, ...), the one place the project
// keeps such facts.
func FlagsOf(args []any) (Flags, bool) { return DefaultTable.Flags(args) }

func keysOf[A argList](t *Table, dst []int, args A) ([]int, Flags, bool) {
	c := lookup(t, args)
	if c == nil {
		return dst, 0, false
	}
	return commandKeys(c, dst, args), c.flags, true
}

// commandKeys appends the positions of c's keys in args.
func commandKeys[A argList](c *command, dst []int, args A) []int {
	switch c.proc {
	case procSort:
		dst = sortKeys(dst, args)
	case procMigrate:
		dst = migrateKeys(dst, args)
	case procGeoStore:
		dst = geoStoreKeys(dst, args)
	default:
		for i := range c.specs {
			dst = specKeys(dst, &c.specs[i], args)
		}
	}
	return dst
}

// lookup returns the command args describes: the subcommand's entry for a
// container command, the container's own entry when it has one layout for
// all its subcommands (CLUSTER, CONFIG), and nil when the command is known
// neither to the static table nor to what t learned.
func lookup[A argList](t *Table, args A) *command {
	if len(args) == 0 {
		return nil
	}
	name, _ := args.text(0)
	learned := *t.learned.Load()
	c := staticCommands.find(name)
	if c == nil {
		if c = learned.find(name); c == nil {
			return nil
		}
	}
	if c.subs == nil {
		return c
	}
	if len(args) > 1 {
		sub, _ := args.text(1)
		if s := c.subs.find(sub); s != nil {
			return s
		}
		if s := learned.findSub(name, sub); s != nil {
			return s
		}
	}
	if c.anySub {
		return c
	}
	return nil
}
