package command

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startServer starts a standalone redis-server on a free loopback port for
// this test, when CLUSTERHOP_INTEGRATION=1, and stops it when the test ends.
// Without the variable it skips with a notice; without a server binary it
// skips too, except under CI=true, where it fails.
func startServer(t *testing.T) *redis.Client {
	t.Helper()
	if os.Getenv("CLUSTERHOP_INTEGRATION") != "1" {
		t.Skip("NOTICE: integration test skipped: set CLUSTERHOP_INTEGRATION=1 to compare the command table with a real redis-server")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("integration tests must run under CI=true: %v (scripts/ensure-server.sh installs redis-server)", err)
		}
		t.Skipf("NOTICE: integration test skipped: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	t.Cleanup(func() { _ = c.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(ctx).Err() != nil {
		require.True(t, time.Now().Before(deadline), "redis-server on port %d did not answer within 10s", port)
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// serverKeys returns the key names the server finds in args with COMMAND
// GETKEYS; none for a command it says has no keys.
func serverKeys(ctx context.Context, c *redis.Client, args []string) ([]string, error) {
	if len(args) == 1 {
		// COMMAND GETKEYS needs an argument; no command without one has keys.
		return []string{}, nil
	}
	keys, err := c.CommandGetKeys(ctx, toAny(args)...).Result()
	if err != nil && strings.Contains(err.Error(), "no key arguments") {
		return []string{}, nil
	}
	return keys, err
}

func namesAt(args []string, idx []int) []string {
	out := []string{}
	for _, i := range idx {
		out = append(out, args[i])
	}
	return out
}

// getkeysLines are sample command lines per family; key names are distinct
// from every other argument so that the server's key names pin positions.
var getkeysLines = []string{
	// strings
	"GET k1", "SET k1 v EX 10 GET", "MSET k1 v1 k2 v2 k3 v3", "MGET k1 k2 k3", "MSETNX k1 v k2 v",
	"LCS k1 k2 LEN", "GETEX k1 PERSIST", "INCRBY k1 5", "SETRANGE k1 0 v", "SUBSTR k1 0 1",
	// bitmaps
	"BITOP AND dst k1 k2 k3", "BITOP NOT dst k1", "BITFIELD k1 GET u8 0", "BITFIELD_RO k1 GET u8 0", "BITCOUNT k1", "SETBIT k1 1 1",
	// hashes
	"HSET k1 f v f2 v2", "HGETALL k1", "HMGET k1 f g", "HINCRBYFLOAT k1 f 1.5", "HRANDFIELD k1 2 WITHVALUES",
	// lists
	"LPUSH k1 a b", "LRANGE k1 0 -1", "BLPOP k1 k2 k3 0", "BRPOP k1 0", "BRPOPLPUSH k1 k2 0", "RPOPLPUSH k1 k2",
	"LMOVE k1 k2 LEFT RIGHT", "BLMOVE k1 k2 LEFT RIGHT 0", "LMPOP 2 k1 k2 LEFT COUNT 2", "BLMPOP 0 2 k1 k2 LEFT",
	"LPOS k1 a RANK 1",
	// sets
	"SADD k1 a b", "SMOVE k1 k2 a", "SUNIONSTORE dst k1 k2", "SINTER k1 k2 k3", "SDIFFSTORE dst k1", "SINTERCARD 2 k1 k2 LIMIT 5",
	"SMISMEMBER k1 a b",
	// sorted sets
	"ZADD k1 1 a", "ZRANGE k1 0 -1 WITHSCORES", "ZRANGESTORE dst k1 0 -1", "ZUNIONSTORE dst 2 k1 k2 WEIGHTS 1 2",
	"ZINTERSTORE dst 3 k1 k2 k3", "ZDIFFSTORE dst 2 k1 k2", "ZUNION 2 k1 k2 WITHSCORES", "ZINTER 2 k1 k2", "ZDIFF 1 k1",
	"ZINTERCARD 2 k1 k2", "ZMPOP 2 k1 k2 MIN", "BZMPOP 0 2 k1 k2 MAX COUNT 2", "BZPOPMIN k1 k2 0", "BZPOPMAX k1 0",
	// geo
	"GEOADD k1 13.3 38.1 m", "GEORADIUS k1 15 37 200 km STORE dst", "GEORADIUS k1 15 37 200 km STOREDIST dst WITHDIST",
	"GEORADIUS k1 15 37 200 km", "GEORADIUSBYMEMBER k1 m 100 km STORE dst", "GEORADIUS_RO k1 15 37 200 km",
	"GEOSEARCH k1 FROMMEMBER m BYRADIUS 1 km", "GEOSEARCHSTORE dst k1 FROMMEMBER m BYRADIUS 1 km STOREDIST", "GEODIST k1 a b",
	// hyperloglog
	"PFADD k1 a", "PFCOUNT k1 k2 k3", "PFMERGE dst k1 k2",
	// streams
	"XADD k1 * f v", "XRANGE k1 - +", "XREAD COUNT 2 STREAMS k1 k2 0 0", "XREAD BLOCK 0 STREAMS k1 $",
	"XREADGROUP GROUP g c COUNT 1 STREAMS k1 k2 > >", "XINFO STREAM k1", "XINFO GROUPS k1", "XINFO CONSUMERS k1 g",
	"XGROUP CREATE k1 g $ MKSTREAM", "XGROUP DESTROY k1 g", "XACK k1 g 1-0", "XAUTOCLAIM k1 g c 10 0", "XTRIM k1 MAXLEN 10",
	// keys of any type
	"DEL k1 k2 k3", "UNLINK k1 k2", "EXISTS k1 k2", "TOUCH k1 k2", "RENAME k1 k2", "RENAMENX k1 k2", "COPY k1 k2 REPLACE",
	"EXPIRE k1 10", "TTL k1", "TYPE k1", "DUMP k1", "OBJECT ENCODING k1", "OBJECT FREQ k1", "MEMORY USAGE k1 SAMPLES 5",
	"SORT k1", "SORT k1 BY w_* LIMIT 0 10 GET o_* STORE dst", "SORT k1 STORE d1 STORE dst", "SORT_RO k1 BY w_*",
	"MIGRATE h 6379 k1 0 5000", "MIGRATE h 6379 '' 0 5000 KEYS k1 k2", "MIGRATE h 6379 '' 0 5000 COPY REPLACE AUTH p KEYS k1",
	"MIGRATE h 6379 '' 0 5000 AUTH2 u p KEYS k1 k2", "WATCH k1 k2", "RESTORE k1 0 x", "MOVE k1 1", "PERSIST k1",
	// scripts and functions
	"EVAL s 2 k1 k2 a1 a2", "EVAL s 0", "EVALSHA s 1 k1", "EVAL_RO s 1 k1 a", "EVALSHA_RO s 2 k1 k2",
	"FCALL f 2 k1 k2 a", "FCALL_RO f 1 k1",
	// pub/sub
	"SPUBLISH k1 m", "SSUBSCRIBE k1 k2", "SUNSUBSCRIBE k1", "PUBLISH chan m",
	// keyless
	"PING", "ECHO x", "INFO", "DBSIZE", "KEYS *", "SCAN 0", "RANDOMKEY", "FLUSHALL", "TIME", "CLUSTER INFO",
	"CLUSTER KEYSLOT x", "CONFIG GET maxmemory", "CLIENT ID", "SCRIPT LOAD s", "FUNCTION LIST", "COMMAND COUNT",
	"HELLO 3", "SELECT 0", "MULTI", "EXEC", "WAIT 0 0", "LATENCY LATEST", "SLOWLOG GET",
}

func TestKeysMatchServerGetKeys(t *testing.T) {
	c := startServer(t)
	ctx := context.Background()
	for _, line := range getkeysLines {
		t.Run(line, func(t *testing.T) {
			args := split(line)
			want, err := serverKeys(ctx, c, args)
			require.NoError(t, err)
			if shardChannels(args[0]) {
				// The server does not call shard channels keys, but they
				// hash to slots like keys and route the same way.
				want = args[1:]
				if strings.EqualFold(args[0], "spublish") {
					want = args[1:2]
				}
			}
			idx, flags, ok := KeysStrings(nil, args)
			require.True(t, ok, "command not known")
			assert.Equal(t, want, namesAt(args, idx))
			assert.Equal(t, len(want) == 0, flags&FlagKeyless != 0 || len(idx) == 0, "FlagKeyless")
		})
	}
}

// moreFlags are flags the static table adds to the server's: WAIT blocks
// until its timeout although the server does not flag it blocking.
var moreFlags = map[string]Flags{"wait": FlagBlocking}

// TestStaticTableMatchesCommandInfo checks every static command against the
// key specs and flags the server reports for it.
func TestStaticTableMatchesCommandInfo(t *testing.T) {
	c := startServer(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			pc := redis.NewClient(&redis.Options{Addr: c.Options().Addr, Protocol: proto})
			defer pc.Close()
			reply, err := pc.Do(ctx, "command", "info").Result()
			require.NoError(t, err)
			entries, ok := reply.([]any)
			require.True(t, ok)
			var names []string
			for _, e := range entries {
				names = append(names, strings.ToLower(e.([]any)[0].(string)))
			}
			learned, err := parseCommandInfo(reply, names)
			require.NoError(t, err)
			require.NotEmpty(t, learned)
			for name, lc := range learned {
				top, sub, isSub := strings.Cut(name, "|")
				sc := staticCommands.find(top)
				if isSub && sc != nil {
					sc = sc.subs.find(sub)
				}
				if !assert.NotNil(t, sc, "%s is missing from the static table", name) {
					continue
				}
				if sc.proc == procSpecs {
					assert.Equal(t, lc.specs, sc.specs, "%s: key specs", name)
				}
				const same = FlagBlocking | FlagPubSub | FlagKeyless
				assert.Equal(t, lc.flags&same, sc.flags&same&^moreFlags[name], "%s: flags", name)
				// The table may call more keyless commands read-only than the
				// server does (CLUSTER INFO), never fewer; and writes stay writes.
				if lc.flags&FlagReadOnly != 0 {
					assert.NotZero(t, sc.flags&FlagReadOnly, "%s: read-only", name)
				}
				if lc.flags&FlagWrite != 0 {
					assert.NotZero(t, sc.flags&FlagWrite, "%s: write", name)
				}
			}
		})
	}
}

