#!/usr/bin/env bash
# Build one image per service (all by default) with podman, from the Dockerfile, on the local
# base (scripts/image_base.sh): localhost/switchboard-<service>:$SB_IMAGE_TAG.
# Prints each build's time; the layers up to the dependencies are shared and cached.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/podman_setup.sh
bash scripts/image_base.sh
mkdir -p "$SB_CACHE/images"  # build logs (the base may come from podman's store, not the cache)
base="${SB_IMAGE_BASE:-localhost/switchboard-base:bookworm}"
tag="${SB_IMAGE_TAG:-dev}"
# The machine's CA bundle, for the build steps only (a proxy's CA, where there is one);
# nothing of it stays in the images.
ca=()
[ -s /etc/ssl/certs/ca-certificates.crt ] &&
  ca=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
for s in ${*:-$SERVICES}; do
  started=$SECONDS
  podman build --quiet --network host "${ca[@]}" --build-arg BASE="$base" \
    --build-arg SERVICE="$s" --tag "localhost/switchboard-$s:$tag" . >"$SB_CACHE/images/build-$s.log" 2>&1 ||
    { tail -30 "$SB_CACHE/images/build-$s.log" >&2; exit 1; }
  size=$(podman image inspect --format '{{.Size}}' "localhost/switchboard-$s:$tag")
  printf 'image %-18s built in %3ss, %s MB\n' "$s" $((SECONDS - started)) $((size / 1000000))
done
