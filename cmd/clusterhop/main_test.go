package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/integration/cluster"
	"github.com/clusterhop/clusterhop/internal/workload"
)

// TestDemoShortRun runs the demo as CI does and checks its report: every
// stage of the timeline happened (redirections of both kinds, LOADING
// retries), nothing was lost or run twice, and the only errors that reached
// the application are commands in flight when the primary crashed.
func TestDemoShortRun(t *testing.T) {
	var out, errOut bytes.Buffer
	// Long enough for every timeline event on a machine busy with the other
	// packages' tests.
	code := run([]string{"demo", "--duration", "8s", "--json", "--seed", "7"}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	var rep report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	assert.Regexp(t, `\nPASS: \d+ keys read back, no write lost or duplicated\n$`, errOut.String())

	assert.Positive(t, rep.Operations)
	assert.Positive(t, rep.Redirects["MOVED"], "MOVED followed: %v", rep.Redirects)
	assert.Positive(t, rep.Redirects["ASK"], "ASK followed: %v", rep.Redirects)
	assert.Positive(t, rep.Retries["LOADING"], "LOADING retried: %v", rep.Retries)
	assert.Positive(t, rep.Refreshes)
	assert.Zero(t, rep.Verdict.Lost, "%v", rep.Verdict.Problems)
	assert.Zero(t, rep.Verdict.Duplicated, "%v", rep.Verdict.Problems)
	assert.Positive(t, rep.Verdict.Checked)
	assert.Equal(t, rep.InDoubtErrors, rep.SurfacedErrors,
		"errors other than in-doubt ones reached the application: %v", rep.ErrorSamples)
	assert.Len(t, rep.Timeline, 5, "%v", rep.Timeline)
}

// The slots are CLUSTER KEYSLOT's answers from a real redis-server 7.0.
func TestSlotCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"slot", "foo", "{user1000}.following"}, &out, &errOut))
	assert.Equal(t, "foo\t12182\n{user1000}.following\t3443  (hash tag \"user1000\")\n", out.String())

	out.Reset()
	assert.Equal(t, 2, run([]string{"slot"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "give at least one key")

	// The example in the help and the README is the command's own output.
	out.Reset()
	require.Equal(t, 0, run([]string{"slot", "user:1000", "{user1000}.following"}, &out, &errOut))
	var help bytes.Buffer
	require.Equal(t, 0, run([]string{"help", "slot"}, &help, &errOut))
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	for line := range strings.Lines(out.String()) {
		assert.Contains(t, help.String(), "  "+line)
		assert.Contains(t, string(readme), "\n"+line)
	}
}

// TestUsageErrors: every command line a command cannot run exits 2 with one
// line on stderr that says why and where the help is, and prints nothing
// else (no usage dump, no PASS/FAIL, no second copy of the error).
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nope"}, 2, `unknown command "nope"; run 'clusterhop help' for the commands`},
		{[]string{"demo", "--bogus"}, 2, "clusterhop demo: unknown flag --bogus; run 'clusterhop help demo' for its usage"},
		{[]string{"demo", "-bogus"}, 2, "unknown flag --bogus"},
		{[]string{"demo", "--duration", "soon"}, 2, `invalid value "soon" for flag --duration`},
		{[]string{"demo", "--clients"}, 2, "flag needs an argument: --clients"},
		{[]string{"bench", "--bogus"}, 2, "clusterhop bench: unknown flag --bogus"},
		{[]string{"topology", "--bogus"}, 2, "clusterhop topology: unknown flag --bogus"},
		{[]string{"topology"}, 2, "give --addr"},
		{[]string{"topology", "--addr", "127.0.0.1:1", "extra"}, 2, "unexpected arguments"},
		{[]string{"topology", "--addr", "127.0.0.1:1", "--timeout", "0s"}, 2, "--timeout must be positive"},
		{[]string{"topology", "--addr", "127.0.0.1:1", "--tls-insecure"}, 2, "need --tls"},
		{[]string{"topology", "--addr", "127.0.0.1:1", "--tls", "--tls-ca", "/nonexistent/ca.pem"}, 2, "--tls-ca: open /nonexistent/ca.pem"},
		{[]string{"topology", "--addr", "127.0.0.1:1", "--tls", "--tls-ca", "main_test.go"}, 2, "no PEM certificate in main_test.go"},
		{[]string{"demo", "--password", "x"}, 2, "give --addr"},
		{[]string{"bench", "--local", "--tls"}, 2, "--local starts its own cluster"},
		{[]string{"bench", "--local", "--rounds", "0"}, 2, "--rounds must be positive"},
		{[]string{"bench", "--local", "extra"}, 2, "unexpected arguments"},
		{[]string{"demo", "--duration", "-1s"}, 2, "--duration must be positive"},
		{[]string{"demo", "--clients", "0"}, 2, "--clients must be positive"},
		{[]string{"demo", "extra"}, 2, "unexpected arguments"},
		{[]string{"bench"}, 2, "give --addr"},
		{[]string{"bench", "--addr", "127.0.0.1:1", "--local"}, 2, "exclude each other"},
		{[]string{"bench", "--local", "--concurrency", "1,x"}, 2, "--concurrency"},
		{[]string{"bench", "--local", "--workload", "scan"}, 2, "unknown workload"},
		{[]string{"help", "nope"}, 2, "unknown command"},
		{[]string{"bench", "--addr", "127.0.0.1:1", "--failover"}, 2, "need --local"},
		{[]string{"demo", "--reshard", "10"}, 2, "give --addr"},
		{[]string{"bench", "--local", "--failover", "--reshard", "10"}, 2, "exclude each other"},
		{[]string{"bench", "--local", "--freeze", "--reshard", "10"}, 2, "exclude each other"},
		{[]string{"bench", "--addr", "127.0.0.1:1", "--freeze"}, 2, "need --local"},
		{[]string{"bench", "--addr", "127.0.0.1:1", "--server", "valkey"}, 2, "--server chooses the server of --local"},
		{[]string{"bench", "--local", "--reshard", "-1"}, 2, "--reshard takes"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			assert.Equal(t, tc.code, run(tc.args, &out, &errOut))
			assert.Contains(t, errOut.String(), tc.want)
			assert.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line: %q", errOut.String())
			assert.Empty(t, out.String())
		})
	}
}

