#!/bin/sh
# Many hosts, one pack cache: 4 simulated hosts (UTS and PID namespaces of their own, so each has
# its own host name and its processes have the same small pids as the other hosts') run 2
# processes each over the same 50 keys. Each key must be computed exactly once, and every result
# must be right. Needs root for unshare; exits 77 (skipped) without it.
# usage: run.sh HOSTS-HELPER
set -u
helper=$1
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1 ||
   ! unshare --uts --pid --fork --mount-proc true 2>/dev/null; then
  echo "skipped: needs root and unshare --uts --pid"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/recall-hosts-XXXXXX")
trap 'rm -rf "$work"' EXIT
cache=$work/cache
log=$work/computed
: > "$log"
pids=""
for host in 1 2 3 4; do
  # Inside: pid 1 is the shell; its two helpers get the same pids on every host.
  timeout 60 unshare --uts --pid --fork --mount-proc sh -c "
    hostname node$host
    \"$helper\" \"$cache\" \"$log\" ${host}1 & a=\$!
    \"$helper\" \"$cache\" \"$log\" ${host}2 & b=\$!
    echo \"node$host pids \$a \$b\" >> \"$work/pids\"
    wait \$a || exit 1
    wait \$b || exit 1
  " &
  pids="$pids $!"
done
failed=0
for p in $pids; do
  wait "$p" || failed=1
done
cat "$work/pids"
if [ "$failed" != 0 ]; then
  echo "FAIL: a process returned a wrong result or failed"
  exit 1
fi
computed=$(wc -l < "$log")
distinct=$(cut -d' ' -f1 "$log" | sort -u | wc -l)
hosts=$(cut -d' ' -f2 "$log" | sort -u | wc -l)
echo "computed $computed times, $distinct distinct keys, on $hosts hosts"
# The pids must collide across hosts, or the test proves nothing about them.
if [ "$(cut -d' ' -f3- "$work/pids" | tr ' ' '\n' | sort | uniq -d | wc -l)" = 0 ]; then
  echo "FAIL: no pid collided across hosts"
  exit 1
fi
if [ "$computed" != 50 ] || [ "$distinct" != 50 ]; then
  echo "FAIL: expected each of 50 keys computed exactly once"
  sort -n "$log" | uniq -c | sort -rn | head
  exit 1
fi
# Writers' segments carry their host's name.
ls "$cache/segments"
if [ "$(ls "$cache/segments" | cut -d. -f1 | sort -u | wc -l)" -lt 2 ]; then
  echo "FAIL: segments do not name their hosts"
  exit 1
fi
echo ok
