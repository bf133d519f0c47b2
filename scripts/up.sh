#!/usr/bin/env bash
# Set up and start the whole system: dependencies, Kafka (one broker, or three with
# KAFKA_BROKERS=3), PostgreSQL, topics, migrations,
# every service under supervisord (a log per service), the demo practice, and the local
# carrier and mail sandbox (tools/sandbox) that SMS and email replies and alerts go to.
# SB_IMAGES=1 (`make up IMAGES=1`): the services (and their migrations) run from their
# container images with podman, on the host network, instead of from the venv.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
started=$SECONDS

images="${SB_IMAGES:-}"; [ "$images" = 0 ] && images=""
if [ -n "$images" ]; then
  SB_WITH_IMAGES=1 bash scripts/bootstrap.sh
  bash scripts/images.sh
else
  bash scripts/bootstrap.sh
fi
if [ "${KAFKA_BROKERS:-1}" = 3 ]; then
  # the three-broker KRaft cluster, topics at replication factor 3 / min.insync.replicas 2
  bash scripts/kafka-cluster.sh start
  SWITCHBOARD_KAFKA_BOOTSTRAP="$(bash scripts/kafka-cluster.sh bootstrap)"
  export SWITCHBOARD_KAFKA_BOOTSTRAP SWITCHBOARD_KAFKA_REPLICATION_FACTOR=3
elif [ "${KAFKA_BROKERS:-1}" = 1 ]; then
  bash scripts/kafka.sh start
else
  echo "KAFKA_BROKERS must be 1 or 3" >&2; exit 2
fi
bash scripts/postgres.sh start
psql -h 127.0.0.1 -p "$PG_PORT" -U switchboard -d postgres -tc \
  "SELECT 1 FROM pg_database WHERE datname='$SB_DB_NAME'" | grep -q 1 ||
  psql -h 127.0.0.1 -p "$PG_PORT" -U switchboard -d postgres -qc "CREATE DATABASE \"$SB_DB_NAME\""
uv run --frozen python scripts/topics.py
# Containers of this run are labelled with it, so `make down` removes exactly these.
run_label="switchboard.run=$(printf %s "$SB_RUN_HOME" | md5sum | cut -c1-12)"
in_image() { # service args... -> the command running it from its image
  printf 'podman run --rm --replace --name sb-%s-%s --label %s --network host' \
    "${run_label#*=}" "$1" "$run_label"
  # every SWITCHBOARD_* setting passes through; the ingest's files in the run folder
  printf " --env 'SWITCHBOARD_*' --env SWITCHBOARD_HTTP_HOST=127.0.0.1"
  [ "$1" = ingest ] && printf ' --volume %s:/var/lib/switchboard/attachments' "$SB_RUN_HOME/attachments"
  printf ' localhost/switchboard-%s:%s' "$1" "${SB_IMAGE_TAG:-dev}"
  shift; printf ' %s' "$@"
}
mkdir -p "$SB_RUN_HOME/attachments"
# the images run as uid 10001: the attachments folder is theirs to write
[ -n "$images" ] && chown 10001:10001 "$SB_RUN_HOME/attachments"
for s in router inbox-projection gateway pm-sync notifier ingest; do
  if [ -n "$images" ]; then
    eval "$(in_image "$s" migrate)" >/dev/null 2>&1 || { eval "$(in_image "$s" migrate)"; exit 1; }
  else
    uv run --frozen "switchboard-$s" migrate >/dev/null
  fi
done
echo "migrations: applied"

mkdir -p "$SB_RUN_HOME/logs"
run_secrets # $SB_RUN_HOME/secrets.env: made on the first run, reused after
conf="$SB_RUN_HOME/supervisord.conf"
install -m 600 /dev/null "$conf"  # it holds the run's internal tokens: readable by its owner only
demo=1; [ "${SB_SKIP_DEMO:-}" = 1 ] && demo=0
demo_fhir="http://127.0.0.1:$SB_DEMO_FHIR_PORT/fhir"
# The sandbox stands in for the SMS provider and the mail relays unless the caller configured
# its own (e.g. the fault harness's provider stand-ins): one local account, the run's Twilio
# token both authenticating sends and signing the status callbacks, as Twilio's does.
sandbox="http://127.0.0.1:$SB_SANDBOX_PORT"
sandbox_sid="AC5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
if [ -z "${SWITCHBOARD_SMS_API_BASE_URL:-}" ]; then
  sms_env=",SWITCHBOARD_SMS_API_BASE_URL=\"$sandbox\",SWITCHBOARD_SMS_ACCOUNT_SID=\"$sandbox_sid\""
  sms_env+=",SWITCHBOARD_SMS_AUTH_TOKEN=\"$SWITCHBOARD_TWILIO_AUTH_TOKEN\""
