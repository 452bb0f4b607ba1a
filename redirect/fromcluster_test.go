package redirect_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
)

func TestFromClusterOptions(t *testing.T) {
	cfg := &tls.Config{ServerName: "cache.internal"}
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	o, err := redirect.FromClusterOptions(&redis.ClusterOptions{
		Addrs:           []string{"10.0.0.1:7000", "10.0.0.2:7001"},
		Username:        "user",
		Password:        "secret",
		ClientName:      "api",
		Protocol:        2,
		DialTimeout:     2 * time.Second,
		ReadTimeout:     time.Second,
		PoolSize:        20,
		MinIdleConns:    2,
		TLSConfig:       cfg,
		Dialer:          dialer,
		ReadOnly:        true,
		RouteByLatency:  true,
		MaxRetries:      7,
		MinRetryBackoff: time.Millisecond,
		MaxRetryBackoff: time.Second,
		MaxRedirects:    5,
	}, retry.Policy{MaxRetries: 20})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:7000", "10.0.0.2:7001"}, o.Seeds)
	require.NotNil(t, o.Template)
	assert.NotNil(t, o.Template.Dialer, "the Dialer is a per-node setting")
	o.Template.Dialer = nil
	assert.Equal(t, &redis.Options{
		Username: "user", Password: "secret", ClientName: "api", Protocol: 2,
		DialTimeout: 2 * time.Second, ReadTimeout: time.Second,
		PoolSize: 20, MinIdleConns: 2, TLSConfig: cfg,
	}, o.Template, "per-node settings, without go-redis's per-node retries")
	assert.Equal(t, retry.Policy{MaxRetries: 20, MaxRedirects: 5}, o.Policy, "MaxRedirects fills the policy's when it has none")
	assert.True(t, o.ReadFromReplicas)
	assert.True(t, o.RouteByLatency)

	o, err = redirect.FromClusterOptions(&redis.ClusterOptions{Addrs: []string{"h:1"}, RouteRandomly: true}, retry.Policy{})
	require.NoError(t, err)
	assert.True(t, o.ReadFromReplicas, "RouteRandomly reads from replicas")
	assert.Nil(t, o.Template, "nothing per node: go-redis's defaults")

	o, err = redirect.FromClusterOptions(&redis.ClusterOptions{Addrs: []string{"h:1"}, MaxRedirects: 8}, retry.Policy{MaxRedirects: 8})
	require.NoError(t, err)
	assert.Equal(t, 8, o.Policy.MaxRedirects, "the same value twice is fine")
}

func TestFromClusterOptionsRefuses(t *testing.T) {
	tests := []struct {
		name   string
		co     *redis.ClusterOptions
		policy retry.Policy
		want   string
	}{
		{"nil", nil, retry.Policy{}, "redirect: FromClusterOptions: nil *redis.ClusterOptions"},
		{"NewClient", &redis.ClusterOptions{Addrs: []string{"h:1"}, NewClient: redis.NewClient}, retry.Policy{},
			"redirect: ClusterOptions fields a Client cannot honour: NewClient (node clients are made from Options.Template; Options.OnNewNode is called with each)"},
		{"ClusterSlots and MaxRedirects -1", &redis.ClusterOptions{
			Addrs:        []string{"h:1"},
			MaxRedirects: -1,
			ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) { return nil, nil },
		}, retry.Policy{},
			"redirect: ClusterOptions fields a Client cannot honour: ClusterSlots (the topology is always read from the cluster); MaxRedirects -1 (a Client always follows redirections; retry.Policy.MaxRedirects bounds them)"},
		{"MaxRedirects twice", &redis.ClusterOptions{Addrs: []string{"h:1"}, MaxRedirects: 3}, retry.Policy{MaxRedirects: 8},
			"redirect: ClusterOptions.MaxRedirects (3) and the policy's MaxRedirects (8) disagree: set one"},
		{"bad address", &redis.ClusterOptions{Addrs: []string{"nohost"}}, retry.Policy{},
			`redirect: Options.Seeds[0] "nohost" is not host:port: address nohost: missing port in address`},
		{"bad policy", &redis.ClusterOptions{Addrs: []string{"h:1"}}, retry.Policy{MaxRetries: -1},
			"redirect: Options.Policy: retry: invalid max_retries=-1: must not be negative (0 means 60; disable_retries=true turns retries off)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redirect.FromClusterOptions(tt.co, tt.policy)
			require.EqualError(t, err, tt.want)
			_, err = redirect.NewFromClusterOptions(tt.co, tt.policy)
			require.EqualError(t, err, tt.want)
		})
	}
}

// A ClusterClient's options, parsed from go-redis's own URL form, make a
// Client that serves the cluster.
func TestNewFromClusterOptions(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	co, err := redis.ParseClusterURL("redis://" + c.Addrs()[0] + "?addr=" + c.Addrs()[1] + "&dial_timeout=1s&max_retries=2")
	require.NoError(t, err)
	cl, err := redirect.NewFromClusterOptions(co, fastPolicy())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Close()) })
	ctx := t.Context()
	for _, k := range []string{"a", "b", "c", "d"} {
		require.NoError(t, cl.Set(ctx, k, k+"!", 0).Err())
		assert.Equal(t, k+"!", cl.Get(ctx, k).Val())
	}
}
