#!/usr/bin/env bash
# Runs the Redis-shared example against a real redis-server, started and stopped around it by
# tests/helpers/with_redis_server.sh (which sets RECALL_REDIS_URL, the variable the example reads).
# usage: redis_check.sh REDIS_SHARED_EXAMPLE REDIS_SERVER
set -euo pipefail
exec "$(dirname "$0")/../tests/helpers/with_redis_server.sh" "$2" "$1"
