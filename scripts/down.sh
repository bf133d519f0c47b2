#!/usr/bin/env bash
# Stop what `make up` started: the services, then Kafka and PostgreSQL. Data is kept.
set -uo pipefail
source "$(dirname "$0")/env.sh"
if [ -S "$SB_RUN_HOME/supervisor.sock" ]; then
  "$ROOT/.venv/bin/supervisorctl" -c "$SB_RUN_HOME/supervisord.conf" shutdown >/dev/null 2>&1 && echo "services: stopped"
fi
# Containers of this run (make up IMAGES=1), should supervisord have left any behind.
if command -v podman >/dev/null; then
  label="switchboard.run=$(printf %s "$SB_RUN_HOME" | md5sum | cut -c1-12)"
  ids=$(podman ps -aq --filter "label=$label" 2>/dev/null || true)
  [ -n "$ids" ] && podman rm --force --time 10 $ids >/dev/null 2>&1 && echo "containers: removed"
fi
[ "${SB_KEEP_INFRA:-}" = 1 ] && exit 0
bash "$ROOT/scripts/kafka.sh" stop
bash "$ROOT/scripts/kafka-cluster.sh" stop >/dev/null  # make up KAFKA_BROKERS=3
bash "$ROOT/scripts/postgres.sh" stop
