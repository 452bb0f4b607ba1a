#!/usr/bin/env bash
# Runs the suite against the newest go-redis v9 without changing go.mod:
# a copy of go.mod/go.sum is upgraded and passed with -modfile.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp go.mod "$tmp/go.mod"
cp go.sum "$tmp/go.sum"
go get -modfile="$tmp/go.mod" github.com/redis/go-redis/v9@latest
# The upgrade may pull newer test dependencies: record all their sums.
go mod tidy -modfile="$tmp/go.mod"
echo "test-latest: $(grep 'redis/go-redis/v9 ' "$tmp/go.mod")"
CLUSTERHOP_INTEGRATION=1 GOFLAGS="-modfile=$tmp/go.mod" ./scripts/test.sh ./...
