#!/usr/bin/env bash
# Runs the labels example on a fresh cache and checks that `recall-cache ls` shows the readable
# labels of its two entries: Hana members by name, aggregate members in braces.
# usage: labels_check.sh LABELS_EXAMPLE RECALL_CACHE
set -euo pipefail
example=$1 tool=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export RECALL_CACHE_DIR=$dir
"$example"
listing=$("$tool" ls heat::final_temperature)
echo "$listing"
status=0
for label in 'conductivity=0.5 capacity=4.2 source=1 {nx=64 ny=32 spacing=0.01} 200' \
             'conductivity=0.5 capacity=4.2 source=1 {nx=128 ny=64 spacing=0.005} 200'; do
  if [[ $listing != *"$label"* ]]; then
    echo "labels_check: no entry labelled '$label'" >&2
    status=1
  fi
done
# A second run loads both entries.
again=$("$example")
if [[ $(grep -c 'loaded from the cache' <<<"$again") != 2 ]]; then
  echo "labels_check: the second run did not load both entries:" >&2
  echo "$again" >&2
  status=1
fi
exit $status
