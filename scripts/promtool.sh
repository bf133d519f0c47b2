#!/usr/bin/env bash
# Prints the path of a promtool binary, building it once from the Go module proxy into the
# cache (`go install` refuses the Prometheus module: its go.mod has exclude directives).
set -euo pipefail
source "$(dirname "$0")/env.sh"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
bin="$SB_CACHE/bin/promtool-$PROMETHEUS_VERSION"
if [ ! -x "$bin" ]; then
  export PATH="$PATH:/usr/local/go/bin"  # where the machine's Go lives when not on PATH
  command -v go >/dev/null || { echo "go is required to build promtool" >&2; exit 1; }
  dir=$(go mod download -json "github.com/prometheus/prometheus@$PROMETHEUS_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  mkdir -p "$(dirname "$bin")"
  echo "promtool: building $PROMETHEUS_VERSION (a few minutes, once)" >&2
  (cd "$work" && GOWORK=off CGO_ENABLED=0 go build -o "$bin.tmp" ./cmd/promtool)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
