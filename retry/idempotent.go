package retry

// Idempotent reports whether running the command args (go-redis's
// Cmd.Args(): name first) twice is as good as running it once, so a copy
// that may have run can be sent again under InDoubtIdempotent. It does not
// allocate. Reads come from the command table (ReadOnly); the writes that
// repeat harmlessly are listed here, as doc.go writes them out:
//
//   - reads are idempotent (GET, MGET, HGETALL, ZRANGE, SCAN, ..., XREAD
//     without BLOCK, SORT and GEORADIUS without STORE; read subcommands of CLUSTER,
//     OBJECT, XINFO, MEMORY, COMMAND, CONFIG GET, PUBSUB, FUNCTION LIST).
//     Reads with a side effect are not: XREADGROUP, BLPOP, SPOP, GETDEL.
//   - a write is idempotent when a second run leaves the same data and
//     gives the same reply: SET with only EX/PX/EXAT/PXAT/KEEPTTL/XX, SETEX,
//     PSETEX, MSET, HMSET, LSET, SETRANGE, GETEX, EXPIRE/PEXPIRE/EXPIREAT/
//     PEXPIREAT without options, SCRIPT LOAD. SET NX or GET, DEL (1 then
//     0), HSET and SADD (counts), INCR, LPUSH, XADD, EVAL, FCALL are not.
//   - anything not in the table (including MULTI/EXEC) is not.
//
// Relative expiries (SET EX, EXPIRE) count as idempotent: the repeat moves
// the expiry later by the time between the two runs, as a slower first
// attempt would have.
func Idempotent(args []any) bool {
	if len(args) == 0 {
		return false
	}
	var buf [maxName]byte
	name, ok := lower(buf[:0], args[0])
	if !ok {
		return false
	}
	if ReadOnly(args) {
		return true
	}
	switch commands[string(name)] {
	case idWrite:
		return true
	case idSet:
		return setIdempotent(args)
	case idBare:
		// EXPIRE key seconds: with NX, XX, GT or LT the second run may
		// answer 0 where the first answered 1.
		return len(args) == 3
	case idNoBlock:
		for _, a := range args[1:] {
			if is(a, "block") {
				return false
			}
		}
		return true
	case idNoStore:
		for _, a := range args[1:] {
			if is(a, "store") || is(a, "storedist") {
				return false
			}
		}
		return true
	case idSub:
		if len(args) < 2 {
			return false
		}
		full, ok := lower(append(name, '|'), args[1])
		return ok && subcommands[string(full)]
	}
	return false
}

// setIdempotent reports whether SET key value [options] repeats safely:
// only options that neither make the second run answer differently (NX,
// GET, IFEQ, ...) nor are unknown to this table.
func setIdempotent(args []any) bool {
	if len(args) < 3 {
		return false
	}
	for i := 3; i < len(args); {
		var buf [maxName]byte
		opt, _ := lower(buf[:0], args[i])
		switch string(opt) {
		case "ex", "px", "exat", "pxat":
			i += 2
		case "keepttl", "xx":
			i++
		default:
			return false
		}
	}
	return true
}

// maxName bounds the command names, subcommands and options looked up;
// longer words are in no table.
const maxName = 48

// lower appends the ASCII lower case of a (a string or []byte) to dst; ok
// is false for other types and for words too long for any table.
func lower(dst []byte, a any) (_ []byte, ok bool) {
	switch v := a.(type) {
	case string:
		if len(dst)+len(v) > maxName {
			return dst, false
		}
		for i := 0; i < len(v); i++ {
			dst = append(dst, lowerByte(v[i]))
		}
	case []byte:
		if len(dst)+len(v) > maxName {
			return dst, false
		}
		for _, c := range v {
			dst = append(dst, lowerByte(c))
		}
	default:
		return dst, false
	}
	return dst, true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// is reports whether a is the word w (lower case), ignoring case.
func is(a any, w string) bool {
	var buf [maxName]byte
	b, ok := lower(buf[:0], a)
	return ok && string(b) == w
}

type idClass uint8

const (
	idNo      idClass = iota // not idempotent (and every command not listed)
	idWrite                  // same data and same reply when run twice
	idSet                    // SET: depends on its options
	idBare                   // idempotent only without options (EXPIRE family)
	idNoStore                // a read unless it has a STORE/STOREDIST option
	idNoBlock                // a read unless it has a BLOCK option (XREAD)
	idSub                    // depends on the subcommand (see subcommands)
)

// commands lists the writes that repeat harmlessly, and the commands whose
// answer depends on their arguments; reads are the command table's
// (ReadOnly).
var commands = map[string]idClass{
	"xread": idNoBlock,

	"sort": idNoStore, "georadius": idNoStore, "georadiusbymember": idNoStore,

	"set":   idSet,
	"setex": idWrite, "psetex": idWrite, "mset": idWrite, "hmset": idWrite, "lset": idWrite,
	"setrange": idWrite, "getex": idWrite,
	// connection state the cluster protocol itself sends
	"asking": idWrite, "readonly": idWrite, "readwrite": idWrite,

	"expire": idBare, "pexpire": idBare, "expireat": idBare, "pexpireat": idBare,

	"cluster": idSub, "object": idSub, "xinfo": idSub, "memory": idSub, "command": idSub,
	"config": idSub, "script": idSub, "function": idSub, "pubsub": idSub,
}

// subcommands lists the idempotent "command|subcommand" pairs of idSub
// commands.
var subcommands = map[string]bool{
	"cluster|info": true, "cluster|nodes": true, "cluster|slots": true, "cluster|shards": true,
	"cluster|myid": true, "cluster|myshardid": true, "cluster|keyslot": true,
	"cluster|countkeysinslot": true, "cluster|getkeysinslot": true, "cluster|links": true,
	"cluster|replicas": true, "cluster|slaves": true, "cluster|count-failure-reports": true,
	"object|encoding": true, "object|freq": true, "object|idletime": true, "object|refcount": true,
	"xinfo|stream": true, "xinfo|groups": true, "xinfo|consumers": true,
	"memory|usage": true, "memory|stats": true, "memory|doctor": true,
	"command|count": true, "command|docs": true, "command|info": true, "command|list": true,
	"command|getkeys": true, "command|getkeysandflags": true,
	"config|get":    true,
	"script|exists": true, "script|load": true,
	"function|list": true, "function|dump": true, "function|stats": true,
	"pubsub|channels": true, "pubsub|numsub": true, "pubsub|numpat": true,
	"pubsub|shardchannels": true, "pubsub|shardnumsub": true,
}