else
  sms_env=",SWITCHBOARD_SMS_API_BASE_URL=\"$SWITCHBOARD_SMS_API_BASE_URL\""
fi
# Internal APIs: fresh random tokens each run, one per calling service, each callee accepting
# exactly its callers (switchboard.platform.internal_api.CALLERS). Lines: `service K=V ...`.
credentials=$(uv run --frozen python -m switchboard.platform.internal_api)
internal_env() { # service -> its SWITCHBOARD_INTERNAL_* supervisord entries
  local line kv; line=$(grep "^$1 " <<<"$credentials") || return 0
  for kv in ${line#* }; do printf ",%s='%s'" "${kv%%=*}" "${kv#*=}"; done
}
extra_env() { # service -> its own supervisord environment entries (each only its own secrets)
  case $1 in
    notifier)
      # alert links open the local gateway; email and SMS only when the caller configured them
      printf ',SWITCHBOARD_APP_BASE_URL="http://127.0.0.1:%s"' "$(service_port gateway)"
      # alert emails and SMS to the sandbox, or where the caller configured them
      if [ -n "${SWITCHBOARD_SMTP_HOST:-}" ]; then
        printf ',SWITCHBOARD_SMTP_HOST="%s",SWITCHBOARD_SMTP_PORT="%s"' \
          "$SWITCHBOARD_SMTP_HOST" "${SWITCHBOARD_SMTP_PORT:-25}"
      else
        printf ',SWITCHBOARD_SMTP_HOST="127.0.0.1",SWITCHBOARD_SMTP_PORT="%s"' "$SB_SANDBOX_SMTP_PORT"
      fi
      printf '%s,SWITCHBOARD_SMS_FROM="%s"' "$sms_env" "${SWITCHBOARD_SMS_FROM:-+15005550006}"
      ;;
    ingest)
      # replies out to the sandbox, or where the caller configured them
      # (e.g. the fault harness's tests/integration/provider_standins.py)
      printf '%s' "$sms_env"
      if [ -n "${SWITCHBOARD_SMTP_RELAY_HOST:-}" ]; then
        printf ',SWITCHBOARD_SMTP_RELAY_HOST="%s",SWITCHBOARD_SMTP_RELAY_PORT="%s"' \
          "$SWITCHBOARD_SMTP_RELAY_HOST" "${SWITCHBOARD_SMTP_RELAY_PORT:-25}"
      else
        printf ',SWITCHBOARD_SMTP_RELAY_HOST="127.0.0.1",SWITCHBOARD_SMTP_RELAY_PORT="%s"' \
          "$SB_SANDBOX_SMTP_PORT"
      fi
      # inbound mail (SMTP) on a port that moves with the port base; files kept per run
      printf ',SWITCHBOARD_SMTP_LISTEN_PORT="%s",SWITCHBOARD_ATTACHMENT_DIR="%s"' \
        "$((2525 + SB_PORT_BASE - 8000))" \
        "$([ -n "$images" ] && echo /var/lib/switchboard/attachments || echo "$SB_RUN_HOME/attachments")"
      printf ',SWITCHBOARD_PATIENT_PAGE_URL="http://127.0.0.1:%s/patient"' "$(service_port ingest)"
      printf ',SWITCHBOARD_TWILIO_AUTH_TOKEN="%s",SWITCHBOARD_EMAIL_WEBHOOK_SECRET="%s",SWITCHBOARD_LINK_SECRET="%s"' \
        "$SWITCHBOARD_TWILIO_AUTH_TOKEN" "$SWITCHBOARD_EMAIL_WEBHOOK_SECRET" "$SWITCHBOARD_LINK_SECRET"
      ;;
    gateway)
      printf ',SWITCHBOARD_INGEST_URL="http://127.0.0.1:%s",SWITCHBOARD_NOTIFIER_URL="http://127.0.0.1:%s"' \
        "$(internal_port ingest)" "$(internal_port notifier)"
      printf ',SWITCHBOARD_JWT_SECRET="%s"' "$SWITCHBOARD_JWT_SECRET"
      ;;
    pm-sync)
      printf ',SWITCHBOARD_MLLP_PORT="%s"' "$SB_MLLP_PORT"
      # the demo practice's EHR: the local FHIR server below, polled every 30 s
      [ $demo = 1 ] && printf ",SWITCHBOARD_FHIR_PRACTICES='%s'" \
        "[{\"practice_id\":\"demo\",\"base_url\":\"$demo_fhir\",\"token\":\"$SB_DEMO_FHIR_TOKEN\",\"interval_s\":30}]"
      ;;
  esac
  return 0
}
service_env() { # service -> its supervisord environment= value
  printf 'SWITCHBOARD_ENV="%s",SWITCHBOARD_HTTP_PORT="%s",SWITCHBOARD_INTERNAL_HTTP_PORT="%s"' \
    "$SWITCHBOARD_ENV" "$(service_port "$1")" "$(internal_port "$1")"
  printf ',SWITCHBOARD_KAFKA_BOOTSTRAP="%s",SWITCHBOARD_DATABASE_URL="%s",SWITCHBOARD_TOPIC_PREFIX="%s"' \
    "$SWITCHBOARD_KAFKA_BOOTSTRAP" "$SWITCHBOARD_DATABASE_URL" "$SWITCHBOARD_TOPIC_PREFIX"
  printf ',SWITCHBOARD_ROUTER_URL="http://127.0.0.1:%s",SWITCHBOARD_PM_SYNC_URL="http://127.0.0.1:%s"' \
    "$(internal_port router)" "$(internal_port pm-sync)"
  extra_env "$1"; internal_env "$1"
}
# SB_INGEST_REPLICAS=2: two ingest processes behind its one port (venv runs only).
ingest_replicas="${SB_INGEST_REPLICAS:-1}"
[ -n "$images" ] && ingest_replicas=1
{
  cat <<CONF
[supervisord]
logfile=$SB_RUN_HOME/logs/supervisord.log
pidfile=$SB_RUN_HOME/supervisord.pid
childlogdir=$SB_RUN_HOME/logs
nodaemon=false

[unix_http_server]
file=$SB_RUN_HOME/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$SB_RUN_HOME/supervisor.sock
CONF
  for s in $SERVICES; do
    if [ "$s" = ingest ] && [ "$ingest_replicas" -gt 1 ]; then
      # Replicas behind one port: supervisord opens the listening socket and hands it to
      # every replica (fd 0), so it stays open while one restarts and the kernel queues
      # connections for whichever accepts; the internal port is shared with SO_REUSEPORT;
      # each replica also answers on a port of its own (/readyz for the rolling restart).
      cat <<CONF

[fcgi-program:$s]
socket=tcp://127.0.0.1:$(service_port "$s")
socket_backlog=2048
numprocs=$ingest_replicas
process_name=%(program_name)s-%(process_num)d
command=$ROOT/.venv/bin/switchboard-$s run
environment=$(service_env "$s"),SWITCHBOARD_LISTEN_FD="0",SWITCHBOARD_REUSE_PORT="true",SWITCHBOARD_REPLICA="%(process_num)d",SWITCHBOARD_REPLICA_PORT_BASE="$(replica_port 0)"
stdout_logfile=$SB_RUN_HOME/logs/$s-%(process_num)d.log
CONF
    else
      cat <<CONF

[program:$s]
command=$([ -n "$images" ] && in_image "$s" run || echo "$ROOT/.venv/bin/switchboard-$s run")
environment=$(service_env "$s")
stdout_logfile=$SB_RUN_HOME/logs/$s.log
CONF
    fi
    cat <<CONF
directory=$ROOT
redirect_stderr=true
autorestart=true
startsecs=2
; SIGTERM, then the service's shutdown grace (SWITCHBOARD_SHUTDOWN_GRACE_S, 20 s) and more
stopwaitsecs=30
stopasgroup=true
killasgroup=true
CONF
  done
  # The carrier and mail sandbox: from the venv even with IMAGES=1 (no image has it).
  cat <<CONF

[program:sandbox]
command=$ROOT/.venv/bin/python -m tools.sandbox --http-port $SB_SANDBOX_PORT --smtp-port $SB_SANDBOX_SMTP_PORT
environment=SANDBOX_AUTH_TOKEN="$SWITCHBOARD_TWILIO_AUTH_TOKEN",SANDBOX_ACCOUNT_SID="$sandbox_sid"
directory=$ROOT
stdout_logfile=$SB_RUN_HOME/logs/sandbox.log
redirect_stderr=true
autorestart=true
startsecs=1
stopasgroup=true
killasgroup=true
CONF
  if [ $demo = 1 ]; then
    cat <<CONF

[program:demo-fhir]
command=$ROOT/.venv/bin/python -m switchboard_demo.fhir_server --port $SB_DEMO_FHIR_PORT --token $SB_DEMO_FHIR_TOKEN
directory=$ROOT
stdout_logfile=$SB_RUN_HOME/logs/demo-fhir.log
redirect_stderr=true
autorestart=true
startsecs=1
stopasgroup=true
killasgroup=true
CONF
  fi
} > "$conf"
chmod 600 "$conf" # it holds the run's secrets

