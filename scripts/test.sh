#!/usr/bin/env bash
# The README's second command: every pytest test of the harness, the sandbox and the specs
# (slow soak/flakiness tests excluded; run them with: .venv/bin/pytest -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# report tools (Allure CLI from npm, headless chromium) so the HTML report test runs, not skips
bash scripts/setup-reports.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
