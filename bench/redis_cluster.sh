#!/usr/bin/env bash
# The Redis Cluster row of docs/REDIS.md: a hit through redis_store on redis+cluster:// against a
# raw hiredis GET to the node owning the key. Starts three redis-server --cluster-enabled yes on
# free loopback ports, joins them with redis-cli --cluster create, runs bench/redis-cluster-hit,
# and stops them by pid. Not a test: numbers only. bench/compare.py (bench/run.sh) runs it for its
# Redis Cluster row.
#
# usage: bench/redis_cluster.sh BUILD_DIR [N]
#   BUILD_DIR  a meson build with hiredis and -Dbench=enabled (build the program first:
#              ninja -C BUILD_DIR bench/redis-cluster-hit); a release build for real figures
#   N          hits per figure (default 5000)
set -euo pipefail
build=${1:?usage: bench/redis_cluster.sh BUILD_DIR [N]}
runs=${2:-5000}
hit=$build/bench/redis-cluster-hit
[ -x "$hit" ] || { echo "redis_cluster.sh: $hit is missing: ninja -C $build bench/redis-cluster-hit" >&2; exit 2; }
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  { echo "redis_cluster.sh: redis-server and redis-cli are needed" >&2; exit 2; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
nodes=()
for _ in 1 2 3; do
  # A free port at most 55535 whose cluster bus port (+10000) is free too: redis-server refuses higher.
  port=$(python3 -c '
import random, socket
while True:
    port = random.randint(20000, 55535)
    try:
        for p in (port, port + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
    except OSError:
        continue
    print(port)
    break')
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --cluster-enabled yes \
    --cluster-config-file "$work/nodes-$port.conf" --dir "$work" --logfile "$work/$port.log" --daemonize no &
  pids+=($!)
  nodes+=("127.0.0.1:$port")
done
for node in "${nodes[@]}"; do
  up=0
  for _ in $(seq 200); do redis-cli -p "${node#*:}" ping >/dev/null 2>&1 && { up=1; break; }; sleep 0.05; done
  [ "$up" = 1 ] || { echo "redis_cluster.sh: the node on ${node} did not start (port taken?); run again" >&2; exit 1; }
done
timeout 30 redis-cli --cluster create "${nodes[@]}" --cluster-yes >/dev/null
for node in "${nodes[@]}"; do
  for _ in $(seq 200); do redis-cli -p "${node#*:}" cluster info | grep -q cluster_state:ok && break; sleep 0.05; done
done
echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), 3 masters on loopback, $(nproc) cores, $runs hits"
"$hit" "redis+cluster://${nodes[0]}" "$runs"
