#!/usr/bin/env bash
# A PostgreSQL cluster of the project's own, in $SB_HOME/pg, from Debian's postgresql package.
# Usage: scripts/postgres.sh start|stop|status|psql
set -euo pipefail
source "$(dirname "$0")/env.sh"

DIR="$SB_HOME/pg"
DATA="$DIR/data"
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
[ -x "$PGBIN/pg_ctl" ] || { echo "postgres: server binaries not found (apt-get install postgresql)" >&2; exit 1; }

# PostgreSQL refuses to run as root; run it as the 'postgres' system user the package made.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$DIR'
max_connections = 300
shared_buffers = 256MB
fsync = on
synchronous_commit = on
CONF
  fi
  if as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "postgres: already running"
  else
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 start >/dev/null
  fi
  psql_admin -tc "SELECT 1 FROM pg_roles WHERE rolname='switchboard'" | grep -q 1 ||
    psql_admin -c "CREATE ROLE switchboard LOGIN SUPERUSER" >/dev/null
  psql_admin -tc "SELECT 1 FROM pg_database WHERE datname='switchboard'" | grep -q 1 ||
    psql_admin -c "CREATE DATABASE switchboard OWNER switchboard" >/dev/null
  echo "postgres: running on 127.0.0.1:$PG_PORT (data $DATA, log $DIR/server.log)"
}

psql_admin() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

stop() {
  if [ -f "$DATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    echo "postgres: stopped"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) as_pg "$PGBIN/pg_ctl" -D "$DATA" status ;;
  psql) shift; psql -h 127.0.0.1 -p "$PG_PORT" -U switchboard -d switchboard "$@" ;;
  *) echo "usage: $0 start|stop|status|psql" >&2; exit 2 ;;
esac