// TestNoCommand prints the usage, as a usage error.
func TestNoCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(nil, &out, &errOut))
	assert.Contains(t, errOut.String(), "Usage:")
	assert.Empty(t, out.String())
}

// TestHelp: help goes to stdout with exit status 0, whichever way it is
// asked for, and spells flags --name as the README does.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"help"}, {"--help"}, {"-h"},
		{"help", "demo"}, {"demo", "--help"}, {"demo", "-h"},
		{"help", "bench"}, {"bench", "--help"},
		{"help", "topology"}, {"topology", "-help"},
		{"help", "slot"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Equal(t, 0, run(args, &out, &errOut))
			assert.Contains(t, out.String(), "Usage")
			assert.Empty(t, errOut.String())
			assert.NotRegexp(t, `(?m)^\s+-[a-z]`, out.String(), "flags spelled -name")
		})
	}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"help", "demo"}, &out, &errOut))
	for _, flag := range []string{"--duration duration", "--addr", "--user name", "--password password", "--tls", "--tls-ca file", "--tls-insecure"} {
		assert.Contains(t, out.String(), "\n  "+flag, out.String())
	}
	assert.Contains(t, out.String(), "(default 15s)")
}

// TestREADMEFlags: every flag the README shows for a command is one the
// command has, spelled as its help spells it.
func TestREADMEFlags(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	known := map[string]bool{}
	for _, cmd := range commands {
		if cmd.flags != nil {
			cmd.flags().VisitAll(func(f *flag.Flag) { known[f.Name] = true })
		}
	}
	line := regexp.MustCompile(`clusterhop (demo|bench|topology)\b[^\n` + "`" + `]*`)
	uses := line.FindAllString(string(readme), -1)
	require.NotEmpty(t, uses)
	for _, use := range uses {
		for _, m := range regexp.MustCompile(`(^|\s)(-{1,2})([a-z][a-z-]*)`).FindAllStringSubmatch(use, -1) {
			assert.Equal(t, "--", m[2], "README spells -%s in %q; help spells --%s", m[3], use, m[3])
			assert.True(t, known[m[3]], "README uses --%s, which no command has: %q", m[3], use)
		}
	}
}

