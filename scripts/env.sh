# Shared locations and ports for the project's scripts. Source it; every value can be overridden.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SB_HOME="${SB_HOME:-$ROOT/.local}"          # data and logs of a local run
export SB_CACHE="${SB_CACHE:-$ROOT/.cache}"        # downloaded jars
export KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
export KAFKA_PORT="${KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
export PG_PORT="${PG_PORT:-55432}"
export SWITCHBOARD_KAFKA_BOOTSTRAP="${SWITCHBOARD_KAFKA_BOOTSTRAP:-127.0.0.1:$KAFKA_PORT}"

wait_for_port() { # host port seconds
  local host=$1 port=$2 deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.3
  done
}

# A run of the services (supervisor files, service logs). Tests use their own, beside the
# developer's, on other ports, topics and database, against the same Kafka and PostgreSQL.
export SB_RUN_HOME="${SB_RUN_HOME:-$SB_HOME/run}"
export SB_PORT_BASE="${SB_PORT_BASE:-8000}"
export SB_DB_NAME="${SB_DB_NAME:-switchboard}"
export SWITCHBOARD_DATABASE_URL="postgresql+psycopg://switchboard@127.0.0.1:$PG_PORT/$SB_DB_NAME"
export SWITCHBOARD_TOPIC_PREFIX="${SWITCHBOARD_TOPIC_PREFIX:-}"
SERVICES="gateway ingest router inbox-projection notifier pm-sync"
# pm-sync's HL7 (MLLP) listener: 2575 on the default port base, moved with it otherwise.
export SB_MLLP_PORT="${SB_MLLP_PORT:-$((2575 + SB_PORT_BASE - 8000))}"
# The demo practice's local FHIR R4 server (make up only).
export SB_DEMO_FHIR_PORT="${SB_DEMO_FHIR_PORT:-$((SB_PORT_BASE + 90))}"
# The local carrier and mail sandbox (make up only, tools/sandbox): its page and Twilio-style
# SMS API, and its SMTP sink.
export SB_SANDBOX_PORT="${SB_SANDBOX_PORT:-$((SB_PORT_BASE + 95))}"
export SB_SANDBOX_SMTP_PORT="${SB_SANDBOX_SMTP_PORT:-$((SB_PORT_BASE + 96))}"
service_port() { # service -> port
  local i=0; for s in $SERVICES; do [ "$s" = "$1" ] && { echo $((SB_PORT_BASE + i)); return; }; i=$((i + 1)); done
}

# Local runs are dev mode: services warn about missing secrets instead of refusing to start.
# Production (the default of the services themselves) refuses to start without real secrets.
export SWITCHBOARD_ENV="${SWITCHBOARD_ENV:-dev}"

# Random secrets, made once per run home (mode 600) and kept with it: no public defaults even
# locally. Tests read this file to sign webhooks (tests/system_support.py).
run_secrets() { # -> exports the SWITCHBOARD_* and SB_* secrets of $SB_RUN_HOME
  local file="$SB_RUN_HOME/secrets.env" name
  mkdir -p "$SB_RUN_HOME"
  if [ ! -s "$file" ]; then
    (
      umask 077
      for name in SWITCHBOARD_JWT_SECRET SWITCHBOARD_TWILIO_AUTH_TOKEN SWITCHBOARD_EMAIL_WEBHOOK_SECRET \
        SWITCHBOARD_LINK_SECRET SB_DEMO_FHIR_TOKEN; do
        printf '%s=%s\n' "$name" "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
      done > "$file.tmp" && mv "$file.tmp" "$file"
    )
  fi
  chmod 600 "$file"
  set -a; source "$file"; set +a
}

replica_port() { # n -> the own port of ingest replica n (SB_INGEST_REPLICAS; its /readyz)
  echo $((SB_PORT_BASE + 70 + $1))
}

internal_port() { # service -> the port of its internal API (/internal/..., callers with a token)
  echo $(($(service_port "$1") + 50))
}
