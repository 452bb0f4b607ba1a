package redirect_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/clustertest"
	"github.com/clusterhop/clusterhop/redirect"
	"github.com/clusterhop/clusterhop/retry"
)

func TestParseURL(t *testing.T) {
	o, err := redirect.ParseURL("redis://user:secret@10.0.0.1:7000?addr=10.0.0.2:7001&addr=10.0.0.3:7002" +
		"&dial_timeout=2s&read_timeout=-1&write_timeout=500ms&pool_size=20&pool_fifo=true&pool_timeout=4s" +
		"&min_idle_conns=2&max_idle_conns=8&max_active_conns=30&conn_max_idle_time=1m&conn_max_lifetime=1h" +
		"&protocol=2&client_name=api&read_only=true" +
		"&max_retries=20&max_redirects=8&in_doubt=idempotent&min_backoff=50ms&breaker_pause=1s")
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"}, o.Seeds)
	assert.Equal(t, &redis.Options{
		Username: "user", Password: "secret",
		DialTimeout: 2 * time.Second, ReadTimeout: -1, WriteTimeout: 500 * time.Millisecond,
		PoolSize: 20, PoolFIFO: true, PoolTimeout: 4 * time.Second,
		MinIdleConns: 2, MaxIdleConns: 8, MaxActiveConns: 30,
		ConnMaxIdleTime: time.Minute, ConnMaxLifetime: time.Hour,
		Protocol: 2, ClientName: "api",
	}, o.Template)
	assert.Equal(t, retry.Policy{
		MaxRetries: 20, MaxRedirects: 8, InDoubt: retry.InDoubtIdempotent,
		MinBackoff: 50 * time.Millisecond, Breaker: retry.BreakerConfig{Pause: time.Second},
	}, o.Policy, "max_retries and max_redirects are the policy's")
	assert.True(t, o.ReadFromReplicas)
	assert.False(t, o.RouteByLatency)
}