// TestDemoFailLine: a run that cannot start ends with one FAIL line and
// exit status 1.
func TestDemoFailLine(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"demo", "--addr", "127.0.0.1:1", "--duration", "1s"}, &out, &errOut)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `(?s)FAIL: loading the topology from 127\.0\.0\.1:1: .*connection refused.*\n$`, errOut.String())
	assert.Equal(t, 1, strings.Count(errOut.String(), "FAIL"), errOut.String())
	assert.NotContains(t, errOut.String(), "PASS")
}

func TestDemoVerdict(t *testing.T) {
	pass, err := demoVerdict(workload.Verdict{Checked: 40}, nil)
	require.NoError(t, err)
	assert.Equal(t, "40 keys read back, no write lost or duplicated", pass)

	_, err = demoVerdict(workload.Verdict{Checked: 40, Lost: 2, Duplicated: 1, Problems: []string{"key {t1}:s:3 holds 5, want 7"}}, nil)
	assert.EqualError(t, err, "2 writes lost, 1 duplicated (40 keys read back); first: key {t1}:s:3 holds 5, want 7")

	_, err = demoVerdict(workload.Verdict{}, nil)
	assert.ErrorContains(t, err, "no key was read back")

	_, err = demoVerdict(workload.Verdict{Checked: 40}, errors.New("reshard: exit status 1"))
	assert.EqualError(t, err, "a topology operation failed: reshard: exit status 1")
}

func TestBenchVerdict(t *testing.T) {
	ok := []benchResult{{Client: "clusterhop"}, {Client: "hook"}, {Client: "go-redis"}}
	pass, err := benchVerdict(ok)
	require.NoError(t, err)
	assert.Equal(t, "3 measurements, no client had errors", pass)
	_, err = benchVerdict(append(ok, benchResult{Client: "hook", Workload: "getset", Concurrency: 16, Errors: 3}))
	assert.EqualError(t, err, "hook: 3 errors (getset ×16)")

	events := []eventResult{{Client: "clusterhop"}, {Client: "hook"}, {Client: "go-redis", Errors: 9, Duplicated: 2}}
	_, err = eventVerdict(&benchConfig{reshard: 10}, events)
	require.NoError(t, err, "go-redis is the comparison, not the verdict")
	events[0].Errors, events[0].FirstErrorText = 1, "MOVED 1 x:1"
	_, err = eventVerdict(&benchConfig{reshard: 10}, events)
	assert.EqualError(t, err, "clusterhop: 1 errors during the resharding (first: MOVED 1 x:1)")
	_, err = eventVerdict(&benchConfig{failover: true}, events)
	require.NoError(t, err, "a killed primary may surface in-doubt errors")
	events[1].Lost = 1
	_, err = eventVerdict(&benchConfig{failover: true}, events)
	assert.EqualError(t, err, "hook: 1 writes lost, 0 duplicated")
}

// TestBenchLocal runs the benchmark against a cluster it starts itself, as
// a user would, in its shortest form.
func TestBenchLocal(t *testing.T) {
	cluster.Require(t)
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "--local", "--duration", "300ms", "--rounds", "2", "--concurrency", "1,4", "--json"}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	var results []benchResult
	require.NoError(t, json.Unmarshal(out.Bytes(), &results), out.String())
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Client] = true
		assert.Positive(t, r.OpsPerSec, "%+v", r)
		assert.Zero(t, r.Errors, "%+v", r)
		assert.Equal(t, 2, r.Rounds)
	}
	// go-redis AP joins them with go-redis v9.22 and later.
	for _, c := range []string{"clusterhop", "hook", "go-redis", "valkey-go"} {
		assert.True(t, seen[c], "no figures for %s", c)
	}
	require.Len(t, results, 2*2*len(seen), "two workloads × two concurrencies × each client")
	assert.True(t, strings.HasSuffix(errOut.String(), fmt.Sprintf("\nPASS: %d measurements, no client had errors\n", len(results))), errOut.String())
}

