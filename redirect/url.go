package redirect

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clusterhop/clusterhop/retry"
)

// ParseURL reads Options from one connection string: the cluster's seed
// nodes, the settings of the per-node clients and the retry policy.
//
//	redis://user:pass@10.0.0.1:6379?addr=10.0.0.2:6379&dial_timeout=2s&max_retries=20&in_doubt=idempotent
//
// The seeds are host:port (host localhost and port 6379 when left out) and
// every addr=.
// rediss:// turns TLS on; each node's certificate is then checked against
// the host name the node is dialled by (see Options.Template). User and
// password are the nodes' credentials.
//
// The parameters are go-redis's ClusterOptions URL parameters that make
// sense for a cluster client which never re-sends on its own (addr,
// client_name, protocol, dial_timeout, read_timeout, write_timeout,
// pool_fifo, pool_size, pool_timeout, min_idle_conns, max_idle_conns,
// max_active_conns, conn_max_idle_time, conn_max_lifetime, read_only,
// route_by_latency, route_randomly) and every parameter of retry.FromQuery.
// Each name means one thing:
//
//   - max_retries and max_redirects are the policy's (retry.Policy). In a
//     go-redis URL max_retries is how often each node's client re-sends a
//     failed command; a Client's node clients never re-send (a command whose
//     reply was lost may have run), so here the policy decides, across the
//     cluster, and max_retries bounds its delayed retries.
//   - min_retry_backoff and max_retry_backoff, go-redis's waits between
//     those per-node re-sends, are refused: min_backoff and max_backoff set
//     the policy's.
//   - read_only and route_randomly set ReadFromReplicas, route_by_latency
//     sets RouteByLatency.
//
// Durations need a unit ("2s", "500ms"), where go-redis would read a bare
// number as seconds; read_timeout, write_timeout and conn_max_idle_time
// also take -1, go-redis's "none". An unknown parameter, a parameter given
// twice (but addr) and a bad value are errors naming the parameter; the
// result is validated.
func ParseURL(rawURL string) (Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Options{}, fmt.Errorf("redirect: %w", err)
	}
	var o Options
	switch u.Scheme {
	case "rediss":
		o.Template = &redis.Options{TLSConfig: &tls.Config{}}
	case "redis":
	default:
		return Options{}, fmt.Errorf("redirect: URL scheme %q: want redis or rediss", u.Scheme)
	}
	if u.User != nil {
		t := template(&o)
		t.Username = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	if u.Path != "" && u.Path != "/" && u.Path != "/0" {
		return Options{}, fmt.Errorf("redirect: URL path %q: a cluster has only database 0", u.Path)
	}
	if u.Host != "" {
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "6379"
		}
		o.Seeds = append(o.Seeds, net.JoinHostPort(host, port))
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Options{}, fmt.Errorf("redirect: query of %q: %w", rawURL, err)
	}
	policy := url.Values{}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vals := q[name]
		if slices.Contains(retry.Params(), name) {
			policy[name] = vals
			continue
		}
		if instead, ok := urlRefused[name]; ok {
			return Options{}, &urlError{name, strings.Join(vals, ","), instead}
		}
		set, ok := urlParams[name]
		if !ok {
			return Options{}, &urlError{name, strings.Join(vals, ","), "unknown parameter; known: " + strings.Join(URLParams(), ", ")}
		}
		if name == "addr" {
			for _, v := range vals {
				if err := set(&o, v); err != nil {
					return Options{}, &urlError{name, v, err.Error()}
				}
			}
			continue
		}
		if len(vals) != 1 {
			return Options{}, &urlError{name, strings.Join(vals, ","), "given " + strconv.Itoa(len(vals)) + " times"}
		}
		if err := set(&o, vals[0]); err != nil {
			return Options{}, &urlError{name, vals[0], err.Error()}
		}
	}
	if o.Policy, err = retry.FromQuery(policy); err != nil {
		return Options{}, fmt.Errorf("redirect: %w", err)
	}
	if len(o.Seeds) == 0 {
		return Options{}, errors.New("redirect: the URL names no node: write redis://host:port, or addr=host:port")
	}
	return o, o.Validate()
}

// URLParams returns every query parameter name ParseURL accepts, sorted:
// go-redis's cluster parameters and retry.Params.
func URLParams() []string {
	names := append(slices.Collect(maps.Keys(urlParams)), retry.Params()...)
	slices.Sort(names)
	return names
}

