#!/usr/bin/env bash
# Runs the static-objects helper twice on a fresh cache, then checks that every memoize object
# with static storage duration recorded its statistics under its own function folder when it was
# destroyed after main returned (and, under AddressSanitizer, that nothing used freed memory).
set -euo pipefail
helper=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export RECALL_CACHE_DIR=$dir RECALL_MODE=reuse
"$helper" run 50 5
"$helper" run 50 5
"$helper" check 50 5 2
