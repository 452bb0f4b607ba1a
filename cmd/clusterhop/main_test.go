package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clusterhop/clusterhop/integration/cluster"
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
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage:"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
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
		{[]string{"bench", "--local", "--reshard", "-1"}, 2, "--reshard takes"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			assert.Equal(t, tc.code, run(tc.args, &out, &errOut))
			assert.Contains(t, errOut.String(), tc.want)
		})
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"", "demo", "bench", "slot"} {
		var out, errOut bytes.Buffer
		args := []string{"help"}
		if cmd != "" {
			args = append(args, cmd)
		}
		require.Equal(t, 0, run(args, &out, &errOut), cmd)
		assert.Contains(t, out.String(), "Usage")
	}
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
	require.Len(t, results, 2*2*3, "two workloads × two concurrencies × three clients")
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Client] = true
		assert.Positive(t, r.OpsPerSec, "%+v", r)
		assert.Zero(t, r.Errors, "%+v", r)
		assert.Equal(t, 2, r.Rounds)
	}
	assert.Len(t, seen, 3)
}

// TestBenchReshardLocal runs every client through a resharding of the
// cluster the benchmark starts.
func TestBenchReshardLocal(t *testing.T) {
	cluster.Require(t)
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "--local", "--reshard", "100", "--duration", "1s", "--event-workers", "4", "--json"}, &out, &errOut)
	require.Equal(t, 0, code, "stderr: %s", errOut.String())
	var results []eventResult
	require.NoError(t, json.Unmarshal(out.Bytes(), &results), out.String())
	require.Len(t, results, 3)
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
