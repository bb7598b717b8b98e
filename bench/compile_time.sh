#!/usr/bin/env bash
# What recall costs a translation unit to compile (issue #22's figures): a plain TU, the umbrella
# header alone, one memoized function and two, with g++ and clang++ at -O2 and -O0, each the best
# of N runs of CPU time (user + system of the compiler, so a busy machine skews it less than wall
# time), with peak memory and the size of a linked one-function program. Prints a markdown table.
#
# usage: bench/compile_time.sh [RUNS]      (RUNS defaults to 3; run from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/plain.cpp" <<'EOF'
#include <cstdio>
double sim(double x) { return x * x; }
int main() { std::printf("%f\n", sim(2.0)); }
EOF
cat >"$work/include_only.cpp" <<'EOF'
#include <recall/recall.hpp>
int main() {}
EOF
cat >"$work/one.cpp" <<'EOF'
#include <cstdio>
#include <recall/recall.hpp>
double sim(double x) { return x * x; }
int main() {
  recall::memoize<&sim> memo;
  std::printf("%f\n", memo(2.0));
}
EOF
cat >"$work/two.cpp" <<'EOF'
#include <cstdio>
#include <vector>
#include <recall/recall.hpp>
double sim(double x) { return x * x; }
std::vector<double> run(int n, double dt) { return std::vector<double>(static_cast<std::size_t>(n), dt); }
int main() {
  recall::memoize<&sim> memo;
  recall::memoize<&run> memo_run;
  std::printf("%f %zu\n", memo(2.0), memo_run(3, 0.5).size());
}
EOF

# best CPU seconds and peak MiB over $runs compiles of FILE with COMPILER FLAGS
measure() {
  local compiler=$1 level=$2 file=$3 best="" mem=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%U %S %M" -o "$work/time" "$compiler" -std=c++20 "$level" -Iinclude -c "$work/$file.cpp" \
      -o "$work/$file.o"
    read -r user sys kib <"$work/time"
    local cpu
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    if [ -z "$best" ] || awk -v c="$cpu" -v b="$best" 'BEGIN { exit !(c < b) }'; then best=$cpu mem=$((kib / 1024)); fi
  done
  echo "$best $mem"
}

echo "| compiler | level | plain TU | #include <recall/recall.hpp> | one memoized function | two | peak memory (one) | program size (one) |"
echo "|---|---|---|---|---|---|---|---|"
for compiler in g++ clang++-16; do
  command -v "$compiler" >/dev/null || continue
  for level in -O2 -O0; do
    read -r plain _ < <(measure "$compiler" "$level" plain)
    read -r include _ < <(measure "$compiler" "$level" include_only)
    read -r one one_mem < <(measure "$compiler" "$level" one)
    read -r two _ < <(measure "$compiler" "$level" two)
    "$compiler" "$work/one.o" -o "$work/one" -pthread -ldl
    size=$(stat -c %s "$work/one")
    printf '| %s | %s | %.2f s | %.2f s | %.2f s | %.2f s (+%.2f) | %d MiB | %d KiB |\n' "$compiler" "$level" "$plain" \
      "$include" "$one" "$two" "$(awk -v t="$two" -v o="$one" 'BEGIN { print t - o }')" "$one_mem" $((size / 1024))
  done
done