func TestLearnFromServer(t *testing.T) {
	c := startServer(t)
	ctx := context.Background()
	tb := NewTable()
	// Static commands are not fetched; the unknown one is remembered as such.
	require.NoError(t, tb.Learn(ctx, c, "GET", "xinfo|stream", "no-such-command"))
	learned := *tb.learned.Load()
	assert.Len(t, learned, 1)
	v, ok := learned["no-such-command"]
	assert.True(t, ok)
	assert.Nil(t, v)

	// Every server command, learned, finds the keys the server finds.
	all, err := c.Command(ctx).Result()
	require.NoError(t, err)
	var names []string
	for n := range all {
		names = append(names, n)
	}
	fresh := NewTable()
	require.NoError(t, fetchAll(ctx, fresh, c, names))
	for _, line := range getkeysLines {
		args := split(line)
		lc := (*fresh.learned.Load()).find(args[0])
		if lc != nil && lc.subs != nil {
			lc = lc.subs.find(strings.ToLower(args[1]))
		}
		require.NotNil(t, lc, line)
		if lc.proc != procSpecs || isCodeKeyed(args[0]) || shardChannels(args[0]) {
			continue
		}
		want, err := serverKeys(ctx, c, args)
		require.NoError(t, err)
		assert.Equal(t, want, namesAt(args, commandKeys(lc, nil, stringArgs(args))), line)
	}
}

func shardChannels(name string) bool {
	switch strings.ToLower(name) {
	case "spublish", "ssubscribe", "sunsubscribe":
		return true
	}
	return false
}

// isCodeKeyed reports whether the server finds the command's keys with code
// rather than from its key specs alone, so that learned specs cannot match.
func isCodeKeyed(name string) bool {
	switch strings.ToLower(name) {
	case "sort", "migrate", "georadius", "georadiusbymember":
		return true
	}
	return false
}

// fetchAll learns names regardless of the static table, to test the
// parser on every command the server has.
func fetchAll(ctx context.Context, tb *Table, c *redis.Client, names []string) error {
	return tb.fetch(ctx, c, names)
}
