#!/usr/bin/env bash
# Put the envoy executable e2et starts at a fixed path in the image (build step).
# Why a fixed path: the chart's profiles say envoy.executable: /usr/local/bin/telemetry-envoy, so
# an image built with the stand-in and one built with the real envoy are used the same way.
# Usage: install-envoy.sh SOURCE DEST
#   SOURCE = stand-in | <file in the build context> | http(s)://URL (binary or .tar.gz)
set -euo pipefail
src=$1 dest=$2
case "$src" in
  stand-in|"")
    # The sandbox's stand-in console script (real gRPC/mTLS envoy protocol, telegraf stand-in).
    ln -sf /opt/e2et/.venv/bin/telemetry-envoy "$dest"
    ;;
  http://*|https://*)
    tmp=$(mktemp -d)
    /opt/e2et/.venv/bin/python - "$src" "$tmp/download" <<'PY'
import sys, urllib.request
urllib.request.urlretrieve(sys.argv[1], sys.argv[2])
PY
    if tar -tzf "$tmp/download" >/dev/null 2>&1; then
      tar -xzf "$tmp/download" -C "$tmp"
      found=$(find "$tmp" -type f -name telemetry-envoy | head -n1)
      [ -n "$found" ] || { echo "install-envoy: no telemetry-envoy in $src" >&2; exit 1; }
      install -m 0755 "$found" "$dest"
    else
      install -m 0755 "$tmp/download" "$dest"
    fi
    rm -rf "$tmp"
    ;;
  *)
    [ -f "/opt/e2et/$src" ] || { echo "install-envoy: $src is not a file in the build context" >&2; exit 1; }
    install -m 0755 "/opt/e2et/$src" "$dest"
    rm -f "/opt/e2et/$src"
    ;;
esac
"$dest" --help >/dev/null 2>&1 || echo "install-envoy: note: '$dest --help' did not exit 0" >&2
echo "envoy from $src installed at $dest"
