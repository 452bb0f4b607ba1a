#!/usr/bin/env bash
# Makes sure a Redis or Valkey server (7.0 or newer, which the cluster
# harness in integration/cluster needs) is available for the integration
# tests: the binary named by CLUSTERHOP_SERVER, else valkey-server, else
# redis-server on PATH. When none is found and we are root with apt-get, it
# installs Debian's redis-server. Without a usable server the integration
# tests skip with a notice; under CI=true this script fails instead.
set -euo pipefail

# find_server prints the path of the server the harness will use, if any.
find_server() {
  if [ -n "${CLUSTERHOP_SERVER:-}" ]; then
    command -v "$CLUSTERHOP_SERVER" || true
    return
  fi
  command -v valkey-server || command -v redis-server || true
}

# server_major prints the major version of the server at $1 ("v=7.0.15" -> 7).
server_major() {
  "$1" --version 2>/dev/null | sed -n 's/.*v=\([0-9][0-9]*\)\..*/\1/p' | head -n1
}

usable() {
  local server major
  server=$(find_server)
  [ -n "$server" ] || return 1
  major=$(server_major "$server")
  if [ -z "$major" ] || [ "$major" -lt 7 ]; then
    echo "ensure-server: $server is version ${major:-unknown}; the cluster harness needs 7.0 or newer" >&2
    return 1
  fi
  echo "ensure-server: using $server ($("$server" --version | sed -n 's/.*\(v=[^ ]*\).*/\1/p'))" >&2
}

if usable; then
  exit 0
fi
if [ -z "${CLUSTERHOP_SERVER:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-server: installing redis-server with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  # Debian may start a system service on 6379; the tests do not use it.
  (service redis-server stop || systemctl stop redis-server || true) >/dev/null 2>&1
  if usable; then
    exit 0
  fi
fi
if [ -n "${CLUSTERHOP_SERVER:-}" ]; then
  echo "ensure-server: CLUSTERHOP_SERVER=$CLUSTERHOP_SERVER is not a usable server." >&2
else
  echo "ensure-server: no usable redis-server or valkey-server, and cannot install one (need root and apt-get)." >&2
fi
echo "ensure-server: integration tests will skip; install redis-server 7 or valkey-server to run them." >&2
if [ "${CI:-}" = true ]; then
  exit 1
fi
