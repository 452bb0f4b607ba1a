package clustertest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/slotmap"
)

// conn returns a client of one node that keeps a single connection, so
// that per-connection flags (ASKING, READONLY, MULTI) carry between calls.
func conn(t *testing.T, addr string, protocol int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: protocol, PoolSize: 1, MaxRetries: -1, DisableIndentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// reply runs one command and renders its reply or error as text.
func reply(c *redis.Client, args ...any) string {
	v, err := c.Do(context.Background(), args...).Result()
	if err != nil {
		return err.Error()
	}
	return fmt.Sprint(v)
}

// pipeline runs commands in one round trip on one connection and renders
// each reply, as a client sends ASKING with the command it precedes.
func pipeline(t *testing.T, c *redis.Client, cmds ...[]any) []string {
	t.Helper()
	pipe := c.Pipeline()
	out := make([]*redis.Cmd, len(cmds))
	for i, args := range cmds {
		out[i] = pipe.Do(context.Background(), args...)
	}
	_, _ = pipe.Exec(context.Background())
	var got []string
	for _, cmd := range out {
		v, err := cmd.Result()
		if err != nil {
			got = append(got, err.Error())
		} else {
			got = append(got, fmt.Sprint(v))
		}
	}
	return got
}

func args(a ...any) []any { return a }

func TestCrossSlotAndSlotNotServed(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{})
	p0 := conn(t, c.Primary(0), 3)
	k0, k1 := keyOn(t, c, 0), keyOn(t, c, 1)
	tests := []struct {
		name string
		cmd  []any
		want string
	}{
		{"keys of two slots", args("MGET", k0, k1), clustertest.ReplyCrossSlot},
		{"same key twice", args("MGET", k0, k0), "[<nil> <nil>]"},
		{"hash tag keeps one slot", args("MSET", "{b}a", 1, "{b}b", 2), "OK"},
		{"keyless command", args("PING"), "PONG"},
		{"select 0 is allowed", args("SELECT", 0), "OK"},
		{"select 1 is not", args("SELECT", 1), "ERR SELECT is not allowed in cluster mode"},
		{"move is not", args("MOVE", k0, 1), "ERR MOVE is not allowed in cluster mode"},
		{"unknown cluster subcommand", args("CLUSTER", "FOO"), "ERR unknown subcommand 'FOO'. Try CLUSTER HELP."},
		{"keyslot", args("CLUSTER", "KEYSLOT", "foo"), "12182"},
		{"keyslot arity", args("CLUSTER", "KEYSLOT"), "ERR wrong number of arguments for 'cluster|keyslot' command"},
		{"myid", args("CLUSTER", "MYID"), c.NodeID(c.Primary(0))},
	}
	if slotmap.Slot("{b}a") > 5460 {
		t.Fatalf("hash tag {b} is not on shard 0")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, reply(p0, tt.cmd...))
		})
	}

	require.NoError(t, c.DelSlots(0, 100))
	k := ""
	for i := 0; k == ""; i++ {
		if s := slotmap.Slot(fmt.Sprint("x", i)); s <= 100 {
			k = fmt.Sprint("x", i)
		}
	}
	assert.Equal(t, clustertest.ReplySlotNotServed, reply(p0, "GET", k))
	info := reply(p0, "CLUSTER", "INFO")
	assert.Contains(t, info, "cluster_state:fail\r\n")
	assert.Contains(t, info, "cluster_slots_assigned:16283\r\n")
	require.NoError(t, c.AddSlots(c.Primary(1), 0, 100))
	assert.Equal(t, fmt.Sprintf("MOVED %d %s", slotmap.Slot(k), c.Primary(1)), reply(p0, "GET", k))
	assert.Contains(t, reply(p0, "CLUSTER", "INFO"), "cluster_state:ok\r\n")
	assert.Error(t, c.AddSlots(c.Primary(0), 0, 0), "slot 0 has an owner")
	assert.Error(t, c.DelSlots(5, 4))
}

func TestReplicaServesReadsOnlyAfterReadonly(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3, ReplicasPerShard: 1})
	ctx := context.Background()
	key := keyOn(t, c, 1)
	moved := fmt.Sprintf("MOVED %d %s", slotmap.Slot(key), c.Primary(1))
	require.NoError(t, client(t, c.Primary(1), 3).Set(ctx, key, "v", 0).Err())

	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			r := conn(t, c.Replicas(1)[0], proto)
			assert.Equal(t, moved, reply(r, "GET", key), "replica without READONLY")
			assert.Equal(t, "OK", reply(r, "READONLY"))
			assert.Equal(t, "v", reply(r, "GET", key), "the replica holds the primary's data")
			assert.Equal(t, moved, reply(r, "SET", key, "w"), "writes go to the primary")
			assert.Equal(t, fmt.Sprintf("MOVED %d %s", slotmap.Slot(keyOn(t, c, 0)), c.Primary(0)),
				reply(r, "GET", keyOn(t, c, 0)), "another shard's slot")
			// READONLY again in the same round trip: newer go-redis releases
			// drop a connection that received MOVED, and the flag with it.
			assert.Equal(t, []string{"OK", "OK", "QUEUED", "[v]"},
				pipeline(t, r, args("READONLY"), args("MULTI"), args("GET", key), args("EXEC")))
			assert.Equal(t, "OK", reply(r, "READWRITE"))
			assert.Equal(t, moved, reply(r, "GET", key))
		})
	}
}

func TestMultiWithRedirectedCommandAborts(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{})
	p0 := conn(t, c.Primary(0), 3)
	k0, k1 := keyOn(t, c, 0), keyOn(t, c, 1)
	got := pipeline(t, p0, args("MULTI"), args("SET", k0, 1), args("SET", k1, 1), args("EXEC"))
	assert.Equal(t, []string{"OK", "QUEUED", fmt.Sprintf("MOVED %d %s", slotmap.Slot(k1), c.Primary(1)), clustertest.ReplyExecAbort}, got)
	assert.Equal(t, "redis: nil", reply(p0, "GET", k0), "nothing of the transaction ran")

	got = pipeline(t, p0, args("MULTI"), args("SET", k0, 2), args("EXEC"))
	assert.Equal(t, []string{"OK", "QUEUED", "[OK]"}, got, "the connection is usable after EXECABORT")

	// EXEC checks the queued keys again: a slot that moved while the
	// client queued fails the whole transaction with MOVED.
	assert.Equal(t, "OK", reply(p0, "MULTI"))
	assert.Equal(t, "QUEUED", reply(p0, "INCR", k0))
	require.NoError(t, c.MigrateSlot(slotmap.Slot(k0), c.Primary(2)))
	assert.Equal(t, fmt.Sprintf("MOVED %d %s", slotmap.Slot(k0), c.Primary(2)), reply(p0, "EXEC"))
	assert.Equal(t, "2", reply(conn(t, c.Primary(2), 3), "GET", k0), "INCR did not run; the key moved with its value")
	assert.Equal(t, c.Counters().Redirects["EXECABORT"], int64(1))
}

func TestProtocolErrorClosesConnection(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	got := rawExchange(t, c.Primary(0), "*1\r\n+PING\r\n")
	assert.Equal(t, "-ERR Protocol error: expected '$', got '+'\r\n", got)
	assert.Equal(t, "+PONG\r\n", rawExchange(t, c.Primary(0), "PING\r\n"), "inline commands work")
}
