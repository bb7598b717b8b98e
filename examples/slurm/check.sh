#!/bin/sh
# Runs examples/slurm/slurm_sweep as a 4-task job array would, on this machine: 4 processes at
# once on one cache, then a resubmission. Checks that the tasks computed each point once between
# them, that all report the same checksum, and that the resubmitted task computes nothing.
#   check.sh SLURM_SWEEP
set -eu
program=$1
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export RECALL_CACHE_DIR=$cache SLURM_CPUS_PER_TASK=2
for task in 0 1 2 3; do
  SLURM_ARRAY_TASK_ID=$task "$program" 8 >"$cache/task$task.out" 2>/dev/null &
done
wait
cat "$cache"/task*.out
computed=$(sed -n 's/.* \([0-9]*\) computed here.*/\1/p' "$cache"/task*.out | awk '{s += $1} END {print s}')
sums=$(sed -n 's/.*checksum //p' "$cache"/task*.out | sort -u | wc -l)
[ "$computed" -eq 64 ] || { echo "the tasks computed $computed points between them, expected 64" >&2; exit 1; }
[ "$sums" -eq 1 ] || { echo "the tasks disagree on the results" >&2; exit 1; }
again=$(SLURM_ARRAY_TASK_ID=4 "$program" 8 2>/dev/null)
echo "$again"
case $again in
  *", 64 loaded, 0 computed here"*) ;;
  *) echo "a resubmitted task should load all 64 points" >&2; exit 1 ;;
esac
