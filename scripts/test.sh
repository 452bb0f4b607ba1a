#!/usr/bin/env bash
# Runs go test -race on the given packages and prints, as each package
# finishes, its result line with its failed and skipped tests (and the
# NOTICE lines of skipped integration tests); at the end, the failing output
# and one summary line: N passed, N failed, N skipped. The exit status is
# go test's (or 1 when CI finds skipped integration tests).
#
# The full -v log goes to $CLUSTERHOP_TEST_LOG when set; otherwise to a
# temporary file that is removed after a passing run and kept, with its path
# printed, after a failing one.
set -uo pipefail

if [ -n "${CLUSTERHOP_TEST_LOG:-}" ]; then
  log=$CLUSTERHOP_TEST_LOG
  : >"$log"
  keep=always
else
  log=$(mktemp -t clusterhop-test.XXXXXX)
  keep=on-failure
fi

echo "go test -race $* — results appear as each package finishes (full log: $log)"

# go test -v with several packages prints each package's output once that
# package ends (in the order of the package list), so the filter below shows
# results package by package while later ones still run.
# PIPESTATUS[0] is go test's status: grep exits 1 when it matches nothing.
go test -race -count=1 -timeout 20m -v "$@" 2>&1 |
  tee "$log" |
  grep --line-buffered -E '^(ok|FAIL|\?|panic:)|^# |^[^[:space:]]+\.go:[0-9]+(:[0-9]+)?: |^\s*--- (FAIL|SKIP)|NOTICE'
status=${PIPESTATUS[0]}

# Under CI, integration tests that were meant to run but skipped (no server)
# are a failure, not a pass.
if [ "${CI:-}" = true ] && [ "${CLUSTERHOP_INTEGRATION:-}" = 1 ] && grep -qE 'NOTICE: (integration test|TestRealCluster) skipped' "$log"; then
  echo
  echo "CI: integration tests were skipped:"
  grep -E 'NOTICE: (integration test|TestRealCluster) skipped' "$log" | sort | uniq -c | head
  status=1
fi

passed=$(grep -cE '^\s*--- PASS' "$log")
failed=$(grep -cE '^\s*--- FAIL' "$log")
skipped=$(grep -cE '^\s*--- SKIP' "$log")

if [ "$status" -ne 0 ]; then
  echo
  echo "==== failing output ===="
  # Build errors: a "# package" line and the compiler's lines after it.
  # Test failures and panics: with the lines around them.
  awk '/^# /{b=1; print; next} b && /^[^[:space:]]+\.go:[0-9]+/{print; next} {b=0}' "$log" | head -100
  grep -B2 -A30 -E -- '--- FAIL|^panic:|^FAIL\s' "$log" | head -400
  echo
  echo "full log: $log"
elif [ "$keep" = on-failure ]; then
  rm -f "$log"
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
