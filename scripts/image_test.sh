#!/usr/bin/env bash
# Build every service's image and run each against the local Kafka and PostgreSQL until it is
# ready (tests/image). Installs podman, runc and debootstrap where they are missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
SB_WITH_IMAGES=1 bash scripts/bootstrap.sh
bash scripts/kafka.sh start
bash scripts/postgres.sh start
exec uv run --frozen pytest tests/image -m image -s -q "$@"
