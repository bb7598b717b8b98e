#!/usr/bin/env bash
# Runs the Redis-shared example against a real redis-server started here on 127.0.0.1 (a free
# port, no persistence, in a temporary folder) and stopped by its pid.
# usage: redis_check.sh REDIS_SHARED_EXAMPLE REDIS_SERVER
set -euo pipefail
example=$1 server=$2
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$server" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
RECALL_REDIS_URL=redis://127.0.0.1:$port/0 "$example"
