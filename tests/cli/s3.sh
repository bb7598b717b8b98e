#!/usr/bin/env bash
# recall-cache --s3 end to end: info, ls, clear and prune over moto's S3 server, which
# tests/helpers/with_moto_server.sh starts and stops.
# usage: with_moto_server.sh PYTHON3 s3.sh RECALL_CACHE S3_HELPER
set -uo pipefail
tool=$1 helper=$2
bucket=cli-bucket
curl -sf -X PUT "$S3_ENDPOINT/$bucket" >/dev/null || { echo "FAIL cannot create the bucket"; exit 1; }
url="s3://$bucket/team?endpoint=$S3_ENDPOINT"
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
s=(--s3 "$url")

# Two versions of ns::sim (identities 1, then 2), then ns::other, a second apart (S3's Last-Modified
# has whole seconds).
"$helper" fill "$url" ns::sim 1 2 || echo "FAIL fill"
sleep 1.1
"$helper" fill "$url" ns::sim 2 3 || echo "FAIL fill"
sleep 1.1
"$helper" fill "$url" ns::other 3 1 || echo "FAIL fill"

check "info" 0 "$tool" "${s[@]}" info
contains "info counts every entry" "$out" "entries      6"
contains "info names the bucket" "$out" "s3://$bucket/team"
contains "info says where credentials come from" "$out" "credentials  environment"
lacks "info shows no secret" "$out" "testing"
contains "info marks the old version" "$out" "(superseded)"
check "info --json" 0 "$tool" "${s[@]}" info --json
contains "info --json" "$out" '"entries": 6'
contains "info --json superseded" "$out" '"superseded": true'
check "ls" 0 "$tool" "${s[@]}" ls
contains "ls lists folders" "$out" "ns_other-30000000"
check "ls FUNCTION --json" 0 "$tool" "${s[@]}" ls ns::other --json
contains "ls --json filters" "$out" '"folder": "ns_other-30000000"'
lacks "ls --json filters out" "$out" "ns_sim"
check "prune --policy cost refused" 2 "$tool" "${s[@]}" prune --policy cost --max-count 1
check "--s3 show refused" 2 "$tool" "${s[@]}" show abcd
check "bad URL" 2 "$tool" --s3 "s3://Bucket" info
contains "bad URL says why" "$out" "lowercase"
check "prune --superseded --dry-run" 0 "$tool" "${s[@]}" prune --superseded --dry-run --verbose
contains "dry run counts" "$out" "would remove 2 of 6 entries"
contains "dry run says why" "$out" "superseded"
check "prune --superseded" 0 "$tool" "${s[@]}" prune --superseded
contains "prune removed the old version" "$out" "removed 2 of 6 entries"
check "prune --max-count" 0 "$tool" "${s[@]}" prune --max-count 3 --verbose
contains "prune to a count" "$out" "removed 1 of 4 entries"
check "prune --max-age" 0 "$tool" "${s[@]}" prune --max-age 1h
contains "nothing is an hour old" "$out" "removed 0 of 3 entries"
check "read-only store refuses clear" 1 "$tool" --s3 "$url&access=read-only" clear --force
contains "read-only says so" "$out" "read-only"
check "clear without a terminal" 2 "$tool" "${s[@]}" clear </dev/null
check "clear FUNCTION --force" 0 "$tool" "${s[@]}" clear ns::other --force
contains "clear one function" "$out" "removed 1 entry"
check "clear --dry-run" 0 "$tool" "${s[@]}" clear --dry-run
contains "clear dry run" "$out" "would remove 2 entries"
check "clear --force" 0 "$tool" "${s[@]}" clear --force
check "info after clear" 0 "$tool" "${s[@]}" info
contains "empty" "$out" "entries      0"
# an unreachable endpoint is a failure (exit 1), with the reason
check "unreachable" 1 "$tool" --s3 "s3://$bucket?endpoint=http://127.0.0.1:1" info
contains "unreachable says why" "$out" "127.0.0.1:1"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
