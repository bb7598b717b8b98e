#!/usr/bin/env bash
# recall-cache end to end: every verb on a cache the persistence helper fills, bad flags, exit codes.
# usage: run.sh RECALL_CACHE PERSIST_HELPER
set -uo pipefail
tool=$1 helper=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export RECALL_CACHE_DIR=$dir/cache
passed=0 failed=0
check() { # name, expected exit code, command...
  local name=$1 want=$2; shift 2
  out=$("$@" 2>&1); got=$?
  if [ "$got" = "$want" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $name: exit $got, wanted $want"; echo "$out" | head -5; fi
}
contains() { # name, text, fragment
  if [[ $2 == *"$3"* ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: no '$3' in:"; echo "$2" | head -5; fi
}

"$helper" >/dev/null && "$helper" >/dev/null
check "info" 0 "$tool" info
contains "info names the function" "$out" "physics::trajectory"
check "info --json" 0 "$tool" info --json
contains "info --json is json" "$out" '"entries": 1'
check "ls" 0 "$tool" ls
contains "ls shows the label" "$out" '{0.01 100 "euler"} 0.5'
key=$(echo "$out" | cut -c1-32)
check "ls FUNCTION --json" 0 "$tool" ls physics::trajectory --json
contains "ls --json has the key" "$out" "\"key\": \"$key\""
check "show" 0 "$tool" show "${key:0:10}"
contains "show has the signature" "$out" "signature    (const physics::params&,double)->std::vector<double>"
check "show unknown key" 1 "$tool" show ffffffffffff
check "verify clean" 0 "$tool" verify
contains "verify says none" "$out" "0 damaged entries"
printf '\x01' | dd of="$(find "$RECALL_CACHE_DIR" -name '*.rce')" bs=1 seek=120 conv=notrunc 2>/dev/null
check "verify damaged" 1 "$tool" verify
contains "verify names the problem" "$out" "checksum mismatch"
check "verify --repair" 0 "$tool" verify --repair
"$helper" >/dev/null
check "clear without a terminal" 2 "$tool" clear
contains "clear asks for --force" "$out" "pass --force"
check "clear --dry-run" 0 "$tool" clear --dry-run
contains "dry run counts" "$out" "would remove 1 entries"
check "clear --force" 0 "$tool" clear --force
check "empty after clear" 0 "$tool" ls
contains "nothing listed" "x$out" "x"
check "bad flag" 2 "$tool" ls --nope
contains "bad flag message" "$out" "--nope"
check "no verb" 2 "$tool"
check "missing root" 1 "$tool" --cache-root "$dir/none" info
check "--version" 0 "$tool" --version
check "--help" 0 "$tool" --help
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
