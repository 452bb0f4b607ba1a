package cluster_test

import (
	"context"
	"crypto/tls"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/integration/cluster"
)

// TestSecuredIPv6Cluster starts, on each server, one cluster with every
// option at once (::1, TLS only, ACL users with the default user off, a
// replica per primary so that replication runs over TLS with the admin's
// credentials) and checks each option against the servers, then reshards
// with the server's own tool through all of them.
func TestSecuredIPv6Cluster(t *testing.T) {
	cluster.ForEachServer(t, func(t *testing.T, srv cluster.Server) {
		c := cluster.StartForTest(t, cluster.Config{
			Server: srv.Binary, Primaries: 3, ReplicasPerPrimary: 1,
			Host: "::1", TLS: true, Users: []string{"app on >app-secret ~app:* +@all"},
		})
		ctx := t.Context()
		require.Len(t, c.Primaries(), 3)
		addr := c.Primaries()[0]
		assert.Equal(t, "::1", c.Host())
		assert.FileExists(t, c.CAFile())
		assert.Contains(t, addr, "[::1]:")

		node := func(user, pass string, tlsConfig *tls.Config) *redis.Client {
			rdb := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: pass, TLSConfig: tlsConfig, MaxRetries: -1, Protocol: 2})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}
		app := node("app", "app-secret", c.TLSConfig())
		require.NoError(t, app.Ping(ctx).Err(), "the ACL user over TLS with the CA")
		err := app.Get(ctx, "other:1").Err()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "NOPERM", "a key outside the user's pattern")

		assert.Error(t, node("", "", c.TLSConfig()).Ping(ctx).Err(), "the default user is off")
		assert.Error(t, node("app", "app-secret", nil).Ping(ctx).Err(), "no plain port")
		assert.Error(t, node("app", "app-secret", &tls.Config{MinVersion: tls.VersionTLS12}).Ping(ctx).Err(),
			"a client that does not trust the CA refuses the node's certificate")

		user, pass := c.Admin()
		admin := node(user, pass, c.TLSConfig())
		shards, err := admin.ClusterShards(ctx).Result()
		require.NoError(t, err)
		require.Len(t, shards, 3)
		for _, sh := range shards {
			for _, n := range sh.Nodes {
				assert.Equal(t, "::1", n.IP)
				assert.Positive(t, n.TLSPort, "CLUSTER SHARDS names the tls-port")
			}
		}

		from, to := c.Primaries()[0], c.Primaries()[1]
		before := len(c.SlotsOf(from))
		require.NoError(t, c.Reshard(context.Background(), 20, from, to))
		assert.Len(t, c.SlotsOf(from), before-20)
	})
}

// TestStandaloneGroup checks a standalone primary with a replica and a
// role swap with Promote.
func TestStandaloneGroup(t *testing.T) {
	cluster.ForEachServer(t, func(t *testing.T, srv cluster.Server) {
		c := cluster.StartForTest(t, cluster.Config{Server: srv.Binary, Standalone: true, ReplicasPerPrimary: 1})
		ctx := t.Context()
		require.Len(t, c.Primaries(), 1)
		primary := c.Primaries()[0]
		replicas := c.Replicas(primary)
		require.Len(t, replicas, 1)

		rdb := redis.NewClient(&redis.Options{Addr: replicas[0], MaxRetries: -1})
		defer rdb.Close()
		err := rdb.Set(ctx, "k", "v", 0).Err()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "READONLY")

		require.NoError(t, c.Promote(ctx, replicas[0]))
		assert.Equal(t, []string{replicas[0]}, c.Primaries())
		assert.Equal(t, []string{primary}, c.Replicas(replicas[0]))
		require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	})
}
