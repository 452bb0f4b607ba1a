package clients_test

import (
	"context"
	"crypto/tls"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/classify"
	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/slotmap"
)

// TestTLSCluster runs the Client and a Hook against a cluster that speaks
// TLS only (port 0, tls-port, tls-cluster yes): the Client finds each
// node's tls-port in CLUSTER SHARDS (there is no other port to find) and
// verifies the certificates against the cluster's CA; a MOVED, on a slot
// that moved after the Client loaded the topology and on every slot the
// Hook's node does not serve, is followed over TLS; a client that does not
// trust the CA fails on certificate verification.
func TestTLSCluster(t *testing.T) {
	cluster.ForEachServer(t, func(t *testing.T, srv cluster.Server) {
		c := cluster.StartForTest(t, cluster.Config{Server: srv.Binary, Primaries: 3, TLS: true})
		ctx := t.Context()
		var k kinds
		opts := redirect.Options{Template: &redis.Options{TLSConfig: c.TLSConfig()}, Observer: k.observer()}
		cl := newClient(t, c, opts)

		const n = 600
		key := func(i int) string { return "tls:" + strconv.Itoa(i) }
		owners := map[string]bool{}
		for i := range n {
			owners[c.Owner(slotmap.Slot(key(i)))] = true
			require.NoError(t, cl.Set(ctx, key(i), i, 0).Err())
		}
		require.Len(t, owners, 3, "the keys span every primary")
		assert.Zero(t, k.redirected(classify.KindMoved), "the Client routed every key from CLUSTER SHARDS")

		rdb := redis.NewClient(&redis.Options{Addr: c.Primaries()[0], TLSConfig: c.TLSConfig(), MaxRetries: -1})
		h, err := redirect.Attach(rdb, opts)
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = h.Close()
			_ = rdb.Close()
		})
		for i := range n {
			v, err := rdb.Get(ctx, key(i)).Int()
			require.NoError(t, err)
			require.Equal(t, i, v)
		}
		assert.Positive(t, k.redirected(classify.KindMoved), "the Hook followed MOVED over TLS")

		// Move the slot of key 0 behind the Client's back: its next GET
		// meets MOVED and follows it over TLS.
		slot := slotmap.Slot(key(0))
		to := c.Primaries()[0]
		if to == c.Owner(slot) {
			to = c.Primaries()[1]
		}
		require.NoError(t, c.MigrateSlot(ctx, slot, to, cluster.MigrateOptions{}))
		moved := k.redirected(classify.KindMoved)
		v, err := cl.Get(ctx, key(0)).Int()
		require.NoError(t, err)
		assert.Equal(t, 0, v)
		assert.Equal(t, moved+1, k.redirected(classify.KindMoved), "the stale slot was redirected once")

		// The certificates are verified: a client that trusts only the
		// system's CAs refuses the nodes.
		strict := redirect.Options{Seeds: c.Primaries()[:1], Template: &redis.Options{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
		bad, err := redirect.NewClient(strict)
		if err == nil {
			err = bad.Get(context.Background(), key(1)).Err()
			_ = bad.Close()
		}
		var verr *tls.CertificateVerificationError
		require.ErrorAs(t, err, &verr)
		t.Logf("an untrusted node: %v (kind %v)", err, classify.KindOf(err))
	})
}