ctl() { "$ROOT/.venv/bin/supervisorctl" -c "$conf" "$@"; }
if [ -S "$SB_RUN_HOME/supervisor.sock" ] && ctl pid >/dev/null 2>&1; then
  ctl reread >/dev/null && ctl update >/dev/null && ctl restart all >/dev/null
else
  "$ROOT/.venv/bin/supervisord" -c "$conf"
fi

for s in $SERVICES; do
  port=$(service_port "$s")
  deadline=$((SECONDS + ${SB_READY_TIMEOUT_S:-90})) # seconds; more on a crowded machine
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$s did not become ready on :$port; last log lines:" >&2
      tail -20 "$SB_RUN_HOME/logs/$s.log" >&2; exit 1
    fi
    sleep 0.5
  done
done
deadline=$((SECONDS + ${SB_READY_TIMEOUT_S:-90}))
until curl -fsS "$sandbox/healthz" >/dev/null 2>&1; do
  if [ $SECONDS -ge $deadline ]; then
    echo "the sandbox did not become ready on :$SB_SANDBOX_PORT; last log lines:" >&2
    tail -20 "$SB_RUN_HOME/logs/sandbox.log" >&2; exit 1
  fi
  sleep 0.5
done
if [ "$ingest_replicas" -gt 1 ]; then # each replica on its own port too
  for ((n = 0; n < ingest_replicas; n++)); do
    deadline=$((SECONDS + ${SB_READY_TIMEOUT_S:-90}))
    until curl -fsS "http://127.0.0.1:$(replica_port "$n")/readyz" >/dev/null 2>&1; do
      [ $SECONDS -ge $deadline ] && { echo "ingest replica $n did not become ready" >&2; exit 1; }
      sleep 0.5
    done
  done
