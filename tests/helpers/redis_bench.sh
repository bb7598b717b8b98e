#!/usr/bin/env bash
# Measures the Redis store on loopback, for docs/REDIS.md: runs `redis-helper bench` against a
# private redis-server (tests/helpers/with_redis_server.sh starts and stops it).
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
command -v redis-server >/dev/null || { echo "redis_bench.sh: redis-server is not installed" >&2; exit 2; }
# shellcheck disable=SC2016 # expanded by the inner shell, once the server is up
exec "$(dirname "$0")/with_redis_server.sh" --parent "$parent" "$(command -v redis-server)" bash -c '
echo "redis-server $(redis-server --version | sed -n "s/.*v=\([^ ]*\).*/\1/p") on ${RECALL_REDIS_URL#redis://}, $(nproc) cores, $2 runs, local cache in $REDIS_WORK_DIR ($(stat -f -c %T "$REDIS_WORK_DIR"))"
"$1" bench "$RECALL_REDIS_URL" "$REDIS_WORK_DIR/cache" "$2"' redis_bench "$helper" "$runs"
