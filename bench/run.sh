#!/usr/bin/env bash
# The one command behind docs/PERFORMANCE.md: installs what is missing (Debian packages), builds
# the bench suite in release mode in build-bench/, runs it, the callgrind probes, hyperfine and the
# Python side (joblib.Memory, diskcache, functools.lru_cache), and prints one table with each ratio.
#
# usage: bench/run.sh [--quick] [--markdown FILE] [other bench/compare.py options]
#   BENCH_BUILD_DIR   build folder (default build-bench); caches live in <build>/bench-data, where
#                     the 1,000,000-entry population (~4 GB, 1M inodes) is generated once and kept.
#                     Remove it with: rm -rf build-bench/bench-data
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps --with-bench
build=${BENCH_BUILD_DIR:-build-bench}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release -Dbench=enabled -Dtests=disabled -Dexamples=false \
    --wrap-mode=nodownload >/dev/null
else
  meson configure "$build" -Dbuildtype=release -Dbench=enabled >/dev/null
fi
ninja -C "$build" >/dev/null
python=/usr/bin/python3  # Debian's, where the --with-bench packages are (pyenv shims hide them)
[ -x "$python" ] || python=python3
exec "$python" bench/compare.py --build "$build" "$@"