fi
echo "services: ready"

uv run --frozen switchboard-gateway load-users demo/staff.json
if [ $demo = 1 ]; then
  # The demo practice through pm-sync's real interfaces: its PM system's HL7 feed over MLLP
  # (registrations, bookings, reschedules, cancellations, no-shows); pm-sync's FHIR poller
  # reads locations, providers, patients and care teams from the demo-fhir server.
  uv run --frozen python -m switchboard_demo.load --port "$SB_MLLP_PORT" --window 64
  uv run --frozen python scripts/demo_messages.py
fi

cat <<MSG

Switchboard is up in $((SECONDS - started))s.
  staff inbox (UI)     http://127.0.0.1:$(service_port gateway)/   administration: /admin   (API docs: /docs)
  patient messenger    http://127.0.0.1:$(service_port ingest)/patient/demo
  ingest (webhooks)    http://127.0.0.1:$(service_port ingest)
  pm-sync HL7 (MLLP)   127.0.0.1:$SB_MLLP_PORT   demo EHR (FHIR R4) $demo_fhir
  sandbox (SMS, mail)  $sandbox/   what was "sent"; SMTP sink 127.0.0.1:$SB_SANDBOX_SMTP_PORT
  logs                 $SB_RUN_HOME/logs/<service>.log
  Kafka                $SWITCHBOARD_KAFKA_BOOTSTRAP   PostgreSQL 127.0.0.1:$PG_PORT/$SB_DB_NAME
  sign in              admin@demo / demo-admin
Stop everything with: make down
MSG