// urlError is a bad URL parameter. Its text has the form of
// retry.ConfigError's, so the two halves of a URL read alike.
type urlError struct {
	name, value, reason string
}

func (e *urlError) Error() string {
	return "redirect: invalid " + e.name + "=" + e.value + ": " + e.reason
}

// urlRefused are go-redis parameter names that mean nothing for a Client,
// with what to write instead.
var urlRefused = map[string]string{
	"min_retry_backoff": "go-redis's wait between a node client's own re-sends, which a Client never makes; min_backoff sets the retry policy's",
	"max_retry_backoff": "go-redis's wait between a node client's own re-sends, which a Client never makes; max_backoff sets the retry policy's",
	"db":                "a cluster has only database 0",
}

// urlParams are the go-redis parameters: what each sets.
var urlParams = map[string]func(o *Options, v string) error{
	"addr": func(o *Options, v string) error {
		host, port, err := net.SplitHostPort(v)
		if err != nil || host == "" || port == "" {
			return errors.New("want host:port")
		}
		o.Seeds = append(o.Seeds, net.JoinHostPort(host, port))
		return nil
	},
	"client_name": func(o *Options, v string) error { template(o).ClientName = v; return nil },
	"protocol": func(o *Options, v string) error {
		if v != "2" && v != "3" {
			return errors.New("want 2 or 3")
		}
		return urlInt(v, &template(o).Protocol)
	},
	"dial_timeout":       func(o *Options, v string) error { return urlDuration(v, false, &template(o).DialTimeout) },
	"read_timeout":       func(o *Options, v string) error { return urlDuration(v, true, &template(o).ReadTimeout) },
	"write_timeout":      func(o *Options, v string) error { return urlDuration(v, true, &template(o).WriteTimeout) },
	"pool_fifo":          func(o *Options, v string) error { return urlBool(v, &template(o).PoolFIFO) },
	"pool_size":          func(o *Options, v string) error { return urlInt(v, &template(o).PoolSize) },
	"pool_timeout":       func(o *Options, v string) error { return urlDuration(v, false, &template(o).PoolTimeout) },
	"min_idle_conns":     func(o *Options, v string) error { return urlInt(v, &template(o).MinIdleConns) },
	"max_idle_conns":     func(o *Options, v string) error { return urlInt(v, &template(o).MaxIdleConns) },
	"max_active_conns":   func(o *Options, v string) error { return urlInt(v, &template(o).MaxActiveConns) },
	"conn_max_idle_time": func(o *Options, v string) error { return urlDuration(v, true, &template(o).ConnMaxIdleTime) },
	"conn_max_lifetime":  func(o *Options, v string) error { return urlDuration(v, false, &template(o).ConnMaxLifetime) },
	"read_only":          func(o *Options, v string) error { return urlBool(v, &o.ReadFromReplicas) },
	"route_by_latency":   func(o *Options, v string) error { return urlBool(v, &o.RouteByLatency) },
	"route_randomly": func(o *Options, v string) error {
		var b bool
		err := urlBool(v, &b)
		o.ReadFromReplicas = o.ReadFromReplicas || b
		return err
	},
}

func template(o *Options) *redis.Options {
	if o.Template == nil {
		o.Template = &redis.Options{}
	}
	return o.Template
}

func urlInt(v string, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("not an integer")
	}
	if n < 0 {
		return errors.New("must not be negative")
	}
	*dst = n
	return nil
}

func urlBool(v string, dst *bool) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New(`want "true" or "false"`)
	}
	*dst = b
	return nil
}

// urlDuration reads a Go duration. A bare number is refused rather than
// read as seconds as go-redis does, so that every duration of the URL,
// the policy's included, is written the same way; none (-1, go-redis's
// "no timeout") is accepted where go-redis documents it.
func urlDuration(v string, none bool, dst *time.Duration) error {
	if none && v == "-1" {
		*dst = -1
		return nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err == nil && d < 0:
		if none {
			return errors.New("must not be negative (-1 means none)")
		}
		return errors.New("must not be negative")
	case err == nil:
		*dst = d
		return nil
	}
	if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
		return errors.New(`missing unit, write for example "500ms" or "2s"`)
	}
	return errors.New(`not a duration, write for example "500ms" or "2s"`)
}
