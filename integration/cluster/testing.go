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
// tests must run and it fails the test instead.
func Require(tb testing.TB) {
	tb.Helper()
	if os.Getenv(EnvIntegration) != "1" {
		tb.Skipf("NOTICE: integration test skipped: set %s=1 to run it against a real cluster (make test does)", EnvIntegration)
	}
	server, err := FindServer("")
	if err == nil {
		_, err = checkVersion(server)
	}
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("integration tests must run under CI=true: %v (scripts/ensure-server.sh installs redis-server)", err)
	}
	tb.Skipf("NOTICE: integration test skipped: %v (scripts/ensure-server.sh installs redis-server)", err)
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

// Shared is one cluster for all the integration tests of a package,
// started on first use and stopped when they end:
//
//	var shared = cluster.NewShared(cluster.Config{ReplicasPerPrimary: 1})
//
//	func TestMain(m *testing.M) { os.Exit(shared.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		c := shared.Get(t)
//		...
//	}
//
// Tests that change the cluster (migrations, failovers, kills, pauses)
// must not run in parallel with other tests of the package.
type Shared struct {
	cfg Config

	mu      sync.Mutex // protects the fields below
	started bool
	c       *Cluster
	err     error
}

// NewShared returns a Shared that starts a cluster as cfg describes.
// cfg.Logf defaults to standard error under go test -v, else nothing.
func NewShared(cfg Config) *Shared {
	return &Shared{cfg: cfg}
}

// Get calls Require and returns the package's cluster, starting it on the
// first call. Later calls first Heal the cluster, so each test begins with
// every node running and the cluster healthy whatever the previous test
// did. If the cluster could not be started or healed, Get fails the test.
func (s *Shared) Get(tb testing.TB) *Cluster {
	tb.Helper()
	Require(tb)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		cfg := s.cfg
		if cfg.Logf == nil && testing.Verbose() {
			cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
		}
		s.c, s.err = Start(context.Background(), cfg)
		if s.err != nil {
			s.err = fmt.Errorf("starting the shared cluster: %w", s.err)
		}
	} else if s.err == nil {
		if err := s.c.Heal(tb.Context()); err != nil {
			tb.Fatalf("the shared cluster did not recover from the previous test: %v\n%s", err, s.c.logTails(30))
		}
	}
	if s.err != nil {
		tb.Fatal(s.err)
	}
	return s.c
}

// Run runs the package's tests with m.Run and then stops the cluster, also
// when m.Run panics; on SIGINT or SIGTERM it stops the cluster and exits.
// When a test failed it prints the tail of every node's log. It returns the
// exit code for os.Exit.
func (s *Shared) Run(m *testing.M) (code int) {
	stop := CloseOnSignal()
	defer stop()
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.c == nil {
			return
		}
		if code != 0 {
			s.c.DumpLogs(os.Stderr, 30)
		}
		if err := s.c.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = max(code, 1)
		}
	}()
	return m.Run()
}
