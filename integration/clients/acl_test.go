package clients_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// appUser may use the keys and channels under "app:" with every command
// but administrative ones; the default user is off.
const appUser = "app on >app-secret ~app:* &* +@all -@admin -@dangerous"

// TestACLUserWithRESP2AndRESP3 runs the Client and a Hook as a limited ACL
// user on a cluster without default access, speaking RESP2 and RESP3: both
// authenticate on every node they reach (MOVED targets included) and read
// replies in the protocol asked for; a command the user may not run is a
// typed NOPERM error that is never retried: the servers' ACL LOG records
// exactly one denial.
func TestACLUserWithRESP2AndRESP3(t *testing.T) {
	cluster.ForEachServer(t, func(t *testing.T, srv cluster.Server) {
		c := cluster.StartForTest(t, cluster.Config{Server: srv.Binary, Primaries: 3, Users: []string{appUser}})
		ctx := t.Context()
		user, pass := c.Admin()
		var admins []*redis.Client
		for _, p := range c.Primaries() {
			a := redis.NewClient(&redis.Options{Addr: p, Username: user, Password: pass, MaxRetries: -1, Protocol: 2})
			t.Cleanup(func() { _ = a.Close() })
			admins = append(admins, a)
		}
		// denials counts the commands the servers refused for lack of
		// permission (the "count" of every ACL LOG entry). The reply is
		// read raw: go-redis's ACLLog parser refuses the client-info
		// fields Valkey adds.
		denials := func() int64 {
			t.Helper()
			var n int64
			for _, a := range admins {
				entries, err := a.Do(ctx, "ACL", "LOG").Slice()
				require.NoError(t, err)
				for _, e := range entries {
					fields, ok := e.([]any)
					require.True(t, ok, "an ACL LOG entry in RESP2 is a flat array: %#v", e)
					for i := 0; i+1 < len(fields); i += 2 {
						if fields[i] == "count" {
							count, ok := fields[i+1].(int64)
							require.True(t, ok, "count: %#v", fields[i+1])
							n += count
						}
					}
				}
			}
			return n
		}

		for _, proto := range []int{2, 3} {
			t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
				var k kinds
				// The Hook's own clients (MOVED targets, topology loads)
				// take their credentials from the Template, as the
				// Client's do.
				tmpl := &redis.Options{Username: "app", Password: "app-secret", Protocol: proto}
				opts := redirect.Options{Template: tmpl, Observer: k.observer()}
				cl := newClient(t, c, opts)
				rdb := redis.NewClient(&redis.Options{Addr: c.Primaries()[1], Username: "app", Password: "app-secret", Protocol: proto, MaxRetries: -1})
				h, err := redirect.Attach(rdb, opts)
				require.NoError(t, err)
				t.Cleanup(func() {
					_ = h.Close()
					_ = rdb.Close()
				})

				for _, tc := range []struct {
					name string
					rdb  redis.UniversalClient
				}{{"Client", cl}, {"Hook", rdb}} {
					t.Run(tc.name, func(t *testing.T) {
						prefix := fmt.Sprintf("app:%s:%d:", tc.name, proto)
						checkACLTraffic(t, c, tc.rdb, prefix, proto)

						// A key outside the user's pattern: NOPERM, typed,
						// returned at once, sent once.
						for _, a := range admins {
							require.NoError(t, a.ACLLogReset(ctx).Err())
						}
						retries, redirects := totalRetries(&k), totalRedirects(&k)
						err := tc.rdb.Get(ctx, "other:1").Err()
						require.Error(t, err)
						assert.Equal(t, classify.KindNoPerm, classify.KindOf(err), "%v", err)
						assert.Equal(t, retries, totalRetries(&k), "NOPERM was not retried")
						assert.Equal(t, redirects, totalRedirects(&k))
						assert.Equal(t, int64(1), denials(), "the servers saw the denied command once")

						// A command the user may not run.
						err = tc.rdb.ConfigGet(ctx, "maxmemory").Err()
						require.Error(t, err)
						assert.Equal(t, classify.KindNoPerm, classify.KindOf(err), "%v", err)
						assert.Equal(t, int64(2), denials())
					})
				}
			})
		}
	})
}

// checkACLTraffic writes and reads keys on every primary through rdb as
// the ACL user and checks that the connection speaks RESP proto.
func checkACLTraffic(t *testing.T, c *cluster.Cluster, rdb redis.UniversalClient, prefix string, proto int) {
	t.Helper()
	ctx := context.Background()
	owners := map[string]bool{}
	for i := range 300 {
		key := prefix + strconv.Itoa(i)
		owners[c.Owner(slotmap.Slot(key))] = true
		require.NoError(t, rdb.Set(ctx, key, i, 0).Err())
		v, err := rdb.Get(ctx, key).Int()
		require.NoError(t, err)
		require.Equal(t, i, v)
	}
	require.Len(t, owners, 3, "the keys span every primary")

	// HGETALL's reply is a map in RESP3 and a flat array in RESP2; Do
	// returns it as read from the wire.
	hkey := prefix + "h"
	require.NoError(t, rdb.HSet(ctx, hkey, "f", "v").Err())
	reply, err := rdb.Do(ctx, "HGETALL", hkey).Result()
	require.NoError(t, err)
	if proto == 3 {
		assert.Equal(t, map[any]any{"f": "v"}, reply)
	} else {
		assert.Equal(t, []any{"f", "v"}, reply)
	}
	info, err := rdb.Do(ctx, "CLIENT", "INFO").Text()
	require.NoError(t, err)
	assert.Regexp(t, `(^| )user=app( |$)`, strings.TrimSpace(info))
	assert.Regexp(t, `(^| )resp=`+strconv.Itoa(proto)+`( |$)`, strings.TrimSpace(info))
}

func totalRetries(k *kinds) int64 {
	var n int64
	for i := range k.retries {
		n += k.retries[i].Load()
	}
	return n
}

func totalRedirects(k *kinds) int64 {
	var n int64
	for i := range k.redirects {
		n += k.redirects[i].Load()
	}
	return n
}
