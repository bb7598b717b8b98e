#!/usr/bin/env bash
# Measures the Redis store on loopback, for docs/REDIS.md: starts a redis-server on 127.0.0.1 (a
# free port, no persistence) in a temporary folder, runs `redis-helper bench`, and stops the
# server by its pid.
#
# usage: tests/helpers/redis_bench.sh BUILD_DIR [N [PARENT]]
#   BUILD_DIR  a meson build with hiredis; build the helper first:
#              ninja -C BUILD_DIR tests/redis/redis-helper
#   N          runs per figure (default 2000)
#   PARENT     where the temporary folder (server files, local cache) goes (default: $TMPDIR
#              or /tmp); /dev/shm puts the local directory tier on tmpfs
set -euo pipefail
build=${1:?usage: redis_bench.sh BUILD_DIR [N [PARENT]]}
runs=${2:-2000}
parent=${3:-${TMPDIR:-/tmp}}
helper=$build/tests/redis/redis-helper
[ -x "$helper" ] || { echo "redis_bench.sh: $helper is missing: ninja -C $build tests/redis/redis-helper" >&2; exit 2; }
work=$(mktemp -d -p "$parent")
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
pid=$!
for _ in $(seq 100); do
  redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.05
done
echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port, $(nproc) cores, $runs runs, local cache in $work ($(stat -f -c %T "$work"))"
"$helper" bench "redis://127.0.0.1:$port/0" "$work/cache" "$runs"
