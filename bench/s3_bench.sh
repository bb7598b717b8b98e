#!/usr/bin/env bash
# The S3 rows of bench/run.sh: runs s3-hit against a private moto S3 server on loopback
# (tests/helpers/with_moto_server.sh starts and stops it) in a fresh bucket.
#
# usage: bench/s3_bench.sh BUILD_DIR [N]     (BUILD_DIR has bench/s3-hit: ninja -C BUILD_DIR bench/s3-hit)
set -euo pipefail
build=${1:?usage: s3_bench.sh BUILD_DIR [N]}
runs=${2:-50}
hit=$build/bench/s3-hit
[ -x "$hit" ] || { echo "s3_bench.sh: $hit is missing: ninja -C $build bench/s3-hit" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
python=$(command -v python3)
# shellcheck disable=SC2016 # expanded by the inner shell, once the server is up
exec "$root/tests/helpers/with_moto_server.sh" "$python" bash -c '
curl -sf -X PUT "$S3_ENDPOINT/bench-bucket" >/dev/null
echo "moto $("$3" -c "import moto; print(moto.__version__)") on ${S3_ENDPOINT#http://}, $(nproc) cores"
"$1" "s3://bench-bucket?endpoint=$S3_ENDPOINT" "$2"' s3_bench "$hit" "$runs" "$python"
