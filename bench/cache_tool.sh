#!/usr/bin/env bash
# Times recall-cache on a large cache, for docs/PERFORMANCE.md ("recall-cache on 1,000,000
# entries"): info, info --json, prune dry runs (lru and cost), and a real prune of 10 %. The
# population (N small entries over 20 functions, ~4 KB of disk each) is made once by
# cache-population and topped up after the prune, so reruns are quick. Figures are wall-clock,
# warm page cache (the machine is shared: dropping caches would disturb others).
#
# usage: bench/cache_tool.sh BUILD_DIR [N [PARENT]]
#   BUILD_DIR  a meson build with bench and tool enabled (bench/run.sh's build-bench works):
#              ninja -C BUILD_DIR src/recall-cache/recall-cache bench/cache-population
#   N          entries (default 1000000)
#   PARENT     where the population lives (default BUILD_DIR/bench-data); it is kept
set -euo pipefail
build=${1:?usage: cache_tool.sh BUILD_DIR [N [PARENT]]}
n=${2:-1000000}
parent=${3:-$build/bench-data}
tool=$build/src/recall-cache/recall-cache
populate=$build/bench/cache-population
for p in "$tool" "$populate"; do
  [ -x "$p" ] || { echo "cache_tool.sh: $p is missing: ninja -C $build src/recall-cache/recall-cache bench/cache-population" >&2; exit 2; }
done
root=$parent/tool-population-$n
mkdir -p "$parent"
echo "population: $("$populate" "$root" "$n")"
echo "machine: $(nproc) cores, $(stat -f -c %T "$root") filesystem, $(du -sh "$root" | cut -f1) on disk"
run() { # label, command...: prints the wall time of one run and the command's last line
  local label=$1; shift
  local start end last
  start=$(date +%s.%N)
  last=$("$@" 2>/dev/null | tail -1)
  end=$(date +%s.%N)
  printf '%-44s %7.2f s   %s\n' "$label" "$(echo "$end - $start" | bc)" "$last"
}
export RECALL_CACHE_DIR=$root
"$tool" info >/dev/null # warms the page cache, as a second look at a cache would find it
for i in 1 2 3; do
  run "info (run $i)" "$tool" info
done
run "info --json" "$tool" info --json
run "prune --dry-run --max-count $((n / 2)) (lru)" "$tool" prune --dry-run --max-count $((n / 2))
run "prune --dry-run --max-age 30d (lru)" "$tool" prune --dry-run --max-age 30d
run "prune --dry-run --policy cost --max-count $((n / 2))" "$tool" prune --dry-run --policy cost --max-count $((n / 2))
run "prune --max-count $((n * 9 / 10)) (lru, removes 10 %)" "$tool" prune --max-count $((n * 9 / 10))
echo "top-up: $("$populate" "$root" "$n")"
