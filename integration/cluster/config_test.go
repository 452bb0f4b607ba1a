package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, 3, cfg.Primaries)
	assert.Equal(t, 0, cfg.ReplicasPerPrimary)
	assert.Equal(t, 2*time.Second, cfg.NodeTimeout)
	assert.Equal(t, 90*time.Second, cfg.WaitTimeout)
	assert.Equal(t, os.TempDir(), cfg.Dir)
	assert.Equal(t, "127.0.0.1", cfg.Host)
	assert.NotNil(t, cfg.Logf)

	cfg, err = Config{Standalone: true}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, 1, cfg.Primaries, "a standalone group has one primary")
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Primaries: -1}, "Config.Primaries"},
		{Config{Primaries: slotCount + 1}, "Config.Primaries"},
		{Config{ReplicasPerPrimary: -1}, "Config.ReplicasPerPrimary"},
		{Config{NodeTimeout: -time.Second}, "Config.NodeTimeout"},
		{Config{NodeTimeout: time.Microsecond}, "Config.NodeTimeout"},
		{Config{WaitTimeout: -time.Second}, "Config.WaitTimeout"},
		{Config{Host: "0.0.0.0"}, "Config.Host"},
		{Config{Host: "192.0.2.1"}, "Config.Host"},
		{Config{Host: "localhost"}, "Config.Host"},
		{Config{Standalone: true, Primaries: 2}, "Config.Primaries"},
		{Config{Users: []string{""}}, "Config.Users[0]"},
		{Config{Users: []string{"app on", "default on nopass"}}, "Config.Users[1]"},
		{Config{Users: []string{adminUser + " off"}}, "Config.Users[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := tt.cfg.withDefaults()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// fakeServer writes an executable that prints version text, standing in
// for a server binary.
func fakeServer(t *testing.T, version string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-server")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\necho '"+version+"'\n"), 0o755))
	return path
}

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		name, output, want, wantErr string
	}{
		{"redis 7", "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64", "7.0", ""},
		{"valkey 8", "Valkey server v=8.0.2 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64", "8.0", ""},
		{"redis 6", "Redis server v=6.2.14 sha=00000000:0", "", "need 7.0 or newer"},
		{"no version", "hello", "", "printed no version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkVersion(fakeServer(t, tt.output))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of ending
// the test, so the gate itself can be tested.
type recorder struct {
	testing.TB
	skipped, fatal string
}

type stopped struct{}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	panic(stopped{})
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(stopped{})
}

func runGate(t *testing.T) *recorder {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != nil && v != (stopped{}) {
				panic(v)
			}
		}()
		Require(r)
	}()
	return r
}

func TestRequire(t *testing.T) {
	emptyPath := t.TempDir()
	tests := []struct {
		name                    string
		integration, server, ci string
		path                    string
		wantSkip, wantFatal     string
	}{
		{name: "disabled", integration: "", ci: "true", wantSkip: "NOTICE: integration test skipped: set CLUSTERHOP_INTEGRATION=1"},
		{name: "disabled with 0", integration: "0", wantSkip: "NOTICE:"},
		{name: "no server", integration: "1", path: emptyPath, wantSkip: "NOTICE: integration test skipped: cluster: no valkey-server or redis-server found"},
		{name: "no server under CI", integration: "1", path: emptyPath, ci: "true", wantFatal: "must run under CI=true"},
		{name: "named server missing", integration: "1", server: "no-such-server", wantSkip: `server "no-such-server"`},
		{name: "server too old", integration: "1", server: fakeServer(t, "Redis server v=6.0.0"), wantSkip: "need 7.0"},
		{name: "server too old under CI", integration: "1", server: fakeServer(t, "Redis server v=6.0.0"), ci: "true", wantFatal: "need 7.0"},
		{name: "ok", integration: "1", server: fakeServer(t, "Valkey server v=8.1.0")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvIntegration, tt.integration)
			t.Setenv(EnvServer, tt.server)
			t.Setenv("CI", tt.ci)
			if tt.path != "" {
				t.Setenv("PATH", tt.path)
			}
			r := runGate(t)
			if tt.wantSkip == "" {
				assert.Empty(t, r.skipped)
			} else {
				assert.Contains(t, r.skipped, tt.wantSkip)
			}
			if tt.wantFatal == "" {
				assert.Empty(t, r.fatal)
			} else {
				assert.Contains(t, r.fatal, tt.wantFatal)
			}
		})
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := freePorts("127.0.0.1", 12)
	require.NoError(t, err)
	seen := map[int]bool{}
	for _, p := range ports {
		assert.False(t, seen[p], "port %d twice", p)
		seen[p] = true
		assert.True(t, p >= portLow && p < portHigh, "port %d outside %d-%d", p, portLow, portHigh)
	}
}

