package redirect

import (
	"context"
	"crypto/tls"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNodeOptionsFromTemplate(t *testing.T) {
	tmpl := &redis.Options{Password: "pw", MaxRetries: 5, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	s := newNodeSet(tmpl, func(a string) string { return "nat-" + a }, true, nil)
	o := s.options("node1.example:7000")
	assert.Equal(t, "nat-node1.example:7000", o.Addr, "AddrMap rewrites the dial address")
	assert.Equal(t, -1, o.MaxRetries, "go-redis never re-sends for the engine")
	assert.Equal(t, "pw", o.Password)
	require.NotNil(t, o.TLSConfig)
	assert.Equal(t, "nat-node1.example", o.TLSConfig.ServerName, "each node's certificate is checked against its own name")
	assert.Empty(t, tmpl.TLSConfig.ServerName, "the template is not changed")
	assert.NotNil(t, o.OnConnect, "replica reads send READONLY on every connection")

	tmpl.TLSConfig.ServerName = "cluster.example"
	assert.Equal(t, "cluster.example", s.options("a:1").TLSConfig.ServerName, "an explicit name is kept")
	assert.Nil(t, newNodeSet(nil, nil, false, nil).options("a:1").OnConnect)
}

func TestNodeSetRetainReconnectClose(t *testing.T) {
	s := newNodeSet(nil, nil, false, nil)
	a, err := s.get("127.0.0.1:1")
	require.NoError(t, err)
	b, err := s.get("127.0.0.1:2")
	require.NoError(t, err)
	again, err := s.get("127.0.0.1:1")
	require.NoError(t, err)
	assert.Same(t, a, again, "one client per node")

	s.retain([]string{"127.0.0.1:2"})
	assert.Len(t, s.all(), 1, "a node that left the topology is dropped")
	s.reconnect("127.0.0.1:2")
	b2, err := s.get("127.0.0.1:2")
	require.NoError(t, err)
	assert.NotSame(t, b, b2, "a reconnected node gets a new client")

	require.NoError(t, s.close())
	ctx := context.Background()
	for _, n := range []*node{a, b, b2} {
		assert.ErrorIs(t, n.client.Ping(ctx).Err(), redis.ErrClosed, "every client, retired or not, is closed")
	}
	_, err = s.get("127.0.0.1:3")
	assert.ErrorIs(t, err, ErrClosed)
}

// Clients of nodes outside the cluster as known (ASK or REDIRECT targets
// the topology never listed) are closed once idle, so a long-lived client
// does not keep one pool per address it was ever sent to; nodes of the
// cluster keep theirs.
func TestNodeSetClosesIdleStrangers(t *testing.T) {
	var made []*redis.Client
	s := newNodeSet(nil, nil, false, func(c *redis.Client) { made = append(made, c) })
	s.known = func(addr string) bool { return addr == "member:1" }
	s.idle = 10 * time.Millisecond
	defer s.close()
	_, err := s.get("member:1")
	require.NoError(t, err)
	for i := 0; i < 50; i++ {
		_, err := s.get("ask-target:" + strconv.Itoa(i+1))
		require.NoError(t, err)
	}
	assert.Len(t, made, 51, "OnNewNode hears every client made")
	require.Eventually(t, func() bool { return len(s.all()) == 1 }, 10*time.Second, 5*time.Millisecond,
		"idle strangers' clients are retired")
	assert.Equal(t, "member:1", s.all()[0].addr)
}

// ContextTimeoutEnabled is always on: the caller's deadline bounds reads.
func TestNodeOptionsHonourContextDeadlines(t *testing.T) {
	o := newNodeSet(&redis.Options{}, nil, false, nil).options("a:1")
	assert.True(t, o.ContextTimeoutEnabled)
}
