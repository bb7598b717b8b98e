#!/usr/bin/env bash
# Runs a command against a private moto S3 server (python3 -m moto.server) on 127.0.0.1, a free
# port, stopped by its pid when the command ends, whatever way it ends. The command finds the
# server's URL in S3_ENDPOINT (http://127.0.0.1:PORT), test credentials in AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, and a temporary folder for its own files in S3_WORK_DIR; the command's
# exit code is returned (77, skipped, only when the server cannot start at all).
#
# usage: with_moto_server.sh PYTHON3 COMMAND [ARG...]
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: with_moto_server.sh PYTHON3 COMMAND [ARG...]" >&2; exit 2; }
python=$1
shift
if ! "$python" -c 'import moto.server' 2>/dev/null; then
  echo "moto is not importable by $python: skipped (scripts/install-deps says how to install it)"
  exit 77
fi
work=$(mktemp -d) || exit 2
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
for attempt in 1 2 3; do
  port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$python" -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break 2
    sleep 0.02
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""
done
if [ -z "$pid" ]; then
  echo "moto's S3 server did not start; its log:"; cat "$work/moto.log"
  exit 1
fi
export S3_ENDPOINT="http://127.0.0.1:$port" S3_WORK_DIR=$work AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_SESSION_TOKEN AWS_PROFILE
"$@"
