#!/usr/bin/env bash
# The local stand-in for the Dockerfile's FROM: public container registries are out of reach
# here, Debian's packages are not. A minimal bookworm with Python 3.11 (the version the pinned
# python:3.11-slim-bookworm has), made once by debootstrap and cached as a tarball under
# $SB_CACHE/images, then imported into podman as $SB_IMAGE_BASE.
set -euo pipefail
source "$(dirname "$0")/env.sh"
base="${SB_IMAGE_BASE:-localhost/switchboard-base:bookworm}"
podman image exists "$base" && exit 0
cache="$SB_CACHE/images"
tarball="$cache/debian-python-bookworm.tar"
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  # The mirror apt already uses on this machine (Debian's own by default).
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror="${mirror:-http://deb.debian.org/debian}"
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  started=$SECONDS
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  # Keep the image lean: package lists and docs are not needed at run time.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*
  tar -C "$root" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  echo "image base: debootstrap took $((SECONDS - started))s"
fi
podman import --quiet "$tarball" "$base" >/dev/null
echo "image base: $base"
