#!/usr/bin/env bash
# CI step after the main tests: build the container image and run the suite's --help and a
# dry-run inside it (tests/deploy/test_image.py, marker `docker`).
# Installs docker.io + debootstrap when missing and starts dockerd by hand (no systemd on CI).
# When no Docker daemon can be had it prints one SKIP line and exits 0, so a machine without
# the privileges for dockerd does not fail the build for an unrelated reason.
set -uo pipefail
cd "$(dirname "$0")/.."
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "ci-docker: installing ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/tmp/e2et-ci-apt.log 2>&1 \
      || echo "ci-docker: apt-get install ${need[*]} failed (see /tmp/e2et-ci-apt.log)"
  fi
fi
if ! bash docker/start-dockerd.sh; then
  echo "SKIP: container image test — no Docker daemon could be started on this machine (see /tmp/e2et-dockerd.log)"
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1 && ! docker image inspect e2et-base:bookworm >/dev/null 2>&1; then
  echo "SKIP: container image test — debootstrap is not installed and no e2et-base:bookworm image exists"
  exit 0
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider -m docker tests/deploy/test_image.py -rs
