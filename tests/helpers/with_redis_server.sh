#!/usr/bin/env bash
# Runs a command against a private redis-server: started on 127.0.0.1 (a free port, no
# persistence) in a temporary folder, stopped by its pid when the command ends, whatever way it
# ends. The command finds the server in RECALL_REDIS_URL (redis://[:PASSWORD@]127.0.0.1:PORT/0)
# (its port in REDIS_PORT, its pid in REDIS_SERVER_PID, for a command that stops it to see what
# clients do then) and the temporary folder, for its own files too, in REDIS_WORK_DIR; the
# command's exit code is returned.
#
# usage: with_redis_server.sh [--password PW] [--parent DIR] REDIS_SERVER COMMAND [ARG...]
#   --password PW  the server requires PW (requirepass)
#   --parent DIR   where the temporary folder goes (default: $TMPDIR or /tmp)
set -uo pipefail
password="" parent=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
  case $1 in
    --password) password=$2; shift 2 ;;
    --parent) parent=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "usage: with_redis_server.sh [--password PW] [--parent DIR] REDIS_SERVER COMMAND [ARG...]" >&2; exit 2; }
server=$1
shift
work=$(mktemp -d -p "$parent") || exit 2
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
auth=() credentials=""
if [ -n "$password" ]; then auth=(--requirepass "$password"); credentials=":$password@"; fi
"$server" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" \
  --daemonize no "${auth[@]}" &
pid=$!
for _ in $(seq 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
export RECALL_REDIS_URL="redis://${credentials}127.0.0.1:$port/0" REDIS_PORT=$port REDIS_SERVER_PID=$pid REDIS_WORK_DIR=$work
"$@"
