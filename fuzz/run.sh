#!/bin/sh
# Fuzzes one libFuzzer target for a bounded time: run.sh TARGET SEEDS SCRATCH SECONDS [MALLOC_MB].
# New inputs go to SCRATCH (in the build directory); the committed SEEDS are only read.
# Limits: MALLOC_MB (default 64) for any single allocation (a forged size that was not capped
# shows up here), 1 GB RSS, 10 s per input (a hang), inputs up to 64 KiB. Exit status: libFuzzer's (0: nothing
# found; 1: a finding, which leaves crash-*/leak-*/timeout-*/oom-* in the current directory).
# libFuzzer's own default for a finding is 77, which meson reads as "skipped": a crash would
# pass CI unseen, so every finding's exit status is set to 1 here.
set -eu
target=$1 seeds=$2 scratch=$3 seconds=$4 malloc_mb=${5:-64}
mkdir -p "$scratch"
exec "$target" "$scratch" "$seeds" -max_total_time="$seconds" -malloc_limit_mb="$malloc_mb" -rss_limit_mb=1024 \
  -timeout=10 -max_len=65536 -print_final_stats=1 -detect_leaks=1 -error_exitcode=1 -timeout_exitcode=1
