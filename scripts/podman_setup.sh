#!/usr/bin/env bash
# podman on these machines (see docs/operations.md, "Images"): runc instead of crun (which
# refuses the cgroup layout) and no default ulimits (podman raises RLIMIT_NOFILE/NPROC above
# the hard limits: EPERM). A drop-in, so an existing containers.conf is kept.
set -euo pipefail
command -v podman >/dev/null || { echo "podman is not installed (apt-get install podman runc)" >&2; exit 1; }
conf=/etc/containers/containers.conf.d/50-switchboard.conf
[ -f "$conf" ] && exit 0
if [ -w /etc/containers ] || [ "$(id -u)" = 0 ]; then
  mkdir -p "$(dirname "$conf")"
  cat >"$conf" <<'CONF'
# Switchboard (scripts/podman_setup.sh): this machine's hard limits are below podman's default
# ulimits, and crun refuses its cgroup layout; runc works.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
fi
