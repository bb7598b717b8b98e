#!/usr/bin/env bash
# recall-cache --redis end to end: info, ls, clear and prune over a real redis-server that
# tests/helpers/with_redis_server.sh starts (with a password) and stops.
# usage: with_redis_server.sh --password s3cret REDIS_SERVER redis.sh RECALL_CACHE REDIS_HELPER
set -uo pipefail
tool=$1 helper=$2
dir=$REDIS_WORK_DIR
url=$RECALL_REDIS_URL
port=$REDIS_PORT
for _ in $(seq 100); do
  "$tool" --redis "$url" --redis-prefix helper info >/dev/null 2>&1 && break
  sleep 0.05
done
passed=0 failed=0
check() { # name, expected exit code, command...
  local name=$1 want=$2; shift 2
  out=$("$@" 2>&1); got=$?
  if [ "$got" = "$want" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $name: exit $got, wanted $want"; echo "$out" | head -5; fi
}
contains() { # name, text, fragment
  if [[ $2 == *"$3"* ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: no '$3' in:"; echo "$2" | head -5; fi
}
lacks() { # name, text, fragment
  if [[ $2 != *"$3"* ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: '$3' in:"; echo "$2" | head -5; fi
}
populate() { # NAME: two functions' entries, relax's first (the older), from a fresh node (its local
  # directory would otherwise serve the calls without storing to Redis again)
  "$helper" share "$url" "$dir/$1" >/dev/null || echo "FAIL populate: share"
  sleep 0.01
  "$helper" lock "$url" "$dir/$1" "$dir/count" 0 >/dev/null || echo "FAIL populate: lock"
}
r=(--redis "$url" --redis-prefix helper)

populate node1
check "info" 0 "$tool" "${r[@]}" info
contains "info counts both" "$out" "entries      2"
contains "info names a function" "$out" "sweep::relax"
lacks "info hides the password" "$out" "s3cret"
contains "info shows the redacted URL" "$out" "********"
check "info --json" 0 "$tool" "${r[@]}" info --json --verbose
contains "info --json" "$out" '"entries": 2'
check "ls" 0 "$tool" "${r[@]}" ls
contains "ls lists slow_result" "$out" "sweep::slow_result"
check "ls FUNCTION --json" 0 "$tool" "${r[@]}" ls sweep::relax --json
contains "ls --json filters" "$out" '"function": "sweep::relax"'
lacks "ls --json filters out" "$out" "slow_result"
check "prune --policy cost refused" 2 "$tool" "${r[@]}" prune --policy cost --max-count 1
contains "prune cost says why" "$out" "--policy lru only"
check "prune --dry-run" 0 "$tool" "${r[@]}" prune --max-count 1 --dry-run --verbose
contains "prune dry run names the oldest" "$out" "would remove"
contains "prune dry run picks relax" "$out" "sweep::relax"
check "dry run removed nothing" 0 "$tool" "${r[@]}" info
contains "still two" "$out" "entries      2"
check "prune --max-count 1" 0 "$tool" "${r[@]}" prune --max-count 1
contains "prune removed one" "$out" "removed 1 of 2 entries"
check "ls after prune" 0 "$tool" "${r[@]}" ls
lacks "relax (the oldest) is gone" "$out" "sweep::relax"
contains "slow_result stays" "$out" "sweep::slow_result"
check "prune --max-age 1h keeps a fresh entry" 0 "$tool" "${r[@]}" prune --max-age 1h
contains "nothing too old" "$out" "removed 0 of 1"
check "prune --max-size 1 --function" 0 "$tool" "${r[@]}" prune --max-size 1 --function sweep::slow_result
contains "size prune" "$out" "removed 1 of 1"

populate node2
check "clear without a terminal" 2 "$tool" "${r[@]}" clear
check "clear FUNCTION --dry-run" 0 "$tool" "${r[@]}" clear sweep::relax --dry-run
contains "clear dry run" "$out" "would remove 1 entry"
check "clear FUNCTION --force" 0 "$tool" "${r[@]}" clear sweep::relax --force
contains "clear one" "$out" "removed 1 entry"
# A lock key left behind (here: garbage without expiry, written by another client).
exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'AUTH s3cret\r\nSET {helper:%s}:lock garbage\r\nQUIT\r\n' \
  "0123456789abcdef0123456789abcdef" >&3 && cat <&3 >/dev/null; exec 3<&-
check "info counts the lock" 0 "$tool" "${r[@]}" info
contains "one lock" "$out" "locks        1"
contains "no orphans" "$out" "orphans      0 chunks"
check "clear --force" 0 "$tool" "${r[@]}" clear --force
check "empty after clear" 0 "$tool" "${r[@]}" info
contains "nothing left" "$out" "entries      0"
contains "the lock went too" "$out" "locks        0"

# Three identities of sweep::relax (three versions of its code), v2 saved last: info and ls mark
# it current, prune --superseded removes the other two (heads and chunks).
for v in 1 3 2; do
  "$helper" versions "$url" "$dir/version$v" "$v" >/dev/null || echo "FAIL versions $v"
  sleep 0.01
done
check "info with three versions" 0 "$tool" "${r[@]}" info
contains "three entries" "$out" "entries      3"
[ "$(printf '%s\n' "$out" | grep -c ' superseded (prune --superseded removes it)')" = 2 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL info marks two superseded versions:"; echo "$out"; }
[ "$(printf '%s\n' "$out" | grep -c ' current$')" = 1 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL info marks one current version:"; echo "$out"; }
check "info --json marks them" 0 "$tool" "${r[@]}" info --json
[ "$(printf '%s\n' "$out" | grep -c '"superseded": true')" = 2 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL info --json marks two superseded versions"; }
check "ls marks superseded entries" 0 "$tool" "${r[@]}" ls sweep::relax
[ "$(printf '%s\n' "$out" | grep -c 'sweep::relax (superseded)')" = 2 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL ls marks two superseded entries:"; echo "$out"; }
check "ls --json marks them" 0 "$tool" "${r[@]}" ls --json
[ "$(printf '%s\n' "$out" | grep -c '"superseded": true')" = 2 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL ls --json marks two superseded entries"; }
check "prune --superseded --function refused" 2 "$tool" "${r[@]}" prune --superseded --function sweep::relax
contains "prune --superseded --function says why" "$out" "works on every function (no --function)"
check "prune --superseded --scope refused" 2 "$tool" "${r[@]}" prune --superseded --scope channels_00000000
check "prune --superseded --dry-run" 0 "$tool" "${r[@]}" prune --superseded --dry-run
contains "dry run counts the old versions" "$out" "would remove 2 entries of superseded versions"
check "prune --superseded --dry-run with a limit" 0 "$tool" "${r[@]}" prune --superseded --max-count 0 --dry-run
contains "then the limit" "$out" "would remove 3 of 3 entries"
check "dry runs removed nothing" 0 "$tool" "${r[@]}" info
contains "still three" "$out" "entries      3"
check "prune --superseded" 0 "$tool" "${r[@]}" prune --superseded
contains "prune --superseded removes them" "$out" "removed 2 entries of superseded versions"
check "info after prune --superseded" 0 "$tool" "${r[@]}" info
contains "one left" "$out" "entries      1"
lacks "none superseded" "$out" "superseded"
contains "their chunks went too" "$out" "orphans      0 chunks"
out=$("$helper" versions "$url" "$dir/again2" 2)
contains "the current version still hits" "$out" "loaded"
out=$("$helper" versions "$url" "$dir/again1" 1)
contains "an old version recomputes" "$out" "computed"

check "--redis with show" 2 "$tool" "${r[@]}" show abcd
contains "--redis verbs" "$out" "info, ls, running, clear and prune only"
check "bad URL" 2 "$tool" --redis "http://x" info
check "wrong password" 1 "$tool" --redis "redis://:badpass42@127.0.0.1:$port/0" info
lacks "wrong password not printed" "$out" "badpass42"
kill "$REDIS_SERVER_PID"
while kill -0 "$REDIS_SERVER_PID" 2>/dev/null; do sleep 0.02; done
check "server down" 1 "$tool" "${r[@]}" info
lacks "server down hides the password" "$out" "s3cret"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
