package cluster

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
)

// Require gates an integration test. It skips the test with a "NOTICE:"
// line unless CLUSTERHOP_INTEGRATION=1; when enabled but no usable server
// binary is found it skips too, except under CI=true, where integration
// tests must run and it fails the test instead. RequireServer gates on one
// server of the table of Servers.
func Require(tb testing.TB) {
	tb.Helper()
	gate(tb, "")
}

// gate is Require for the server binary named server ("" for FindServer's
// default).
func gate(tb testing.TB, server string) {
	tb.Helper()
	if os.Getenv(EnvIntegration) != "1" {
		tb.Skipf("NOTICE: integration test skipped: set %s=1 to run it against a real cluster (make test does)", EnvIntegration)
	}
	path, err := FindServer(server)
	if err == nil {
		_, err = checkVersion(path)
	}
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("integration tests must run under CI=true: %v (scripts/ensure-server.sh installs redis-server and valkey-server)", err)
	}
	tb.Skipf("NOTICE: integration test skipped: %v (scripts/ensure-server.sh installs redis-server and valkey-server)", err)
}

// StartForTest calls Require, then starts a cluster for this test only and
// stops it when the test ends, after printing the tail of every node's log
// if the test failed. cfg.Logf defaults to tb.Logf.
func StartForTest(tb testing.TB, cfg Config) *Cluster {
	tb.Helper()
	Require(tb)
	if cfg.Logf == nil {
		cfg.Logf = tb.Logf
	}
	c, err := Start(tb.Context(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("cluster logs:\n%s", c.logTails(30))
		}
		if err := c.Close(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

// Shared is one cluster per server for all the integration tests of a
// package, each started on first use and all stopped when they end:
//
//	var shared = cluster.NewShared(cluster.Config{ReplicasPerPrimary: 1})
//
//	func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		shared.Each(t, func(t *testing.T, c *cluster.Cluster) { ... })
//	}
//
// Each runs a test once per server of ServersToRun; Get gives the cluster
// of the default server (see FindServer) to a test that runs once. Tests
// that change the cluster (migrations, failovers, kills, pauses) must not
// run in parallel with other tests of the package.
type Shared struct {
	cfg Config

	mu       sync.Mutex                // protects byServer and the clusters' start
	byServer map[string]*sharedCluster // by the server binary's path
}

// sharedCluster is the cluster of one server, or why it could not start.
type sharedCluster struct {
	c   *Cluster
	err error
}

// NewShared returns a Shared that starts clusters as cfg describes
// (cfg.Server is ignored: the server is chosen per test).
// cfg.Logf defaults to standard error under go test -v, else nothing.
func NewShared(cfg Config) *Shared {
	return &Shared{cfg: cfg, byServer: make(map[string]*sharedCluster)}
}

// Get calls Require and returns the package's cluster of the default
// server (the one FindServer chooses), starting it on the first call. Later
// calls first Heal the cluster, so each test begins with every node running
// and the cluster healthy whatever the previous test did. If the cluster
// could not be started or healed, Get fails the test.
func (s *Shared) Get(tb testing.TB) *Cluster {
	tb.Helper()
	Require(tb)
	return s.get(tb, "")
}

// Each runs fn once per server of ServersToRun, as a subtest named after
// the server (gated by RequireServer), with the package's cluster of that
// server, started on first use and healed before each later use as in Get.
func (s *Shared) Each(t *testing.T, fn func(t *testing.T, c *Cluster)) {
	t.Helper()
	ForEachServer(t, func(t *testing.T, srv Server) {
		fn(t, s.get(t, srv.Binary))
	})
}

func (s *Shared) get(tb testing.TB, server string) *Cluster {
	tb.Helper()
	path, err := FindServer(server)
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.byServer[path]
	if sc == nil {
		sc = &sharedCluster{}
		s.byServer[path] = sc
		cfg := s.cfg
		cfg.Server = path
		if cfg.Logf == nil && testing.Verbose() {
			cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
		}
		sc.c, sc.err = Start(context.Background(), cfg)
		if sc.err != nil {
			sc.err = fmt.Errorf("starting the shared cluster of %s: %w", path, sc.err)
		}
	} else if sc.err == nil {
		if err := sc.c.Heal(tb.Context()); err != nil {
			tb.Fatalf("the shared cluster did not recover from the previous test: %v\n%s", err, sc.c.logTails(30))
		}
	}
	if sc.err != nil {
		tb.Fatal(sc.err)
	}
	return sc.c
}

// Run runs the package's tests with m.Run and then stops the clusters, also
// when m.Run panics; on SIGINT or SIGTERM it stops them and exits. When a
// test failed it prints the tail of every node's log. It returns the exit
// code for os.Exit.
func (s *Shared) Run(m *testing.M) (code int) {
	stop := CloseOnSignal()
	defer stop()
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, sc := range s.byServer {
			if sc.c == nil {
				continue
			}
			if code != 0 {
				sc.c.DumpLogs(os.Stderr, 30)
			}
			if err := sc.c.Close(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				code = max(code, 1)
			}
		}
	}()
	return m.Run()
}
