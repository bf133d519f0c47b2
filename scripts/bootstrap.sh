#!/usr/bin/env bash
# Install what a fresh machine lacks: system packages, uv, the Python environment, Kafka jars.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

need_apt=()
command -v java >/dev/null || need_apt+=(default-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v curl >/dev/null || need_apt+=(curl)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql postgresql-contrib)
command -v psql >/dev/null || need_apt+=(postgresql-client)
# tests/contract/test_asyncapi.py validates the AsyncAPI document with @asyncapi/parser.
command -v npm >/dev/null || need_apt+=(nodejs npm)
if [ "${SB_WITH_BROWSER:-}" = 1 ] && ! command -v chromium >/dev/null; then need_apt+=(chromium); fi
# Container images (make image-test, make up IMAGES=1): podman with runc, and debootstrap for
# the local base image.
if [ "${SB_WITH_IMAGES:-}" = 1 ]; then
  command -v podman >/dev/null || need_apt+=(podman)
  command -v runc >/dev/null || need_apt+=(runc)
  command -v debootstrap >/dev/null || need_apt+=(debootstrap)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v uv >/dev/null || python3 -m pip install -q uv
[ "${SB_WITH_IMAGES:-}" = 1 ] && bash scripts/podman_setup.sh
# Bytecode compiled once here, not by every service start (a start that compiles its
# imports takes seconds more; with PYTHONDONTWRITEBYTECODE set it did so every time).
uv sync --frozen -q --compile-bytecode
.venv/bin/python -m compileall -q -j 0 libs/*/src services/*/src >/dev/null
bash scripts/kafka.sh install
bash scripts/asyncapi_parser.sh >/dev/null
