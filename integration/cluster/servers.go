package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// EnvServers restricts the servers the real-cluster tests run against to a
// comma-separated list of Server names ("redis7,valkey8"); empty means all
// of Servers. EnvServer, when set, wins over it: the tests then run against
// that one binary.
const EnvServers = "CLUSTERHOP_SERVERS"

// Server is one server implementation the real-cluster tests run against.
type Server struct {
	// Name names the subtests that run against this server ("redis7").
	Name string
	// Binary is the server binary, a path or a name on PATH.
	Binary string
	// CLI is its command-line client (for redis-cli --cluster reshard), a
	// path or a name on PATH.
	CLI string
}

// Servers are the servers users run clusterhop against, in the order the
// tests run: Redis 7 (Debian's redis-server) and Valkey 8 (valkey-server
// from bookworm-backports). scripts/ensure-server.sh installs both.
var Servers = []Server{
	{Name: "redis7", Binary: "redis-server", CLI: "redis-cli"},
	{Name: "valkey8", Binary: "valkey-server", CLI: "valkey-cli"},
}

// ServerByName returns the entry of Servers called name.
func ServerByName(name string) (Server, bool) {
	for _, s := range Servers {
		if s.Name == name {
			return s, true
		}
	}
	return Server{}, false
}

// ServersToRun returns the servers the real-cluster tests run against: the
// binary $CLUSTERHOP_SERVER names, else the entries of Servers that
// $CLUSTERHOP_SERVERS lists (all of them when it is empty). A name in
// $CLUSTERHOP_SERVERS that is not in Servers is kept as a server whose
// binary is that name, so a typo fails or skips visibly instead of running
// nothing.
func ServersToRun() []Server {
	if bin := os.Getenv(EnvServer); bin != "" {
		return []Server{{Name: strings.TrimSuffix(filepath.Base(bin), "-server"), Binary: bin, CLI: cliFor(bin)}}
	}
	list := os.Getenv(EnvServers)
	if strings.TrimSpace(list) == "" {
		return Servers
	}
	var out []Server
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if s, ok := ServerByName(name); ok {
			out = append(out, s)
		} else {
			out = append(out, Server{Name: name, Binary: name, CLI: cliFor(name)})
		}
	}
	return out
}

// cliFor names the command-line client that comes with a server binary:
// valkey-cli beside valkey-server, redis-cli beside redis-server (both
// speak the same --cluster commands).
func cliFor(server string) string {
	dir, base := filepath.Split(server)
	name := "redis-cli"
	if strings.Contains(base, "valkey") {
		name = "valkey-cli"
	}
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	if _, err := exec.LookPath(name); err != nil {
		return "redis-cli"
	}
	return name
}

// RequireServer gates a real-cluster test on one server, as Require does
// on the default one: it skips with a "NOTICE:" line unless
// CLUSTERHOP_INTEGRATION=1, and when s is not installed (or older than 7.0)
// it skips too, except under CI=true, where it fails the test.
func RequireServer(tb testing.TB, s Server) {
	tb.Helper()
	gate(tb, s.Binary)
}

// ForEachServer runs fn as one subtest per server of ServersToRun, named
// after it ("TestX/redis7", "TestX/valkey8"), each gated by RequireServer.
// The subtests run one after another.
func ForEachServer(t *testing.T, fn func(t *testing.T, s Server)) {
	t.Helper()
	for _, s := range ServersToRun() {
		t.Run(s.Name, func(t *testing.T) {
			RequireServer(t, s)
			fn(t, s)
		})
	}
}
