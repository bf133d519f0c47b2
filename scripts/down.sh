#!/usr/bin/env bash
# Stop what `make up` started: the services, then Kafka and PostgreSQL. Data is kept.
set -uo pipefail
source "$(dirname "$0")/env.sh"
if [ -S "$SB_RUN_HOME/supervisor.sock" ]; then
  "$ROOT/.venv/bin/supervisorctl" -c "$SB_RUN_HOME/supervisord.conf" shutdown >/dev/null 2>&1 && echo "services: stopped"
fi
[ "${SB_KEEP_INFRA:-}" = 1 ] && exit 0
bash "$ROOT/scripts/kafka.sh" stop
bash "$ROOT/scripts/kafka-cluster.sh" stop >/dev/null  # make up KAFKA_BROKERS=3
bash "$ROOT/scripts/postgres.sh" stop
