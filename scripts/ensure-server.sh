#!/usr/bin/env bash
# Makes sure the servers the integration tests run against are available:
# Redis 7 (redis-server, redis-cli) and Valkey 8 (valkey-server, valkey-cli).
# The harness in integration/cluster runs its real-cluster tests once per
# installed server. When one is missing and we are root on Debian, this
# installs it: redis-server and redis-tools from the release's own suite,
# valkey-server and valkey-tools from bookworm-backports (added to apt's
# sources first). A server that stays missing is a visible notice locally
# (its tests skip with a NOTICE line) and a failure under CI=true.
#
# CLUSTERHOP_SERVER=/path/to/server limits the suite to that one binary; then
# only that binary is checked and nothing is installed.
set -euo pipefail

# server_major prints the major version of the server at $1 ("v=7.0.15" -> 7).
server_major() {
  "$1" --version 2>/dev/null | sed -n 's/.*v=\([0-9][0-9]*\)\..*/\1/p' | head -n1
}

# usable NAME reports whether server binary NAME is on PATH and is 7.0 or newer.
usable() {
  local path major
  path=$(command -v "$1" 2>/dev/null) || return 1
  major=$(server_major "$path")
  if [ -z "$major" ] || [ "$major" -lt 7 ]; then
    echo "ensure-server: $path is version ${major:-unknown}; the cluster harness needs 7.0 or newer" >&2
    return 1
  fi
  echo "ensure-server: $1 at $path ($("$path" --version | sed -n 's/.*\(v=[^ ]*\).*/\1/p'))" >&2
}

may_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -r /etc/debian_version ]
}

# stop_service NAME stops a system service the package may have started; the
# tests start their own servers on free ports and never use it.
stop_service() {
  (service "$1" stop || systemctl stop "$1" || true) >/dev/null 2>&1
  # Without an init system the package's postinst may still have left a
  # daemon on the default port; stop it by its pid file.
  local pidfile
  for pidfile in "/run/$1/$1.pid" "/var/run/$1/$1.pid"; do
    if [ -s "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
}

# add_backports writes an apt source for bookworm-backports with the URIs and
# key of the existing Debian entry, unless one is there already.
add_backports() {
  local codename src uris signed
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 1
  if grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return 0
  fi
  src=/etc/apt/sources.list.d/debian.sources
  uris=http://deb.debian.org/debian
  signed=/usr/share/keyrings/debian-archive-keyring.gpg
  if [ -r "$src" ]; then
    # The first stanza is the main archive (the second, -security, has its own URI).
    uris=$(awk '/^URIs:/ {print $2; exit}' "$src")
    signed=$(awk '/^Signed-By:/ {print $2; exit}' "$src")
  fi
  echo "ensure-server: adding ${codename}-backports to apt's sources" >&2
  cat >"/etc/apt/sources.list.d/${codename}-backports.sources" <<EOF
Types: deb
URIs: ${uris}
Suites: ${codename}-backports
Components: main
Signed-By: ${signed}
EOF
}

install_redis() {
  echo "ensure-server: installing redis-server and redis-tools with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
  stop_service redis-server
}

install_valkey() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  add_backports || return 1
  apt-get update -qq
  echo "ensure-server: installing valkey-server and valkey-tools from ${codename}-backports with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t "${codename}-backports" valkey-server valkey-tools >/dev/null
  stop_service valkey-server
}

if [ -n "${CLUSTERHOP_SERVER:-}" ]; then
  if usable "$CLUSTERHOP_SERVER"; then
    exit 0
  fi
  echo "ensure-server: CLUSTERHOP_SERVER=$CLUSTERHOP_SERVER is not a usable server." >&2
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi

missing=()
usable redis-server || missing+=(redis)
usable valkey-server || missing+=(valkey)
if [ ${#missing[@]} -gt 0 ] && may_install; then
  updated=
  for s in "${missing[@]}"; do
    case $s in
    redis)
      [ -n "$updated" ] || { apt-get update -qq; updated=1; }
      install_redis || echo "ensure-server: installing redis-server failed" >&2
      ;;
    valkey)
      install_valkey || echo "ensure-server: installing valkey-server failed" >&2
      ;;
    esac
  done
  missing=()
  usable redis-server || missing+=(redis-server)
  usable valkey-server || missing+=(valkey-server)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "NOTICE: ensure-server: ${missing[*]} not available (installing needs root and apt-get on Debian);" >&2
echo "NOTICE: ensure-server: the integration tests for it skip." >&2
if [ "${CI:-}" = true ]; then
  exit 1
fi