func TestParseURLShortForms(t *testing.T) {
	tests := []struct {
		url   string
		seeds []string
		check func(t *testing.T, o redirect.Options)
	}{
		{"redis://10.0.0.1:6379", []string{"10.0.0.1:6379"}, func(t *testing.T, o redirect.Options) {
			assert.Nil(t, o.Template, "no node setting: go-redis's defaults")
			assert.Equal(t, retry.Policy{}, o.Policy, "no policy parameter: the default policy")
		}},
		{"redis://cache.internal", []string{"cache.internal:6379"}, nil},
		{"redis://:6380", []string{"localhost:6380"}, nil},
		{"redis://[2001:db8::1]:7000?addr=[2001:db8::2]:7001", []string{"[2001:db8::1]:7000", "[2001:db8::2]:7001"}, nil},
		{"redis://?addr=a:1&addr=b:2", []string{"a:1", "b:2"}, nil},
		{"redis://h:1/0", []string{"h:1"}, nil},
		{"redis://:pw@h:1", []string{"h:1"}, func(t *testing.T, o redirect.Options) {
			assert.Equal(t, "", o.Template.Username)
			assert.Equal(t, "pw", o.Template.Password)
		}},
		{"rediss://h:1", []string{"h:1"}, func(t *testing.T, o redirect.Options) {
			require.NotNil(t, o.Template.TLSConfig)
			assert.Equal(t, &tls.Config{}, o.Template.TLSConfig, "empty ServerName: each node is checked against its own name")
		}},
		{"redis://h:1?route_by_latency=true", []string{"h:1"}, func(t *testing.T, o redirect.Options) {
			assert.True(t, o.RouteByLatency)
		}},
		{"redis://h:1?route_randomly=true", []string{"h:1"}, func(t *testing.T, o redirect.Options) {
			assert.True(t, o.ReadFromReplicas)
		}},
		{"redis://h:1?read_only=false&route_randomly=false", []string{"h:1"}, func(t *testing.T, o redirect.Options) {
			assert.False(t, o.ReadFromReplicas)
		}},
		{"redis://h:1?in_doubt=readonly", []string{"h:1"}, func(t *testing.T, o redirect.Options) {
			assert.Equal(t, retry.InDoubtReadOnly, o.Policy.InDoubt)
		}},
		{"redis://h:1?in_doubt=never&disable_retries=true", []string{"h:1"}, func(t *testing.T, o redirect.Options) {
			assert.Equal(t, retry.Policy{InDoubt: retry.InDoubtNever, DisableRetries: true}, o.Policy)
		}},
		{"redis://h:1?dial_timeout=0", []string{"h:1"}, func(t *testing.T, o redirect.Options) {
			assert.Zero(t, o.Template.DialTimeout, "0 is the default")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			o, err := redirect.ParseURL(tt.url)
			require.NoError(t, err)
			assert.Equal(t, tt.seeds, o.Seeds)
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	known := strings.Join(redirect.URLParams(), ", ")
	tests := []struct {
		url  string
		want string
	}{
		{"redis://h:1?nope=1", "redirect: invalid nope=1: unknown parameter; known: " + known},
		{"redis://h:1?min_retry_backoff=8ms", "redirect: invalid min_retry_backoff=8ms: go-redis's wait between a node client's own re-sends, which a Client never makes; min_backoff sets the retry policy's"},
		{"redis://h:1?max_retry_backoff=1s", "redirect: invalid max_retry_backoff=1s: go-redis's wait between a node client's own re-sends, which a Client never makes; max_backoff sets the retry policy's"},
		{"redis://h:1?db=1", "redirect: invalid db=1: a cluster has only database 0"},
		{"redis://h:1/2", `redirect: URL path "/2": a cluster has only database 0`},
		{"http://h:1", `redirect: URL scheme "http": want redis or rediss`},
		{"h:1", `redirect: URL scheme "h": want redis or rediss`},
		{"redis://", "redirect: the URL names no node: write redis://host:port, or addr=host:port"},
		{"redis://h:1?addr=nohost", "redirect: invalid addr=nohost: want host:port"},
		{"redis://h:1?addr=:7000", "redirect: invalid addr=:7000: want host:port"},
		{"redis://h:1?dial_timeout=2", `redirect: invalid dial_timeout=2: missing unit, write for example "500ms" or "2s"`},
		{"redis://h:1?dial_timeout=soon", `redirect: invalid dial_timeout=soon: not a duration, write for example "500ms" or "2s"`},
		{"redis://h:1?dial_timeout=-1", `redirect: invalid dial_timeout=-1: missing unit, write for example "500ms" or "2s"`},
		{"redis://h:1?read_timeout=-2s", "redirect: invalid read_timeout=-2s: must not be negative (-1 means none)"},
		{"redis://h:1?pool_size=-1", "redirect: invalid pool_size=-1: must not be negative"},
		{"redis://h:1?pool_size=many", "redirect: invalid pool_size=many: not an integer"},
		{"redis://h:1?pool_size=1&pool_size=2", "redirect: invalid pool_size=1,2: given 2 times"},
		{"redis://h:1?protocol=4", "redirect: invalid protocol=4: want 2 or 3"},
		{"redis://h:1?read_only=yes", `redirect: invalid read_only=yes: want "true" or "false"`},
		{"redis://h:1?max_retries=-1", "redirect: retry: invalid max_retries=-1: must not be negative (0 means 60; disable_retries=true turns retries off)"},
		{"redis://h:1?max_retries=1&max_retries=2", "redirect: retry: invalid max_retries=1,2: given 2 times"},
		{"redis://h:1?in_doubt=sometimes", "redirect: retry: invalid in_doubt=sometimes: "},
		{"redis://h:1?a=%zz", "redirect: query of "},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := redirect.ParseURL(tt.url)
			require.Error(t, err)
			if strings.HasSuffix(tt.want, ": ") || strings.HasSuffix(tt.want, "of ") {
				assert.True(t, strings.HasPrefix(err.Error(), tt.want), err.Error())
			} else {
				assert.EqualError(t, err, tt.want)
			}
		})
	}

	_, err := redirect.ParseURL("redis://h:1?max_retries=x")
	var ce *retry.ConfigError
	require.True(t, errors.As(err, &ce), "the policy's errors stay *retry.ConfigError")
	assert.Equal(t, "max_retries", ce.Field)
}

func TestURLParams(t *testing.T) {
	names := redirect.URLParams()
	assert.IsNonDecreasing(t, names)
	for _, p := range retry.Params() {
		assert.Contains(t, names, p, "every policy parameter")
	}
	for _, p := range []string{"addr", "dial_timeout", "read_timeout", "write_timeout", "pool_size", "protocol", "client_name", "min_idle_conns", "read_only", "route_by_latency", "route_randomly"} {
		assert.Contains(t, names, p, "go-redis's cluster parameters")
	}
	assert.NotContains(t, names, "min_retry_backoff")
	seen := map[string]bool{}
	for _, n := range names {
		assert.False(t, seen[n], "%s means one thing", n)
		seen[n] = true
	}
}

// A URL's options work: a Client made from them serves the fake cluster.
func TestParseURLClient(t *testing.T) {
	c := clustertest.New(t, clustertest.Config{Shards: 3})
	o, err := redirect.ParseURL("redis://" + c.Addrs()[0] + "?dial_timeout=1s&max_retries=5")
	require.NoError(t, err)
	cl, err := redirect.NewClient(o)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, cl.Close()) })
	ctx := t.Context()
	require.NoError(t, cl.Set(ctx, "k", "v", 0).Err())
	assert.Equal(t, "v", cl.Get(ctx, "k").Val())
}

// FuzzParseURL: ParseURL never panics, and what it accepts validates and
// names at least one seed.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"redis://user:secret@10.0.0.1:7000?addr=10.0.0.2:7001&dial_timeout=2s&max_retries=20",
		"rediss://[2001:db8::1]:7000?read_only=true&in_doubt=idempotent",
		"redis://h:1?read_timeout=-1&delays=tryagain:5ms,loading:200ms",
		"redis://?addr=a:1&addr=b:2&breaker_pause=1s",
		"redis://h:1/0?protocol=3&pool_size=10",
		"redis://h:1?min_retry_backoff=8ms",
		"redis://%zz",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := redirect.ParseURL(s)
		if err != nil {
			return
		}
		require.NotEmpty(t, o.Seeds)
		require.NoError(t, o.Validate())
	})
}
