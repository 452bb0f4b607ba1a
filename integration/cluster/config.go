package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Environment variables the harness reads.
const (
	// EnvIntegration enables integration tests when set to "1".
	EnvIntegration = "CLUSTERHOP_INTEGRATION"
	// EnvServer names the server binary (a path or a name on PATH),
	// overriding the search for valkey-server and redis-server.
	EnvServer = "CLUSTERHOP_SERVER"
)

// Config describes the cluster to start. Every zero value is a default.
type Config struct {
	// Primaries is the number of primaries the slots are spread over
	// (default 3, the smallest cluster in which a majority of primaries
	// can elect a replacement for a failed one).
	Primaries int
	// ReplicasPerPrimary is the number of replicas of each primary
	// (default 0; negative is an error).
	ReplicasPerPrimary int
	// NodeTimeout is cluster-node-timeout: how long a node may be
	// unreachable before it is considered failing (default 2s, low so
	// that failover tests are quick).
	NodeTimeout time.Duration
	// Server is the server binary, a path or a name on PATH. Empty means
	// $CLUSTERHOP_SERVER, then redis-server, then valkey-server.
	Server string
	// Dir is where the cluster's temporary directory is made (default
	// os.TempDir()). Only that temporary directory is removed by Close.
	Dir string
	// WaitTimeout caps every wait of the harness when the caller's context
	// has no earlier deadline (default 90s, generous for a loaded machine).
	WaitTimeout time.Duration
	// Logf receives progress lines (default: discarded).
	Logf func(format string, args ...any)

	// Host is the loopback address every node binds to and announces:
	// "127.0.0.1" (default) or "::1", for a cluster whose MOVED and ASK
	// replies and CLUSTER SHARDS name IPv6 addresses.
	Host string
	// TLS serves clients, the cluster bus and replication over TLS only
	// (port 0, tls-port, tls-cluster yes, tls-replication yes), with a
	// certificate for 127.0.0.1, ::1 and localhost signed by a throwaway
	// CA the harness makes (Cluster.TLSConfig trusts it). Clients need no
	// certificate of their own. Default false.
	TLS bool
	// Users, when not empty, turns access control on: the default user is
	// off, the harness itself authenticates as an admin user of its own
	// (see Cluster.Admin; replication and MIGRATE too), and each entry is
	// one user as in an ACL file, without the leading "user" keyword
	// ("app on >secret ~app:* +@read +@write").
	Users []string
	// Standalone starts a replication group instead of a cluster: one
	// primary and ReplicasPerPrimary replicas of it (REPLICAOF), with
	// cluster mode off; Primaries must be 0 or 1. It is what Valkey's
	// REDIRECT needs: a standalone replica redirects clients that
	// announced the capability to its primary. See Cluster.Promote.
	Standalone bool
}

// MinServerMajor is the oldest server major version the harness drives:
// CLUSTER ADDSLOTSRANGE, CLUSTER SHARDS and cluster-port arrived in 7.0.
const MinServerMajor = 7

const (
	defaultPrimaries   = 3
	defaultNodeTimeout = 2 * time.Second
	defaultWaitTimeout = 90 * time.Second
	slotCount          = 16384
)

// withDefaults returns cfg with its zero values replaced, or an error
// naming the first invalid field.
func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.Primaries < 0:
		return cfg, fmt.Errorf("cluster: Config.Primaries is %d, want at least 1", cfg.Primaries)
	case cfg.ReplicasPerPrimary < 0:
		return cfg, fmt.Errorf("cluster: Config.ReplicasPerPrimary is %d, want 0 or more", cfg.ReplicasPerPrimary)
	case cfg.NodeTimeout < 0:
		return cfg, fmt.Errorf("cluster: Config.NodeTimeout is %v, want a positive duration", cfg.NodeTimeout)
	case cfg.NodeTimeout > 0 && cfg.NodeTimeout < time.Millisecond:
		return cfg, fmt.Errorf("cluster: Config.NodeTimeout is %v, want at least 1ms", cfg.NodeTimeout)
	case cfg.WaitTimeout < 0:
		return cfg, fmt.Errorf("cluster: Config.WaitTimeout is %v, want a positive duration", cfg.WaitTimeout)
	case cfg.Primaries > slotCount:
		return cfg, fmt.Errorf("cluster: Config.Primaries is %d, more than the %d slots", cfg.Primaries, slotCount)
	case cfg.Standalone && cfg.Primaries > 1:
		return cfg, fmt.Errorf("cluster: Config.Primaries is %d, want 1 with Config.Standalone", cfg.Primaries)
	case cfg.Host != "" && !isLoopback(cfg.Host):
		return cfg, fmt.Errorf("cluster: Config.Host is %q, want a loopback address (127.0.0.1 or ::1)", cfg.Host)
	}
	for i, u := range cfg.Users {
		if f := strings.Fields(u); len(f) == 0 || f[0] == "default" || f[0] == adminUser {
			return cfg, fmt.Errorf("cluster: Config.Users[%d] is %q, want a user name other than default and %s, then its rules", i, u, adminUser)
		}
	}
	if cfg.Primaries == 0 {
		cfg.Primaries = defaultPrimaries
		if cfg.Standalone {
			cfg.Primaries = 1
		}
	}
	if cfg.NodeTimeout == 0 {
		cfg.NodeTimeout = defaultNodeTimeout
	}
	if cfg.WaitTimeout == 0 {
		cfg.WaitTimeout = defaultWaitTimeout
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Dir == "" {
		cfg.Dir = os.TempDir()
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return cfg, nil
}

// ErrNoServer is returned (wrapped) by FindServer and Start when no server
// binary can be found.
var ErrNoServer = errors.New("no valkey-server or redis-server found")

// FindServer resolves the server binary: name when it is not empty, else
// $CLUSTERHOP_SERVER, else redis-server, else valkey-server on PATH. It
// returns the binary's path. Redis comes first so that a test that runs on
// one server only (Require, Shared.Get) keeps running where it was tuned
// when both are installed; ForEachServer and Shared.Each run on each.
func FindServer(name string) (string, error) {
	if name == "" {
		name = os.Getenv(EnvServer)
	}
	if name != "" {
		path, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("cluster: server %q: %w: %w", name, ErrNoServer, err)
		}
		return path, nil
	}
	for _, candidate := range []string{"redis-server", "valkey-server"} {
		if path, err := exec.LookPath(candidate); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("cluster: %w on PATH and %s is not set", ErrNoServer, EnvServer)
}

var versionRE = regexp.MustCompile(`v=(\d+)\.(\d+)`)

// checkVersion runs "server --version" and refuses servers older than
// MinServerMajor, whose cluster commands the harness relies on.
func checkVersion(server string) (string, error) {
	out, err := exec.Command(server, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cluster: %s --version: %w (%s)", server, err, out)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("cluster: %s --version printed no version (v=X.Y): %q", server, out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	if major < MinServerMajor {
		return "", fmt.Errorf("cluster: %s is version %s.%s, need %d.0 or newer", server, m[1], m[2], MinServerMajor)
	}
	return string(m[1]) + "." + string(m[2]), nil
}

// isLoopback reports whether host is a loopback IP address: the harness
// never listens beyond the machine.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
