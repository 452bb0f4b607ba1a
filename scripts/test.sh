#!/usr/bin/env bash
# Runs go test -race on the given packages, keeps the full log, prints the
# package lines and, at the end, one summary line: N passed, N failed, N skipped.
set -uo pipefail

log=$(mktemp -t clusterhop-test.XXXXXX)
trap 'rm -f "$log"' EXIT

go test -race -count=1 -timeout 20m -v "$@" >"$log" 2>&1
status=$?

# Under CI, integration tests that were meant to run but skipped (no server)
# are a failure, not a pass.
if [ "${CI:-}" = true ] && [ "${CLUSTERHOP_INTEGRATION:-}" = 1 ] && grep -qE 'NOTICE: (integration test|TestRealCluster) skipped' "$log"; then
  echo "CI: integration tests were skipped:"
  grep -E 'NOTICE: (integration test|TestRealCluster) skipped' "$log" | sort | uniq -c | head
  status=1
fi

# Package results, skips with their reasons, and failures in full.
grep -E '^(ok|FAIL|---|panic:|\?)|^\s+--- (FAIL|SKIP)|NOTICE' "$log" | grep -v -- '--- PASS' || true
if [ $status -ne 0 ]; then
  echo
  echo "==== failing output ===="
  grep -B2 -A30 -E -- '--- FAIL|^panic:|^FAIL\s' "$log" | head -400
fi

passed=$(grep -cE '^\s*--- PASS' "$log")
failed=$(grep -cE '^\s*--- FAIL' "$log")
skipped=$(grep -cE '^\s*--- SKIP' "$log")
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
