#!/usr/bin/env bash
# Installs the Debian packages sked builds against, plus any named as arguments (scripts/ci.sh adds the
# fuzzers' clang). Idempotent: does nothing when they are all present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config tzdata
  libhowardhinnant-date-dev libfmt-dev libsqlite3-dev libsqlitecpp-dev
  catch2 nlohmann-json3-dev libcli11-dev libbenchmark-dev sqlite3 jq
  libcpp-httplib-dev chromium
  "$@"
)
# The browser tests run under node; Debian's when there is none.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

# The browser tests' playwright-core, pinned by tests/browser/package-lock.json. It drives the
# chromium above and never downloads a browser of its own.
node_modules() {
  local dir
  dir="$(dirname "$0")/../tests/browser"
  if [ ! -d "$dir/node_modules/playwright-core" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
  fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  node_modules
  exit 0
fi

echo "sked: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
node_modules
