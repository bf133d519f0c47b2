#!/usr/bin/env bash
# The whole test suite: starts Kafka and PostgreSQL when they are not running.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/bootstrap.sh
bash scripts/kafka.sh start
bash scripts/postgres.sh start
# promtool (alert rule tests) builds from the Go module proxy once; not inside a test's timeout.
bash scripts/promtool.sh >/dev/null
exec uv run --frozen pytest "$@"