func TestSweepStale(t *testing.T) {
	parent := t.TempDir()
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	deadPid := dead.Process.Pid

	mk := func(name, owner string) string {
		dir := filepath.Join(parent, name)
		require.NoError(t, os.Mkdir(dir, 0o755))
		if owner != "" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o644))
		}
		return dir
	}
	stale := mk(dirPrefix+"stale", strconv.Itoa(deadPid))
	mine := mk(dirPrefix+"mine", strconv.Itoa(os.Getpid()))
	creating := mk(dirPrefix+"creating", "")
	other := mk("other-dir", strconv.Itoa(deadPid))

	var logged []string
	sweepStale(parent, func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) })

	assert.NoDirExists(t, stale)
	assert.DirExists(t, mine)
	assert.DirExists(t, creating)
	assert.DirExists(t, other)
	require.Len(t, logged, 1)
	assert.Contains(t, logged[0], stale)
}

func TestStartWithoutServer(t *testing.T) {
	_, err := Start(t.Context(), Config{Server: "no-such-server-binary"})
	require.ErrorIs(t, err, ErrNoServer)

	_, err = Start(t.Context(), Config{Server: fakeServer(t, "Redis server v=6.2.0")})
	require.ErrorContains(t, err, "need 7.0 or newer")

	_, err = Start(t.Context(), Config{Primaries: -2})
	require.ErrorContains(t, err, "Config.Primaries")
}

func TestServersToRun(t *testing.T) {
	names := func(ss []Server) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name+"="+s.Binary)
		}
		return out
	}
	tests := []struct {
		server, servers string
		want            []string
	}{
		{"", "", []string{"redis7=redis-server", "valkey8=valkey-server"}},
		{"", "valkey8", []string{"valkey8=valkey-server"}},
		{"", " redis7 , valkey8 ,", []string{"redis7=redis-server", "valkey8=valkey-server"}},
		{"", "keydb-server", []string{"keydb-server=keydb-server"}},
		{"/opt/valkey/bin/valkey-server", "redis7", []string{"valkey=/opt/valkey/bin/valkey-server"}},
	}
	for _, tt := range tests {
		t.Run(tt.server+"|"+tt.servers, func(t *testing.T) {
			t.Setenv(EnvServer, tt.server)
			t.Setenv(EnvServers, tt.servers)
			assert.Equal(t, tt.want, names(ServersToRun()))
		})
	}
	assert.Equal(t, "redis-cli", cliFor("no-such-dir/no-such-server"), "redis-cli when the server has no cli of its own")
}

func TestRequireServer(t *testing.T) {
	missing := Server{Name: "missing", Binary: "no-such-server-binary"}
	gateOn := func(t *testing.T, s Server) *recorder {
		r := &recorder{TB: t}
		func() {
			defer func() {
				if v := recover(); v != nil && v != (stopped{}) {
					panic(v)
				}
			}()
			RequireServer(r, s)
		}()
		return r
	}
	t.Setenv(EnvIntegration, "1")
	t.Setenv("CI", "")
	r := gateOn(t, missing)
	assert.Contains(t, r.skipped, "NOTICE: integration test skipped:")
	assert.Contains(t, r.skipped, "no-such-server-binary")

	t.Setenv("CI", "true")
	r = gateOn(t, missing)
	assert.Contains(t, r.fatal, "must run under CI=true")

	r = gateOn(t, Server{Name: "ok", Binary: fakeServer(t, "Valkey server v=8.0.1")})
	assert.Empty(t, r.skipped)
	assert.Empty(t, r.fatal)
}
