package command

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type keysCase struct {
	line string // the command, split on spaces; '' is an empty argument
	want []int  // key positions
}

func split(line string) []string {
	args := strings.Fields(line)
	for i, a := range args {
		if a == "''" {
			args[i] = ""
		}
	}
	return args
}

func toAny(args []string) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

func k(i ...int) []int { return append([]int{}, i...) }

// checkKeys runs each case through both forms of Keys, and through Keys
// with the arguments as []byte.
func checkKeys(t *testing.T, cases []keysCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			args := split(tc.line)
			got, _, ok := KeysStrings(nil, args)
			require.True(t, ok, "command not known")
			assert.Equal(t, tc.want, append([]int{}, got...), "KeysStrings")

			got, _, ok = Keys(nil, toAny(args))
			require.True(t, ok, "command not known")
			assert.Equal(t, tc.want, append([]int{}, got...), "Keys")

			bytes := make([]any, len(args))
			for i, a := range args {
				bytes[i] = []byte(a)
			}
			got, _, ok = Keys(nil, bytes)
			require.True(t, ok, "command not known")
			assert.Equal(t, tc.want, append([]int{}, got...), "Keys on []byte")
		})
	}
}

func TestKeysStrings(t *testing.T) {
	checkKeys(t, []keysCase{
		{"GET a", k(1)},
		{"get a", k(1)},
		{"gEt a", k(1)},
		{"SET a 1 EX 10 GET", k(1)},
		{"GETRANGE a 0 -1", k(1)},
		{"LCS a b", k(1, 2)},
		{"MSET a 1 b 2 c 3", k(1, 3, 5)},
		{"MSETNX a 1 b 2", k(1, 3)},
		{"MGET a b c", k(1, 2, 3)},
		{"GETEX a PERSIST", k(1)},
	})
}

func TestKeysBitmaps(t *testing.T) {
	checkKeys(t, []keysCase{
		{"BITOP AND dst a b c", k(2, 3, 4, 5)},
		{"BITOP NOT dst a", k(2, 3)},
		{"BITFIELD a GET u8 0 SET u8 0 1", k(1)},
		{"BITFIELD_RO a GET u8 0", k(1)},
		{"BITCOUNT a 0 -1", k(1)},
		{"SETBIT a 7 1", k(1)},
	})
}

func TestKeysHashes(t *testing.T) {
	checkKeys(t, []keysCase{
		{"HSET h f v g w", k(1)},
		{"HGETALL h", k(1)},
		{"HMGET h f g", k(1)},
		{"HEXPIRE h 10 FIELDS 2 f g", k(1)},
		{"HGETEX h PERSIST FIELDS 1 f", k(1)},
	})
}

func TestKeysLists(t *testing.T) {
	checkKeys(t, []keysCase{
		{"LPUSH l a b", k(1)},
		{"BLPOP a b c 0", k(1, 2, 3)},
		{"BRPOP a 1.5", k(1)},
		{"BRPOPLPUSH a b 0", k(1, 2)},
		{"RPOPLPUSH a b", k(1, 2)},
		{"LMOVE a b LEFT RIGHT", k(1, 2)},
		{"BLMOVE a b LEFT RIGHT 0", k(1, 2)},
		{"LMPOP 2 a b LEFT COUNT 3", k(2, 3)},
		{"BLMPOP 0 3 a b c RIGHT", k(3, 4, 5)},
	})
}

func TestKeysSets(t *testing.T) {
	checkKeys(t, []keysCase{
		{"SADD s a b", k(1)},
		{"SMOVE a b m", k(1, 2)},
		{"SUNIONSTORE dst a b", k(1, 2, 3)},
		{"SINTERSTORE dst a", k(1, 2)},
		{"SDIFF a b c", k(1, 2, 3)},
		{"SINTERCARD 2 a b LIMIT 3", k(2, 3)},
	})
}

func TestKeysSortedSets(t *testing.T) {
	checkKeys(t, []keysCase{
		{"ZADD z 1 a", k(1)},
		{"ZUNIONSTORE dst 2 a b WEIGHTS 1 2", k(1, 3, 4)},
		{"ZINTERSTORE dst 1 a", k(1, 3)},
		{"ZDIFFSTORE dst 3 a b c", k(1, 3, 4, 5)},
		{"ZUNION 2 a b WITHSCORES", k(2, 3)},
		{"ZINTER 1 a", k(2)},
		{"ZDIFF 2 a b", k(2, 3)},
		{"ZINTERCARD 2 a b", k(2, 3)},
		{"ZMPOP 1 a MIN", k(2)},
		{"BZMPOP 0 2 a b MAX", k(3, 4)},
		{"BZPOPMIN a b 0", k(1, 2)},
		{"ZRANGESTORE dst src 0 -1", k(1, 2)},
	})
}

