package clustertest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
)

func TestCommandInfoAsRedis70(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 1})
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			cl := client(t, c.Primary(0), proto)
			all, err := cl.Command(ctx).Result()
			require.NoError(t, err)
			get := all["get"]
			require.NotNil(t, get)
			assert.Equal(t, int8(1), get.FirstKeyPos)
			assert.True(t, get.ReadOnly)
			assert.Contains(t, get.ACLFlags, "@read")
			require.Contains(t, all, "cluster")
			require.Contains(t, all, "asking")

			n, err := cl.Do(ctx, "COMMAND", "COUNT").Int()
			require.NoError(t, err)
			assert.Equal(t, len(all), n)

			info, err := cl.Do(ctx, "COMMAND", "INFO", "SET", "nosuch").Slice()
			require.NoError(t, err)
			require.Len(t, info, 2)
			assert.Equal(t, "set", info[0].([]any)[0])
			assert.Nil(t, info[1])

			keys, err := cl.CommandGetKeys(ctx, "MSET", "a", "1", "b", "2").Result()
			require.NoError(t, err)
			assert.Equal(t, []string{"a", "b"}, keys)
			assert.EqualError(t, cl.CommandGetKeys(ctx, "PING", "x").Err(), "ERR The command has no key arguments")

			docs, err := cl.Do(ctx, "COMMAND", "DOCS", "get").Result()
			require.NoError(t, err)
			assert.Contains(t, fmt.Sprint(docs), "Get the value of a key")
			assert.Equal(t, "ERR unknown subcommand 'FOO'. Try COMMAND HELP.", reply(conn(t, c.Primary(0), proto), "COMMAND", "FOO"))
		})
	}
}
