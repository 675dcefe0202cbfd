#!/usr/bin/env bash
# Produce the base image e2et-base:bookworm locally from a Debian bootstrap.
# Why: no container registry is reachable from our build machines, so `FROM debian:bookworm`
# cannot be pulled; debootstrap builds the same minimal Debian from the apt mirror, which is.
# Idempotent: does nothing when the image already exists (FORCE=1 rebuilds).
# Usage: bash docker/make-base-image.sh [image-tag]   (needs root and debootstrap)
set -euo pipefail
tag=${1:-e2et-base:bookworm}
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ "${FORCE:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag present"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "make-base-image: debootstrap missing (apt-get install debootstrap)" >&2; exit 3; }
root=$(mktemp -d /tmp/e2et-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
# minbase: apt + dpkg + coreutils only; python and friends are added by the Dockerfile.
debootstrap --variant=minbase "$suite" "$root" "$mirror" >/tmp/e2et-debootstrap.log 2>&1 \
  || { echo "make-base-image: debootstrap failed; see /tmp/e2et-debootstrap.log" >&2; tail -5 /tmp/e2et-debootstrap.log >&2; exit 3; }
# Slim it: apt lists and caches are rebuilt by `apt-get update` in the Dockerfile anyway.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
echo "base image $tag built from debootstrap $suite ($mirror)"