func TestKeysGeo(t *testing.T) {
	checkKeys(t, []keysCase{
		{"GEOADD g 13.3 38.1 m", k(1)},
		{"GEORADIUS g 15 37 200 km", k(1)},
		{"GEORADIUS g 15 37 200 km STORE dst", k(1, 7)},
		{"GEORADIUS g 15 37 200 km STOREDIST dst", k(1, 7)},
		{"GEORADIUS g 15 37 200 km STORE d1 STOREDIST dst", k(1, 9)},
		{"GEORADIUS g 15 37 200 km STORE", k(1)},
		{"GEORADIUSBYMEMBER g m 100 km STORE dst", k(1, 6)},
		{"GEORADIUS_RO g 15 37 200 km", k(1)},
		{"GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km", k(1, 2)},
	})
}

func TestKeysHyperLogLog(t *testing.T) {
	checkKeys(t, []keysCase{
		{"PFADD h a", k(1)},
		{"PFCOUNT a b c", k(1, 2, 3)},
		{"PFMERGE dst a b", k(1, 2, 3)},
	})
}

func TestKeysStreams(t *testing.T) {
	checkKeys(t, []keysCase{
		{"XADD s * f v", k(1)},
		{"XREAD STREAMS a b 0 0", k(2, 3)},
		{"XREAD COUNT 2 BLOCK 0 STREAMS a $", k(6)},
		{"xread streams a 0", k(2)},
		{"XREADGROUP GROUP g c STREAMS a >", k(5)},
		{"XREADGROUP GROUP streams c COUNT 1 STREAMS a b > >", k(7, 8)},
		{"XREAD STREAMS", k()},
		{"XINFO STREAM s FULL", k(2)},
		{"XINFO CONSUMERS s g", k(2)},
		{"XGROUP CREATE s g $", k(2)},
		{"XAUTOCLAIM s g c 10 0", k(1)},
	})
}

func TestKeysGeneric(t *testing.T) {
	checkKeys(t, []keysCase{
		{"DEL a b c", k(1, 2, 3)},
		{"UNLINK a", k(1)},
		{"EXISTS a b", k(1, 2)},
		{"TOUCH a b", k(1, 2)},
		{"RENAME a b", k(1, 2)},
		{"RENAMENX a b", k(1, 2)},
		{"COPY a b DB 1", k(1, 2)},
		{"OBJECT ENCODING a", k(2)},
		{"object freq a", k(2)},
		{"MEMORY USAGE a SAMPLES 0", k(2)},
		{"WATCH a b", k(1, 2)},
		{"SORT a", k(1)},
		{"SORT a BY w_* GET # STORE dst", k(1, 7)},
		{"SORT a STORE d1 STORE dst", k(1, 5)},
		{"SORT a BY store GET store LIMIT 0 10", k(1)},
		{"SORT_RO a BY w_*", k(1)},
		{"MIGRATE h 6379 a 0 5000", k(3)},
		{"MIGRATE h 6379 a 0 5000 COPY REPLACE", k(3)},
		{"MIGRATE h 6379 '' 0 5000 KEYS a b", k(7, 8)},
		{"MIGRATE h 6379 '' 0 5000 AUTH keys KEYS a", k(9)},
		{"MIGRATE h 6379 '' 0 5000 AUTH2 keys keys KEYS a", k(10)},
		{"MIGRATE h 6379 a 0 5000 KEYS b", k()},
	})
}

func TestKeysScripts(t *testing.T) {
	checkKeys(t, []keysCase{
		{"EVAL s 2 a b x y", k(3, 4)},
		{"EVAL s 0 x", k()},
		{"EVALSHA s 1 a", k(3)},
		{"EVAL_RO s 1 a x", k(3)},
		{"EVALSHA_RO s 0", k()},
		{"FCALL f 2 a b", k(3, 4)},
		{"FCALL_RO f 1 a", k(3)},
		// A count the arguments cannot hold, or that is no count, finds no
		// keys; the server rejects the command.
		{"EVAL s 3 a b", k()},
		{"EVAL s -1 a", k()},
		{"EVAL s x a", k()},
		{"EVAL s 01 a", k()},
		{"EVAL s", k()},
	})
}

func TestKeysPubSub(t *testing.T) {
	checkKeys(t, []keysCase{
		{"PUBLISH ch m", k()},
		{"SUBSCRIBE a b", k()},
		{"SPUBLISH ch m", k(1)},
		{"SSUBSCRIBE a b", k(1, 2)},
		{"SUNSUBSCRIBE a", k(1)},
	})
}

