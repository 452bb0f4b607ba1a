#!/usr/bin/env bash
# Regenerates replies.txt (Redis) or replies-valkey.txt (Valkey): starts
# throwaway server processes on free loopback ports, provokes every error
# reply we can provoke for real, and records each reply's exact text with
# the command that produced it.
# Usage: classify/testdata/capture.sh > classify/testdata/replies.txt
#        classify/testdata/capture.sh valkey-server valkey-cli > classify/testdata/replies-valkey.txt
set -euo pipefail

server=${1:-redis-server}
client=${2:-redis-cli}

work=$(mktemp -d -t clusterhop-capture.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# free_port prints a loopback port that is free, with its cluster bus port
# (port+10000) free too.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null &&
       ! (exec 3<>/dev/tcp/127.0.0.1/$((p + 10000))) 2>/dev/null; then
      echo "$p"; return
    fi
  done
}

# start PORT [redis-server options...]
start() {
  local port=$1; shift
  mkdir -p "$work/$port"
  "$server" --port "$port" --bind 127.0.0.1 --dir "$work/$port" --save '' \
    --appendonly no --daemonize no --logfile "$work/$port/log" "$@" &
  pids+=($!)
  wait_for "$client" -p "$port" ping >/dev/null 2>&1
}

cli() { local port=$1; shift; "$client" -p "$port" "$@"; }

# wait_for COMMAND...: runs COMMAND until it succeeds; gives up after 30 s.
wait_for() {
  local deadline=$((SECONDS + 30))
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then echo "capture.sh: timed out: $*" >&2; exit 1; fi
    sleep 0.05
  done
}

# emit KIND COMMENT TEXT: one record of replies.txt.
emit() {
  printf '# %s\n%s\t%s\n' "$2" "$1" "$3"
}

# first_error: the first line of stdin that is an error reply (redis-cli
# prints replies raw when its output is not a terminal).
first_line() { grep -m1 -E "^$1( |\$)" || true; }

version=$("$server" --version | sed -E 's/.*v=([0-9.]+).*/\1/')
echo "# Error replies captured from $(basename "$server") $version by capture.sh."
echo "# Format: a comment naming the command, then <expected kind> TAB <reply text>."

# --- A two-primary cluster: A owns 0-8191, B owns 8192-16383.
pa=$(free_port); start "$pa" --cluster-enabled yes --cluster-config-file "$work/$pa.conf"
pb=$(free_port); start "$pb" --cluster-enabled yes --cluster-config-file "$work/$pb.conf"
cli "$pa" cluster addslotsrange 0 8191 >/dev/null
cli "$pb" cluster addslotsrange 8192 16383 >/dev/null
cli "$pa" cluster set-config-epoch 1 >/dev/null
cli "$pb" cluster set-config-epoch 2 >/dev/null
cli "$pa" cluster meet 127.0.0.1 "$pb" >/dev/null
cluster_ok() { cli "$1" cluster info | grep -q 'cluster_state:ok'; }
wait_for cluster_ok "$pa"
wait_for cluster_ok "$pb"
ida=$(cli "$pa" cluster myid)
idb=$(cli "$pb" cluster myid)

emit MOVED "GET foo on the node that does not own slot $(cli "$pa" cluster keyslot foo)" \
  "$(cli "$pa" get foo | first_line MOVED)"

slot=$(cli "$pa" cluster keyslot bar)
cli "$pa" set '{bar}present' 1 >/dev/null
cli "$pb" cluster setslot "$slot" importing "$ida" >/dev/null
cli "$pa" cluster setslot "$slot" migrating "$idb" >/dev/null
emit ASK "GET bar while slot $slot is MIGRATING and bar is absent" \
  "$(cli "$pa" get bar | first_line ASK)"
emit TRYAGAIN "MGET {bar}present {bar}absent while slot $slot is MIGRATING" \
  "$(cli "$pa" mget '{bar}present' '{bar}absent' | first_line TRYAGAIN)"
emit MOVED "GET bar without ASKING on the IMPORTING node" \
  "$(cli "$pb" get bar | first_line MOVED)"
emit CROSSSLOT "MSET a 1 b 2 (two slots)" \
  "$(cli "$pa" mset a 1 b 2 | first_line CROSSSLOT)"

# --- One cluster node that owns a single slot range: the cluster is down.
pc=$(free_port); start "$pc" --cluster-enabled yes --cluster-config-file "$work/$pc.conf"
emit CLUSTERDOWN "GET foo on a cluster node where no node serves slot 12182" \
  "$(cli "$pc" get foo | first_line CLUSTERDOWN)"