// TestBenchReshardLocal runs every client through a resharding of the
// cluster the benchmark starts.
func TestBenchReshardLocal(t *testing.T) {
	cluster.Require(t)
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "--local", "--reshard", "100", "--duration", "1s", "--event-workers", "4", "--json"}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	assert.True(t, strings.HasSuffix(errOut.String(), "\nPASS: clusterhop and hook lost and duplicated no write\n"), errOut.String())
	var results []eventResult
	require.NoError(t, json.Unmarshal(out.Bytes(), &results), out.String())
	require.Len(t, results, 4, "clusterhop, hook, go-redis, go-redis+attach")
	for _, r := range results {
		assert.Positive(t, r.Operations, "%+v", r)
		if r.Client == "clusterhop" || r.Client == "hook" {
			assert.Zero(t, r.Errors, "%+v", r)
			assert.Zero(t, r.Lost, "%+v", r)
			assert.Zero(t, r.Duplicated, "%+v", r)
		}
	}
}

// TestDemoOnRealClusterWithReshard runs the demo against a real cluster
// while redis-cli reshards it.
func TestDemoOnRealClusterWithReshard(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Config{Primaries: 3})
	var out, errOut bytes.Buffer
	code := run([]string{"demo", "--addr", c.Primaries()[0], "--reshard", "300", "--duration", "6s", "--json", "--clients", "8"}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	var rep report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	assert.Zero(t, rep.SurfacedErrors, "%v", rep.ErrorSamples)
	assert.Zero(t, rep.Verdict.Lost)
	assert.Zero(t, rep.Verdict.Duplicated)
	assert.Len(t, rep.Timeline, 2, "%v", rep.Timeline)
	assert.Positive(t, rep.Redirects["MOVED"]+rep.Redirects["ASK"], "the clients met the resharding: %v", rep.Redirects)
}

// TestConnectionFlagsRealCluster runs every command that takes --addr
// against a real cluster that serves TLS only and has the default user
// off, with --tls --tls-ca --user --password.
func TestConnectionFlagsRealCluster(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Config{Primaries: 3, TLS: true, Users: []string{"ops on >opspass ~* &* +@all"}})
	addr := c.Primaries()[0]
	conn := []string{"--addr", addr, "--tls", "--tls-ca", c.CAFile(), "--user", "ops", "--password", "opspass"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"topology", append([]string{"topology"}, conn...), 0, "PASS: 3 shards, 3 nodes"},
		{"demo", append([]string{"demo", "--duration", "2s", "--clients", "4"}, conn...), 0, "PASS: "},
		{"demo with reshard", append([]string{"demo", "--duration", "4s", "--clients", "4", "--reshard", "40"}, conn...), 0, "reshard done: 40 slots"},
		{"bench", append([]string{"bench", "--duration", "200ms", "--rounds", "1", "--concurrency", "2", "--workload", "getset"}, conn...), 0, "measurements, no client had errors"},
		{"wrong password", []string{"topology", "--addr", addr, "--tls", "--tls-ca", c.CAFile(), "--user", "ops", "--password", "nope"}, 1,
			"FAIL: asking " + addr + " for the topology: WRONGPASS invalid username-password pair or user is disabled.\n"},
		{"no tls", []string{"topology", "--addr", addr, "--user", "ops", "--password", "opspass", "--timeout", "2s"}, 1, "(if the node serves TLS only, add --tls)\n"},
		{"untrusted CA", []string{"topology", "--addr", addr, "--tls", "--user", "ops", "--password", "opspass"}, 1, "certificate"},
		{"no user", []string{"topology", "--addr", addr, "--tls", "--tls-ca", c.CAFile()}, 1, "FAIL: asking " + addr + " for the topology: NOAUTH Authentication required.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("REDISCLI_AUTH", "")
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			assert.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out.String(), errOut.String())
			assert.Contains(t, errOut.String(), tc.want)
			lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
			t.Log(lines[len(lines)-1])
			if tc.code == 0 {
				assert.True(t, strings.HasPrefix(lines[len(lines)-1], "PASS"), errOut.String())
			} else {
				assert.True(t, strings.HasPrefix(lines[len(lines)-1], "FAIL: "), errOut.String())
			}
		})
	}
}
