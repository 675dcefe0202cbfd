#!/usr/bin/env bash
# Build the e2et container image, base image included, on a machine with only apt and PyPI.
# Usage: bash scripts/docker-build.sh [TAG]            (default e2et:dev)
#   ENVOY_SOURCE=stand-in|<context path>|<url>  where the envoy executable comes from (Dockerfile)
#   BASE_IMAGE=...                              skip the Debian bootstrap, use this base instead
# Needs a running Docker daemon (bash docker/start-dockerd.sh starts one as root).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-e2et:dev}
base=${BASE_IMAGE:-e2et-base:bookworm}
if [ -z "${BASE_IMAGE:-}" ]; then
  bash docker/make-base-image.sh "$base"
fi
# Extra CA certificates of this machine (a TLS-intercepting egress proxy): passed to the build
# stage only, so pip can reach PyPI; certificates are public, the final image does not keep them.
extra_ca=""
for f in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$f" ] && extra_ca+="$(cat "$f")"$'\n'
done
start=$(date +%s)
docker build --network host -t "$tag" \
  --build-arg BASE_IMAGE="$base" \
  --build-arg ENVOY_SOURCE="${ENVOY_SOURCE:-stand-in}" \
  --build-arg EXTRA_CA_CERTS="$extra_ca" \
  .
end=$(date +%s)
size=$(docker image inspect "$tag" --format '{{.Size}}')
echo "built $tag in $((end - start))s, $((size / 1024 / 1024)) MiB"