cli "$pc" cluster addslotsrange 0 100 >/dev/null
key=""
for i in $(seq 1 100000); do
  if [ "$(cli "$pc" cluster keyslot "k$i")" -le 100 ]; then key="k$i"; break; fi
done
emit CLUSTERDOWN "GET $key (slot served) while slots 101-16383 are not covered" \
  "$(cli "$pc" get "$key" | first_line CLUSTERDOWN)"
cli "$pc" config set cluster-allow-reads-when-down yes >/dev/null
emit CLUSTERDOWN "SET $key 1 with cluster-allow-reads-when-down yes while the cluster is down" \
  "$(cli "$pc" set "$key" 1 | first_line CLUSTERDOWN)"

# --- A standalone primary S and its replica R.
ps=$(free_port); start "$ps" --enable-protected-configs yes
pr=$(free_port); start "$pr" --replicaof 127.0.0.1 "$ps"

emit NOSCRIPT "EVALSHA of an unknown script" \
  "$(cli "$ps" evalsha ffffffffffffffffffffffffffffffffffffffff 0 | first_line NOSCRIPT)"
cli "$ps" lpush list 1 >/dev/null
emit WRONGTYPE "GET list (a list)" "$(cli "$ps" get list | first_line WRONGTYPE)"
emit EXECABORT "MULTI, INCR (no argument), EXEC" \
  "$(printf 'MULTI\nINCR\nEXEC\n' | cli "$ps" | first_line EXECABORT)"
emit ERR "INCR without an argument" "$(cli "$ps" incr | first_line ERR)"
emit ERR "NOSUCHCOMMAND" "$(cli "$ps" nosuchcommand | first_line ERR)"
emit ERR "INCR list... on a string that is not an integer" \
  "$(cli "$ps" set str abc >/dev/null; cli "$ps" incr str | first_line ERR)"
emit ERR "CLUSTER SHARDS on a server without cluster support" \
  "$(cli "$ps" cluster shards | first_line ERR)"
cli "$ps" acl setuser reader on '>secret' '~*' '+get' >/dev/null
emit NOPERM "AUTH reader secret, then SET x 1 (reader may only GET)" \
  "$(printf 'AUTH reader secret\nSET x 1\n' | cli "$ps" | first_line NOPERM)"
emit WRONGPASS "AUTH reader wrong" "$(cli "$ps" auth reader wrong | first_line WRONGPASS)"
cli "$ps" set k v >/dev/null
emit BUSYKEY "RESTORE k 0 <DUMP k> (k exists)" \
  "$(printf 'RESTORE k 0 "\\x00\\x01v\\n\\x00\\xfbL\\xcc\\x9e\\xc1\\xb9/\\xa4"\n' | cli "$ps" | first_line BUSYKEY)"
cli "$ps" xgroup create s g '$' mkstream >/dev/null
emit BUSYGROUP "XGROUP CREATE s g \$ MKSTREAM (g exists)" \
  "$(cli "$ps" xgroup create s g '$' mkstream | first_line BUSYGROUP)"
emit NOGROUP "XREADGROUP GROUP nog c STREAMS s >" \
  "$(cli "$ps" xreadgroup group nog c streams s '>' | first_line NOGROUP)"
emit NOPROTO "HELLO 4" "$(cli "$ps" hello 4 | first_line NOPROTO)"
emit NOTBUSY "SCRIPT KILL (no script running)" "$(cli "$ps" script kill | first_line NOTBUSY)"
emit NOTBUSY "FUNCTION KILL (no function running)" "$(cli "$ps" function kill | first_line NOTBUSY)"
link_up() { cli "$pr" info replication | grep -q 'master_link_status:up'; }
wait_for link_up
emit READONLY "SET x 1 on a replica" "$(cli "$pr" set x 1 | first_line READONLY)"
# Valkey 8 answers a client that announced CLIENT CAPA redirect with
# REDIRECT to its primary, for writes and (without READONLY) reads; servers
# without the capability refuse CLIENT CAPA and have no such reply.
redirect=$(printf 'CLIENT CAPA redirect\nSET x 1\n' | cli "$pr" | first_line REDIRECT)
if [ -n "$redirect" ]; then
  emit REDIRECT "CLIENT CAPA redirect, then SET x 1 on a replica" "$redirect"
  emit REDIRECT "CLIENT CAPA redirect, then GET x on a replica" \
    "$(printf 'CLIENT CAPA redirect\nGET x\n' | cli "$pr" | first_line REDIRECT)"
