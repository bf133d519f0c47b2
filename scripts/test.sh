#!/usr/bin/env bash
# The whole test suite: starts Kafka and PostgreSQL when they are not running.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/bootstrap.sh
bash scripts/kafka.sh start
bash scripts/postgres.sh start
exec uv run --frozen pytest "$@"
