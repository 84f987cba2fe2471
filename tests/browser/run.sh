#!/usr/bin/env bash
# Runs the dashboard's browser tests: run.sh SKED_BINARY SCREENSHOT_DIR, on an SQLite store, or on a
# throwaway PostgreSQL server when SKED_PG_BINDIR names its binaries. Exits 77 (skipped) when
# chromium or the node modules (scripts/install-deps.sh installs both) are missing in a developer's
# build; in CI (SKED_CI or CI set and not 0/false) that is a failure.
set -euo pipefail
cd "$(dirname "$0")"
missing() {
  local ci="${SKED_CI:-${CI:-}}"
  if [[ -n "$ci" && "$ci" != 0 && "$ci" != false ]]; then
    echo "FAIL: $1, and CI must run the browser tests (scripts/install-deps.sh installs what they need)"
    exit 1
  fi
  echo "SKIPPED: $1 (scripts/install-deps.sh installs it)"
  exit 77
}
[[ -x /usr/bin/chromium ]] || missing "/usr/bin/chromium is not installed"
[[ -d node_modules/playwright-core ]] || missing "tests/browser/node_modules is missing ('npm ci' in tests/browser)"
SKED="$1" SKED_SCREENSHOTS="$2" exec node --test --test-reporter=spec dashboard.test.mjs