func TestKeysFlags(t *testing.T) {
	tests := []struct {
		line      string
		has, hasn Flags
	}{
		{"GET a", FlagReadOnly, FlagWrite | FlagKeyless},
		{"SET a b", FlagWrite, FlagReadOnly | FlagKeyless},
		{"BLPOP a 0", FlagWrite | FlagBlocking, 0},
		{"XREAD BLOCK 0 STREAMS a 0", FlagReadOnly | FlagBlocking, 0},
		{"EVAL s 0", FlagWrite, FlagReadOnly},
		{"EVAL_RO s 0", FlagReadOnly, FlagWrite},
		{"PING", FlagKeyless, FlagAllPrimaries},
		{"INFO", FlagKeyless, FlagAllPrimaries},
		{"CLUSTER SLOTS", FlagKeyless, 0},
		{"CLUSTER NO-SUCH-SUBCOMMAND", FlagKeyless, 0},
		{"FLUSHALL", FlagKeyless | FlagAllPrimaries, 0},
		{"KEYS *", FlagKeyless | FlagAllPrimaries, FlagMergeSum},
		{"DBSIZE", FlagKeyless | FlagAllPrimaries | FlagMergeSum, 0},
		{"SCRIPT LOAD s", FlagKeyless | FlagAllNodes, 0},
		{"SCRIPT EXISTS a", FlagAllPrimaries | FlagMergeAnd, 0},
		{"SCRIPT KILL", FlagAllPrimaries | FlagOneSucceeded, 0},
		{"FUNCTION LOAD s", FlagAllPrimaries, 0},
		{"CONFIG SET a b", FlagAllNodes, 0},
		{"MGET a b", FlagSplittable, FlagMergeSum},
		{"MSET a 1", FlagSplittable, 0},
		{"DEL a", FlagSplittable | FlagMergeSum, 0},
		{"EXISTS a", FlagSplittable | FlagMergeSum | FlagReadOnly, 0},
		{"MSETNX a 1", 0, FlagSplittable},
		{"PUBLISH c m", FlagPubSub | FlagKeyless, 0},
		{"SPUBLISH c m", FlagPubSub, FlagKeyless},
		{"MULTI", FlagConnection | FlagKeyless, 0},
		{"WATCH a", FlagConnection, FlagKeyless},
		{"WAIT 1 0", FlagConnection | FlagBlocking, FlagAllPrimaries},
		{"HELLO 3", FlagConnection, 0},
		{"COMMAND", FlagKeyless | FlagReadOnly, 0},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, flags, ok := KeysStrings(nil, split(tt.line))
			require.True(t, ok)
			assert.Equal(t, tt.has, flags&tt.has, "flags %b must include %b", flags, tt.has)
			assert.Zero(t, flags&tt.hasn, "flags %b must not include %b", flags, tt.hasn)
		})
	}
}

func TestKeysUnknown(t *testing.T) {
	for _, args := range [][]any{
		nil,
		{},
		{"NO-SUCH-COMMAND", "a"},
		{"OBJECT"},                 // a container needs its subcommand
		{"OBJECT", "NO-SUCH", "a"}, // with keys in its subcommands, an unknown one is unknown
		{"XINFO", 42},              // the subcommand is no text
		{strings.Repeat("g", 100)}, // longer than any name
		{"ſet", "a", "b"},          // not SET: only ASCII case is ignored
		{42, "a"},                  // the name is no text
		{"GET\x00", "a"},           // names are exact
	} {
		dst := make([]int, 0, 4)
		idx, flags, ok := Keys(dst, args)
		assert.False(t, ok, "%q", args)
		assert.Zero(t, flags)
		assert.Empty(t, idx)
	}
}

func TestKeysAppendsToDst(t *testing.T) {
	dst := []int{99}
	idx, _, ok := KeysStrings(dst, split("MGET a b"))
	require.True(t, ok)
	assert.Equal(t, []int{99, 1, 2}, idx)
}

func TestKeysGoRedisArgTypes(t *testing.T) {
	// go-redis's Eval passes numkeys as an int; other numbers and
	// pointers are written in decimal and read back by the server.
	two, s := int64(2), "2"
	for _, n := range []any{2, int8(2), int16(2), int32(2), int64(2), uint(2), uint8(2), uint16(2),
		uint32(2), uint64(2), float64(2), float32(2), "2", []byte("2"), &two, &s} {
		idx, _, ok := Keys(nil, []any{"eval", "return 1", n, "a", "b"})
		require.True(t, ok)
		assert.Equal(t, []int{3, 4}, idx, "numkeys %T", n)
	}
	for _, n := range []any{2.5, true, nil, struct{}{}, (*int64)(nil), uint64(1 << 63)} {
		idx, _, ok := Keys(nil, []any{"eval", "return 1", n, "a", "b"})
		require.True(t, ok)
		if n == true {
			assert.Equal(t, []int{3}, idx, "numkeys %T", n)
			continue
		}
		assert.Empty(t, idx, "numkeys %T %v", n, n)
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true}, {"7", 7, true}, {"-3", -3, true}, {"123456", 123456, true},
		{"", 0, false}, {"-", 0, false}, {"-0", 0, false}, {"01", 0, false}, {"+1", 0, false},
		{" 1", 0, false}, {"1 ", 0, false}, {"1x", 0, false}, {"99999999999999999999", 1<<31 - 1, true},
	}
	for _, tt := range tests {
		n, ok := parseInt(tt.in)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.Equal(t, tt.want, n, "%q", tt.in)
	}
}
