#!/usr/bin/env bash
# Prints the path of a node_modules folder holding the official AsyncAPI parser
# (@asyncapi/parser), installed once from the npm registry into the cache (never committed).
# tests/contract/test_asyncapi.py validates docs/asyncapi.yaml with it.
set -euo pipefail
source "$(dirname "$0")/env.sh"
ASYNCAPI_PARSER_VERSION="${ASYNCAPI_PARSER_VERSION:-3.6.6}"
dir="$SB_CACHE/asyncapi-parser-$ASYNCAPI_PARSER_VERSION"
if [ ! -f "$dir/.installed" ]; then
  command -v npm >/dev/null || { echo "node and npm are required for the AsyncAPI parser" >&2; exit 1; }
  mkdir -p "$dir"
  echo "asyncapi-parser: installing @asyncapi/parser@$ASYNCAPI_PARSER_VERSION (once)" >&2
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
    "@asyncapi/parser@$ASYNCAPI_PARSER_VERSION" >&2
  touch "$dir/.installed"
fi
echo "$dir/node_modules"
