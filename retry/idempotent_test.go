package retry

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIdempotent(t *testing.T) {
	tests := []struct {
		args []any
		want bool
	}{
		{[]any{"get", "k"}, true},
		{[]any{"GET", "k"}, true},
		{[]any{[]byte("Get"), "k"}, true},
		{[]any{"mget", "a", "b"}, true},
		{[]any{"hgetall", "h"}, true},
		{[]any{"zrange", "z", 0, -1, "withscores"}, true},
		{[]any{"xread", "count", 1, "streams", "s", "0"}, true},
		{[]any{"scan", 0, "match", "k*"}, true},
		{[]any{"ping"}, true},
		{[]any{"xreadgroup", "group", "g", "c", "streams", "s", ">"}, false},
		{[]any{"blpop", "l", 0}, false},
		{[]any{"spop", "s"}, false},
		{[]any{"getdel", "k"}, false},

		{[]any{"set", "k", "v"}, true},
		{[]any{"set", "k", "v", "ex", 10}, true},
		{[]any{"set", "k", "v", "PX", 10, "XX"}, true},
		{[]any{"set", "k", "v", "keepttl"}, true},
		{[]any{"set", "k", "v", "exat", 1700000000}, true},
		{[]any{"set", "k", "v", "nx"}, false},
		{[]any{"set", "k", "v", "ex", 10, "nx"}, false},
		{[]any{"set", "k", "v", "get"}, false},
		{[]any{"set", "k", "v", "ifeq", "old"}, false},
		{[]any{"set", "k", "v", 7}, false},
		{[]any{"set", "k"}, false},
		{[]any{"setex", "k", 10, "v"}, true},
		{[]any{"mset", "a", 1, "b", 2}, true},
		{[]any{"msetnx", "a", 1}, false},
		{[]any{"hmset", "h", "f", "v"}, true},
		{[]any{"hset", "h", "f", "v"}, false},
		{[]any{"getex", "k", "persist"}, true},

		{[]any{"expire", "k", 10}, true},
		{[]any{"expire", "k", 10, "nx"}, false},
		{[]any{"pexpireat", "k", 1700000000000}, true},
		{[]any{"persist", "k"}, false},

		{[]any{"sort", "l", "limit", 0, 10}, true},
		{[]any{"sort", "l", "store", "dst"}, false},
		{[]any{"georadius", "g", 0, 0, 10, "km"}, true},
		{[]any{"georadius", "g", 0, 0, 10, "km", "STOREDIST", "d"}, false},

		{[]any{"cluster", "slots"}, true},
		{[]any{"CLUSTER", "SHARDS"}, true},
		{[]any{"cluster", "failover"}, false},
		{[]any{"cluster"}, false},
		{[]any{"script", "load", "return 1"}, true},
		{[]any{"script", "flush"}, false},
		{[]any{"config", "get", "maxmemory"}, true},
		{[]any{"config", "set", "maxmemory", "1"}, false},
		{[]any{"object", "encoding", "k"}, true},
		{[]any{"cluster", 1}, false},

		{[]any{"incr", "k"}, false},
		{[]any{"lpush", "l", "x"}, false},
		{[]any{"del", "k"}, false},
		{[]any{"sadd", "s", "m"}, false},
		{[]any{"xadd", "s", "*", "f", "v"}, false},
		{[]any{"eval", "return 1", 0}, false},
		{[]any{"evalsha_ro", "abc", 0}, true},
		{[]any{"multi"}, false},
		{[]any{"exec"}, false},
		{[]any{"publish", "c", "m"}, false},
		{[]any{"a-command-name-far-longer-than-any-command-redis-has"}, false},
		{[]any{42}, false},
		{[]any{}, false},
		{nil, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Idempotent(tt.args), "%v", tt.args)
	}
}

func TestIdempotentAllocatesNothing(t *testing.T) {
	for _, args := range [][]any{
		{"get", "k"},
		{"SET", "k", "v", "EX", 10, "XX"},
		{"cluster", "slots"},
		{"sort", "l", "store", "d"},
		{[]byte("HGETALL"), "h"},
	} {
		allocs := testing.AllocsPerRun(100, func() { Idempotent(args) })
		assert.Zero(t, allocs, "%v", args)
	}
}
