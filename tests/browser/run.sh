#!/usr/bin/env bash
# Runs the dashboard's browser tests: run.sh SKED_BINARY SCREENSHOT_DIR. Exits 77 (skipped) when
# chromium or the node modules (scripts/install-deps.sh installs both) are missing.
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -x /usr/bin/chromium ]]; then
  echo "skipped: /usr/bin/chromium is not installed (scripts/install-deps.sh)"
  exit 77
fi
if [[ ! -d node_modules/playwright-core ]]; then
  echo "skipped: run 'npm ci' in tests/browser (scripts/install-deps.sh does)"
  exit 77
fi
SKED="$1" SKED_SCREENSHOTS="$2" exec node --test --test-reporter=spec dashboard.test.mjs
