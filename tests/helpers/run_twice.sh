#!/usr/bin/env bash
# Runs the persistence helper twice on a fresh cache directory: the first process computes, the
# second loads the same value under the same key.
set -euo pipefail
helper=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
first=$(RECALL_CACHE_DIR="$dir" RECALL_MODE=reuse "$helper")
second=$(RECALL_CACHE_DIR="$dir" RECALL_MODE=reuse "$helper")
echo "first:  $first"
echo "second: $second"
[[ $first == computed* ]] || { echo "first run should compute"; exit 1; }
[[ $second == loaded* ]] || { echo "second run should load"; exit 1; }
[[ ${first#computed} == "${second#loaded}" ]] || { echo "value or key differs between runs"; exit 1; }