fi

cli "$ps" config set min-replicas-to-write 2 >/dev/null
emit NOREPLICAS "SET x 1 with min-replicas-to-write 2 and one replica" \
  "$(cli "$ps" set x 1 | first_line NOREPLICAS)"
cli "$ps" config set min-replicas-to-write 0 >/dev/null

# UNBLOCKED: a client blocked in BLPOP, released with CLIENT UNBLOCK ERROR.
out="$work/blpop.out"
cli "$ps" blpop nothing 0 >"$out" &
blpop=$!
blocked() { cli "$ps" client list | grep -q 'cmd=blpop'; }
wait_for blocked
id=$(cli "$ps" client list | grep 'cmd=blpop' | sed -E 's/^id=([0-9]+).*/\1/')
cli "$ps" client unblock "$id" error >/dev/null
wait "$blpop" || true
emit UNBLOCKED "BLPOP nothing 0, then CLIENT UNBLOCK <id> ERROR" "$(first_line UNBLOCKED <"$out")"

# OOM: maxmemory 1 on the primary.
cli "$ps" config set maxmemory 1 >/dev/null
emit OOM "SET y 1 with maxmemory 1" "$(cli "$ps" set y 1 | first_line OOM)"
cli "$ps" config set maxmemory 0 >/dev/null

# MISCONF: a background save that fails because its directory is gone.
mkdir -p "$work/gone"
cli "$ps" config set dir "$work/gone" >/dev/null
cli "$ps" config set save "3600 1" >/dev/null
rmdir "$work/gone"
cli "$ps" bgsave >/dev/null || true
bgsave_failed() { cli "$ps" info persistence | grep -q 'rdb_last_bgsave_status:err'; }
wait_for bgsave_failed
emit MISCONF "SET z 1 after a failed BGSAVE (its directory was removed)" \
  "$(cli "$ps" set z 1 | first_line MISCONF)"
cli "$ps" config set save '' >/dev/null

# NOAUTH: a password on the primary.
cli "$ps" config set requirepass pw >/dev/null
emit NOAUTH "GET x without AUTH while requirepass is set" "$(cli "$ps" get x | first_line NOAUTH)"
emit WRONGPASS "AUTH wrong (requirepass set)" "$(cli "$ps" auth wrong | first_line WRONGPASS)"

# MASTERDOWN: a replica of a primary that is not there, serving no stale data.
pm=$(free_port); dead=$(free_port)
start "$pm" --replicaof 127.0.0.1 "$dead" --replica-serve-stale-data no
emit MASTERDOWN "GET x on a replica whose primary is unreachable (replica-serve-stale-data no)" \
  "$(cli "$pm" get x | first_line MASTERDOWN)"

# BUSY and UNKILLABLE: a script that never ends, on a throwaway server.
pb2=$(free_port); start "$pb2" --busy-reply-threshold 50
busy() { cli "$pb2" get x 2>/dev/null | grep -q '^BUSY'; }
cli "$pb2" eval 'while true do end' 0 >/dev/null 2>&1 &
wait_for busy
emit BUSY "GET x while EVAL 'while true do end' 0 runs" "$(cli "$pb2" get x | first_line BUSY)"
cli "$pb2" script kill >/dev/null
cli "$pb2" eval "redis.call('set','w','1') while true do end" 0 >/dev/null 2>&1 &
wait_for busy
emit UNKILLABLE "SCRIPT KILL while a script that already wrote runs" \
  "$(cli "$pb2" script kill | first_line UNKILLABLE)"
cli "$pb2" shutdown nosave >/dev/null 2>&1 || true

# LOADING: a server restarted on a 3000-key snapshot, loading each key slowly.
pl=$(free_port); start "$pl" --enable-debug-command local
cli "$pl" debug populate 3000 >/dev/null
cli "$pl" save >/dev/null
cli "$pl" shutdown nosave >/dev/null 2>&1 || true
start "$pl" --key-load-delay 1000 --loading-process-events-interval-bytes 1024
loading() { cli "$pl" get x 2>/dev/null | grep -q '^LOADING'; }
wait_for loading
emit LOADING "GET x while the server loads its snapshot" "$(cli "$pl" get x | first_line LOADING)"
