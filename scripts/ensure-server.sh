#!/usr/bin/env bash
# Makes sure a Redis or Valkey server binary is on PATH for the integration
# tests: installs Debian's redis-server when it is missing and we are root.
# Without one, the integration tests skip with a notice (and fail under CI=true).
set -euo pipefail

if [ -n "${CLUSTERHOP_SERVER:-}" ] || command -v valkey-server >/dev/null 2>&1 || command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-server: redis-server is missing; installing it with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  # Debian starts a system service on 6379; the tests do not use it.
  (service redis-server stop || systemctl stop redis-server || true) >/dev/null 2>&1
  exit 0
fi
echo "ensure-server: no redis-server or valkey-server, and cannot install one (need root and apt-get)." >&2
echo "ensure-server: integration tests will skip; install redis-server to run them." >&2
if [ "${CI:-}" = true ]; then
  exit 1
fi
