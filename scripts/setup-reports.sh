#!/usr/bin/env bash
# Idempotent set-up of the report tools: the Allure 3 CLI (npm `allure`, pure Node — no JRE) under
# tools/allure/, and headless Chromium (Debian `chromium`) used by the HTML report test.
# Usage: bash scripts/setup-reports.sh      (fast no-op when everything is there)
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=""
apt_install() {
  command -v apt-get >/dev/null || { echo "setup-reports: no apt-get; install $* by hand" >&2; return 1; }
  [ -n "$apt_updated" ] || { $SUDO apt-get update -qq >/dev/null; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm || true
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup-reports: the allure CLI needs Node >= 20 (found ${node_major}); HTML reports stay unavailable" >&2
else
  stamp=tools/allure/node_modules/.e2et-installed
  if [ ! -x tools/allure/node_modules/.bin/allure ] || [ ! -f "$stamp" ] || [ tools/allure/package-lock.json -nt "$stamp" ]; then
    npm ci --prefix tools/allure --no-audit --no-fund --loglevel=error >/dev/null
    touch "$stamp"
  fi
fi
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  apt_install chromium || echo "setup-reports: chromium not installed; the HTML report test will be skipped" >&2
fi
echo "setup-reports: allure $(tools/allure/node_modules/.bin/allure --version 2>/dev/null || echo missing)," \
     "$( (chromium --version || chromium-browser --version) 2>/dev/null | head -1 || echo 'chromium missing')"
