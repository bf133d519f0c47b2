#!/usr/bin/env bash
# Restart the ingest replicas of a `make up SB_INGEST_REPLICAS=2` run one at a time: SIGTERM
# one (it stops accepting, answers what it holds, commits, exits), start it again, wait
# until it answers ready on its own port, then the next. The other replica keeps accepting
# on the shared port meanwhile, so no webhook is refused.
set -euo pipefail
source "$(dirname "$0")/env.sh"
conf="$SB_RUN_HOME/supervisord.conf"
ctl() { "$ROOT/.venv/bin/supervisorctl" -c "$conf" "$@"; }
mapfile -t replicas < <(ctl status 'ingest:*' | awk '{print $1}')
if [ "${#replicas[@]}" -lt 2 ]; then
  echo "rolling restart: needs ingest replicas (make up SB_INGEST_REPLICAS=2)" >&2; exit 2
fi
for name in "${replicas[@]}"; do
  n=${name##*-}
  started=$SECONDS
  ctl stop "$name" >/dev/null   # SIGTERM; supervisord waits for the graceful exit
  ctl start "$name" >/dev/null
  deadline=$((SECONDS + ${SB_READY_TIMEOUT_S:-90}))
  until curl -fsS "http://127.0.0.1:$(replica_port "$n")/readyz" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && { echo "$name did not become ready" >&2; exit 1; }
    sleep 0.2
  done
  echo "rolling restart: $name back and ready in $((SECONDS - started))s"
done
