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
one_line() { # name, text: bad input is reported in exactly one line
  if [ "$(printf '%s\n' "$2" | wc -l)" = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $1: not one line:"; echo "$2" | head -5; fi
}

"$helper" >/dev/null && "$helper" >/dev/null
check "info" 0 "$tool" info
contains "info names the function" "$out" "physics::trajectory"
check "info --json" 0 "$tool" info --json
contains "info --json is json" "$out" '"entries": 1'
check "ls" 0 "$tool" ls
contains "ls shows the label" "$out" '{dt=0.01 steps=100 integrator="euler"} 0.5'
contains "ls has a header row" "$(echo "$out" | head -1)" "key                               "
contains "ls header names the columns" "$(echo "$out" | head -1)" "function  arguments"
key=$(echo "$out" | sed -n 2p | cut -c1-32)
check "ls FUNCTION --json" 0 "$tool" ls physics::trajectory --json
contains "ls --json has the key" "$out" "\"key\": \"$key\""
check "show" 0 "$tool" show "${key:0:10}"
contains "show has the signature" "$out" "signature    (const physics::params&,double)->std::vector<double>"
contains "show says the body is untracked" "$out" "body         untracked"
check "show unknown key" 1 "$tool" show ffffffffffff
contains "info says the code is untracked" "$("$tool" info)" " untracked"

# Code with a body signature (recall-sign): info, ls and show name it.
tracked=$dir/tracked
RECALL_CACHE_DIR=$tracked PERSIST_HELPER_BODY=0123456789abcdef0123456789abcdef "$helper" >/dev/null
check "info of tracked code" 0 "$tool" --cache-root "$tracked" info
contains "info shows the body signature's short form" "$out" " 0123456789ab "
check "ls of tracked code" 0 "$tool" --cache-root "$tracked" ls
contains "ls shows the body signature's short form" "$out" " 0123456789ab  physics::trajectory"
contains "ls header names the code column" "$(echo "$out" | head -1)" "code          function"
tkey=$(echo "$out" | sed -n 2p | cut -c1-32)
check "ls --json of tracked code" 0 "$tool" --cache-root "$tracked" ls --json
contains "ls --json has the body signature" "$out" '"body": "0123456789abcdef0123456789abcdef"'
check "show of tracked code" 0 "$tool" --cache-root "$tracked" show "${tkey:0:10}"
contains "show prints the body signature" "$out" "body         0123456789abcdef0123456789abcdef"

# Three identities of one function (three versions of its code): info marks the one used most
# recently current, prune --superseded keeps only it. The older two are copies of the folder
# under other identity suffixes, their files made older.
folder=$(cd "$RECALL_CACHE_DIR" && ls -d physics_trajectory-*)
for old in 0000000a 0000000b; do
  cp -r "$RECALL_CACHE_DIR/$folder" "$RECALL_CACHE_DIR/physics_trajectory-$old"
  find "$RECALL_CACHE_DIR/physics_trajectory-$old" -name '*.rce' -exec touch -d '2 days ago' {} +
done
check "info with three versions" 0 "$tool" info
[ "$(printf '%s\n' "$out" | grep -c ' superseded (prune --superseded removes it)')" = 2 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL info marks two superseded versions:"; echo "$out"; }
[ "$(printf '%s\n' "$out" | grep -c ' current$')" = 1 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL info marks one current version:"; echo "$out"; }
check "ls marks superseded entries" 0 "$tool" ls
[ "$(printf '%s\n' "$out" | grep -c 'physics::trajectory (superseded)')" = 2 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL ls marks two superseded entries:"; echo "$out"; }
check "prune --superseded --dry-run" 0 "$tool" prune --superseded --dry-run
contains "dry run counts the old versions" "$out" "would remove 2 entries of superseded versions"
check "prune --superseded --scope of a missing partition" 1 "$tool" prune --superseded --scope channels_00000000
check "prune --superseded --function refused" 2 "$tool" prune --superseded --function physics::trajectory
contains "prune --superseded --function says why" "$out" "works on every function (no --function)"
check "prune --superseded" 0 "$tool" prune --superseded
contains "prune --superseded removes them" "$out" "removed 2 entries of superseded versions"
[ -z "$(find "$RECALL_CACHE_DIR/physics_trajectory-0000000a" "$RECALL_CACHE_DIR/physics_trajectory-0000000b" -name '*.rce')" ] &&
  [ -n "$(find "$RECALL_CACHE_DIR/$folder" -name '*.rce')" ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL prune --superseded kept the wrong folder"; }
rm -rf "$RECALL_CACHE_DIR/physics_trajectory-0000000a" "$RECALL_CACHE_DIR/physics_trajectory-0000000b"
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
contains "dry run counts" "$out" "would remove 1 entry"
check "clear --force" 0 "$tool" clear --force
check "empty after clear" 0 "$tool" ls
contains "nothing listed" "x$out" "x"
check "bad flag" 2 "$tool" ls --nope
contains "bad flag message" "$out" "--nope"
check "no verb" 2 "$tool"
check "missing root" 1 "$tool" --cache-root "$dir/none" info
check "--version" 0 "$tool" --version
check "--help" 0 "$tool" --help

# prune: bad input is one line and exit 2; dry runs change nothing; limits keep the right entries
"$helper" >/dev/null
for bad in "--max-size 5X" "--max-size -1" "--max-size 1.5" "--max-age 30" "--max-age 5y" "--max-count -1" \
           "--max-count lots" "--policy fifo --max-count 1"; do
  # shellcheck disable=SC2086 # the flags are meant to split
  check "prune $bad" 2 "$tool" prune $bad
  one_line "prune $bad: one line" "$out"
done
contains "bad size says what" "$(RECALL_CACHE_DIR=$RECALL_CACHE_DIR "$tool" prune --max-size 5X 2>&1)" "bad size '5X'"
check "prune needs a limit" 2 "$tool" prune
contains "prune names the limits" "$out" "--max-size, --max-count or --max-age"
check "prune --dry-run" 0 "$tool" prune --max-count 0 --dry-run --verbose
contains "prune dry run counts" "$out" "would remove 1 of 1 entry"
contains "prune --verbose names the entry" "$out" "$key.rce"
check "dry run kept the entry" 0 "$tool" ls
contains "entry still listed" "$out" "$key"
check "prune --max-age keeps a fresh entry" 0 "$tool" prune --max-age 1h
contains "nothing too old" "$out" "removed 0 of 1 entry"
check "prune --policy cost --function --max-size" 0 "$tool" prune --policy cost --function physics::trajectory --max-size 1.5G
contains "within 1.5G" "$out" "removed 0 of 1 entry"
check "prune --function other" 0 "$tool" prune --function nothing::here --max-count 0
contains "other function untouched" "$out" "removed 0 of 0 entries"

# export / import: the round trip hits; hostile or damaged archives are refused with exit 1
check "export" 0 "$tool" export "$dir/all.tar.zst"
contains "export counts" "$out" "exported 1 entry"
check "export --function" 0 "$tool" export "$dir/none.tar.zst" --function nothing::here
contains "export --function filters" "$out" "exported 0 entries"
check "export into a missing folder" 1 "$tool" export "$dir/missing/x.tar.zst"
check "import into an empty root" 0 "$tool" --cache-root "$dir/other" import "$dir/all.tar.zst"
contains "import counts" "$out" "imported 1, already present 0, skipped incompatible 0, rejected corrupt 0"
out=$(RECALL_CACHE_DIR=$dir/other "$helper")
contains "the program hits the imported entry" "$out" "loaded 100"
check "import again" 0 "$tool" --cache-root "$dir/other" import "$dir/all.tar.zst"
contains "already present" "$out" "already present 1"
head -c 4096 /dev/urandom >"$dir/garbage"
check "import garbage" 1 "$tool" --cache-root "$dir/other" import "$dir/garbage"
contains "garbage is not an archive" "$out" "not a recall cache archive"
head -c "$(($(stat -c %s "$dir/all.tar.zst") / 2))" "$dir/all.tar.zst" >"$dir/half.tar.zst"
check "import truncated" 1 "$tool" --cache-root "$dir/third" import "$dir/half.tar.zst"
check "import a missing file" 2 "$tool" import "$dir/nope.tar.zst"
python3 - "$dir/evil.tar" "$(find "$RECALL_CACHE_DIR" -name '*.rce' | head -1)" <<'PY'
import io, sys, tarfile
entry = open(sys.argv[2], "rb").read()
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    add("RECALL-ARCHIVE", b"recall cache archive 1\nkey-format 1\nentry-format 1\n")
    add("../../escaped.rce", entry)
    add("/tmp/absolute.rce", entry)
PY
check "import path escapes" 1 "$tool" --cache-root "$dir/fourth" import "$dir/evil.tar"
contains "escape named" "$out" "../../escaped.rce: path escapes with '..'"
contains "absolute named" "$out" "/tmp/absolute.rce: absolute path"
contains "escapes counted" "$out" "rejected corrupt 2"
[ ! -e "$dir/escaped.rce" ] && [ ! -e /tmp/absolute.rce ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL an escaping member was written"; }
check "--redis with export" 2 "$tool" --redis redis://127.0.0.1:1 export "$dir/x.tar.zst"
check "info --verbose" 0 "$tool" info --verbose
contains "info --verbose shows the folder" "$out" "folder physics_trajectory-"
# progress: on stderr only when it is a terminal (script(1) gives the tool one)
esc=$'\033[K'
out=$("$tool" prune --max-count 0 --dry-run 2>&1)
if [[ $out != *"$esc"* ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL progress without a terminal"; fi
if command -v script >/dev/null; then
  out=$(script -qec "'$tool' prune --max-count 0 --dry-run" /dev/null 2>&1)
  contains "progress on a terminal" "$out" "$esc"
fi
check "prune --max-count 0" 0 "$tool" prune --max-count 0
contains "prune removed it" "$out" "removed 1 of 1 entry"

# partitions (recall::scope folders): info and ls show them, --scope restricts, export/import keep them
"$helper" Na >/dev/null
pa=$(cd "$RECALL_CACHE_DIR" && ls -d channels_*)
"$helper" Ca >/dev/null && "$helper" >/dev/null
pb=$(cd "$RECALL_CACHE_DIR" && ls -d channels_* | grep -v "$pa")
check "info with partitions" 0 "$tool" info
contains "info counts every entry" "$out" "entries      3"
contains "info counts the partitions" "$out" "partitions   2"
contains "info shows a partition" "$out" "partition $pa: 1 entry"
check "info --scope" 0 "$tool" info --scope "$pb"
contains "info --scope totals one partition" "$out" "entries      1"
contains "info --scope names it" "$out" "partition $pb: 1 entry"
check "info --json with partitions" 0 "$tool" info --json
contains "info --json lists partitions" "$out" "\"name\": \"$pa\""
check "ls with partitions" 0 "$tool" ls
contains "ls has a partition column" "$out" "$pa  physics::trajectory"
check "ls --json with partitions" 0 "$tool" ls --json
contains "ls --json names the partition" "$out" "\"partition\": \"$pb\""
contains "ls --json: none at the root" "$out" '"partition": null'
check "ls --scope" 0 "$tool" ls --scope "$pa"
[ "$(printf '%s\n' "$out" | grep -c physics::trajectory)" = 1 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL ls --scope lists one entry"; }
check "--scope bad name" 2 "$tool" ls --scope ../etc
one_line "--scope bad name: one line" "$out"
contains "--scope bad name says what" "$out" "bad partition '../etc'"
check "--scope missing partition" 1 "$tool" verify --scope channels_00000000
contains "--scope missing says so" "$out" "no partition channels_00000000"
check "--scope with --redis" 2 "$tool" --redis redis://127.0.0.1:1 info --scope "$pa"
check "verify --scope" 0 "$tool" verify --scope "$pa"
contains "verify --scope clean" "$out" "0 damaged entries"
check "export --scope" 0 "$tool" export "$dir/pa.tar.zst" --scope "$pa"
contains "export --scope takes one" "$out" "exported 1 entry"
check "import a partition" 0 "$tool" --cache-root "$dir/fifth" import "$dir/pa.tar.zst"
[ -d "$dir/fifth/$pa" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL import made no $pa folder"; }
out=$(RECALL_CACHE_DIR=$dir/fifth "$helper" Na)
contains "the scoped program hits the imported entry" "$out" "loaded 100"
check "export all partitions" 0 "$tool" export "$dir/parts.tar.zst"
check "import all partitions" 0 "$tool" --cache-root "$dir/sixth" import "$dir/parts.tar.zst"
contains "import all partitions counts" "$out" "imported 3,"
check "prune limits span the root" 0 "$tool" prune --max-count 1 --dry-run
contains "prune counts every partition" "$out" "would remove 2 of 3 entries"
check "prune --scope" 0 "$tool" prune --max-count 0 --scope "$pa" --dry-run
contains "prune --scope counts one" "$out" "would remove 1 of 1 entry"
check "clear FUNCTION --scope" 0 "$tool" clear physics::trajectory --scope "$pa" --force
contains "clear --scope removes one" "$out" "removed 1 entry"
check "clear FUNCTION in every partition" 0 "$tool" clear physics::trajectory --dry-run
contains "clear matches every partition" "$out" "would remove 2 entries"
python3 - "$dir/badpart.tar" "$(find "$RECALL_CACHE_DIR/$pb" -name '*.rce' | head -1)" <<'PY'
import io, os, sys, tarfile
path = sys.argv[2]
entry = open(path, "rb").read()
folder = os.path.basename(os.path.dirname(os.path.dirname(path)))
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    add("RECALL-ARCHIVE", b"recall cache archive 1\nkey-format 1\nentry-format 1\n")
    add("entries/.hidden_1a2b3c4d/" + folder + "/ab/x.rce", entry)
PY
check "import a bad partition name" 1 "$tool" --cache-root "$dir/seventh" import "$dir/badpart.tar"
contains "bad partition named" "$out" "bad partition folder name '.hidden_1a2b3c4d'"
[ ! -e "$dir/seventh/.hidden_1a2b3c4d" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL a bad partition folder was made"; }
# clear --force and verify --repair exit 1, naming the file and the reason, when an entry cannot
# be removed (here: a read-only mount, in a private mount namespace); verify exits 1 on a root it
# cannot read (here: as another user, mode 000). Both need root; skipped otherwise.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
  ro=$dir/readonly
  mkdir -p "$ro"
  out=$(RECALL_CACHE_DIR=$ro unshare -m sh -c '
    mount -t tmpfs -o mode=0700 none "$RECALL_CACHE_DIR" && "$2" >/dev/null &&
    printf "x" | dd of="$(find "$RECALL_CACHE_DIR" -name "*.rce" | head -1)" bs=1 seek=120 conv=notrunc 2>/dev/null &&
    mount -o remount,ro "$RECALL_CACHE_DIR" &&
    { "$1" verify --repair; echo "verify exit $?"; "$1" clear --force; echo "clear exit $?"; }' sh "$tool" "$helper" 2>&1)
  contains "verify --repair on a read-only cache fails" "$out" "verify exit 1"
  contains "clear on a read-only cache fails" "$out" "clear exit 1"
  contains "clear names the reason" "$out" "cannot remove: Read-only file system"
  if command -v setpriv >/dev/null; then
    open=$(mktemp -d) && chmod 755 "$open" && mkdir -m 000 "$open/root"
    check "verify an unreadable root" 1 setpriv --reuid 65534 --regid 65534 --clear-groups "$tool" --cache-root "$open/root" verify
    contains "verify says why" "$out" "Permission denied"
    rm -rf "$open"
  fi
fi

# A pack root (RECALL_STORE=pack): the tool tells which store a root holds and works on it unasked.
pack=$dir/pack
RECALL_STORE=pack RECALL_CACHE_DIR=$pack "$helper" >/dev/null
[ -e "$pack/RECALL-PACK" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL RECALL_STORE=pack made no pack root"; }
check "pack info" 0 "$tool" --cache-root "$pack" info
contains "pack info names the store" "$out" "store        pack"
contains "pack info names the function" "$out" "physics::trajectory"
check "pack ls" 0 "$tool" --cache-root "$pack" ls
contains "pack ls shows the label" "$out" '{dt=0.01 steps=100 integrator="euler"} 0.5'
pkey=$(echo "$out" | sed -n 2p | cut -c1-32)  # line 1 is the header row
check "pack show" 0 "$tool" --cache-root "$pack" show "${pkey:0:10}"
contains "pack show has the signature" "$out" "signature    (const physics::params&,double)->std::vector<double>"
check "pack verify clean" 0 "$tool" --cache-root "$pack" verify
seg=$(find "$pack/segments" -name '*.seg' | head -1)
printf '\x01' | dd of="$seg" bs=1 seek=$(( $(stat -c %s "$seg") - 3 )) conv=notrunc 2>/dev/null
check "pack verify damaged" 1 "$tool" --cache-root "$pack" verify
contains "pack verify names the problem" "$out" "checksum mismatch"
check "pack verify --repair" 0 "$tool" --cache-root "$pack" verify --repair
out=$(RECALL_STORE=pack RECALL_CACHE_DIR=$pack "$helper")
contains "pack recomputes a repaired entry" "$out" "computed"
check "pack prune" 0 "$tool" --cache-root "$pack" prune --max-count 0
contains "pack prune removes" "$out" "removed 1 of 1 entry"
RECALL_STORE=pack RECALL_CACHE_DIR=$pack "$helper" >/dev/null
check "pack export" 0 "$tool" --cache-root "$pack" export "$dir/pack.tar.zst"
contains "pack export counts" "$out" "exported 1 entry"
check "import a pack archive into a directory root" 0 "$tool" --cache-root "$dir/from-pack" import "$dir/pack.tar.zst"
out=$(RECALL_CACHE_DIR=$dir/from-pack "$helper")
contains "the converted directory cache hits" "$out" "loaded"
RECALL_STORE=pack check "import into a new pack root" 0 "$tool" --cache-root "$dir/pack-again" import "$dir/pack.tar.zst"
out=$(RECALL_CACHE_DIR=$dir/pack-again "$helper")
contains "the converted pack cache hits" "$out" "loaded"
[ -e "$dir/pack-again/RECALL-PACK" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL RECALL_STORE=pack import made no pack root"; }
check "pack clear --force" 0 "$tool" --cache-root "$pack" clear --force
contains "pack clear removes" "$out" "removed 1 entry"

# Three identities in a pack root (version tags 1, 3 and 2, saved in that order): info and ls mark
# the one saved last current, prune --superseded drops the other two from the index.
for v in 1 3 2; do
  PERSIST_HELPER_VERSION=$v RECALL_CACHE_DIR=$pack "$helper" >/dev/null
  sleep 0.01
done
check "pack info with three versions" 0 "$tool" --cache-root "$pack" info
contains "pack info counts three" "$out" "entries      3"
[ "$(printf '%s\n' "$out" | grep -c ' superseded (prune --superseded removes it)')" = 2 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL pack info marks two superseded versions:"; echo "$out"; }
[ "$(printf '%s\n' "$out" | grep -c ' current$')" = 1 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL pack info marks one current version:"; echo "$out"; }
check "pack ls marks superseded entries" 0 "$tool" --cache-root "$pack" ls
[ "$(printf '%s\n' "$out" | grep -c 'physics::trajectory (superseded)')" = 2 ] && passed=$((passed + 1)) ||
  { failed=$((failed + 1)); echo "FAIL pack ls marks two superseded entries:"; echo "$out"; }
check "pack prune --superseded --function refused" 2 "$tool" --cache-root "$pack" prune --superseded --function physics::trajectory
check "pack prune --superseded --scope: no partitions" 1 "$tool" --cache-root "$pack" prune --superseded --scope channels_00000000
contains "pack has no partition" "$out" "no partition channels_00000000"
check "pack prune --superseded --dry-run" 0 "$tool" --cache-root "$pack" prune --superseded --dry-run
contains "pack dry run counts the old versions" "$out" "would remove 2 entries of superseded versions"
contains "pack dry run says where the space goes" "$out" "from the pack index"
check "pack dry run removed nothing" 0 "$tool" --cache-root "$pack" info
contains "pack still three" "$out" "entries      3"
check "pack prune --superseded" 0 "$tool" --cache-root "$pack" prune --superseded
contains "pack prune --superseded removes them" "$out" "removed 2 entries of superseded versions"
contains "pack prune --superseded compacts" "$out" "compacted"
check "pack info after prune --superseded" 0 "$tool" --cache-root "$pack" info
contains "pack keeps one" "$out" "entries      1"
lacks_superseded=$(printf '%s\n' "$out" | grep -c superseded)
[ "$lacks_superseded" = 0 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL pack info still marks a version"; }
out=$(PERSIST_HELPER_VERSION=2 RECALL_CACHE_DIR=$pack "$helper")
contains "the current pack version still hits" "$out" "loaded"
out=$(PERSIST_HELPER_VERSION=1 RECALL_CACHE_DIR=$pack "$helper")
contains "an old pack version recomputes" "$out" "computed"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
