package integration_test

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/slotmap"
)

// keyInSlot returns a key that hashes to slot.
func keyInSlot(slot int) string {
	for i := 0; ; i++ {
		if k := fmt.Sprintf("k%d", i); slotmap.Slot(k) == slot {
			return k
		}
	}
}

// TestSlotFunctionMatchesServer checks slotmap.Slot against the server's
// CLUSTER KEYSLOT for keys with and without hash tags.
func TestSlotFunctionMatchesServer(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		node := redis.NewClient(&redis.Options{Addr: c.Addrs()[0]})
		defer node.Close()
		keys := []string{"", "a", "foo", "{user1000}.following", "{}x", "{a}{b}", "x{}y{z}", "\xff\x00{\xfe}", "123456789"}
		for i := range 200 {
			keys = append(keys, fmt.Sprintf("key:%d", i), fmt.Sprintf("{tag%d}rest", i))
		}
		for _, k := range keys {
			want, err := node.ClusterKeySlot(t.Context(), k).Result()
			require.NoError(t, err)
			assert.Equal(t, int(want), slotmap.Slot(k), "slot of %q", k)
		}
	})
}

// TestOwnerMatchesServer checks the harness's slot map against the
// servers: every primary serves a key of each of its slots and answers
// MOVED to the owner for a slot it does not own.
func TestOwnerMatchesServer(t *testing.T) {
	shared.Each(t, func(t *testing.T, c *cluster.Cluster) {
		ctx := t.Context()
		for _, p := range c.Primaries() {
			node := redis.NewClient(&redis.Options{Addr: p, MaxRetries: -1})
			defer node.Close()
			for _, s := range []int{0, 5000, 5461, 10922, 10923, 16383} {
				err := node.Get(ctx, keyInSlot(s)).Err()
				if c.Owner(s) == p {
					assert.ErrorIs(t, err, redis.Nil, "%s serves slot %d", p, s)
				} else {
					assert.EqualError(t, err, fmt.Sprintf("MOVED %d %s", s, c.Owner(s)), "%s redirects slot %d", p, s)
				}
			}
		}
	})
}
