#!/usr/bin/env bash
# Installs the Debian packages sked builds against, plus any named as arguments (scripts/ci.sh adds the
# fuzzers' clang). Idempotent: does nothing when they are all present. apt-get's output is kept in a log
# and shown only when the packages did not get installed; `apt-get update` may print errors about one
# source and still leave everything installable, so success is judged by dpkg, not by what apt printed.
set -euo pipefail

# prometheus is there for its promtool, which checks /metrics (test http_promtool): Debian has no
# smaller package with it (19 MB to download; on disk 96 MB, plus 214 MB of time-zone data in
# libjs-moment-timezone for its web UI). Its server is not wanted: see prometheus_off below.
packages=(
  build-essential cmake ninja-build pkg-config tzdata
  libhowardhinnant-date-dev libfmt-dev libsqlite3-dev libsqlitecpp-dev
  catch2 nlohmann-json3-dev libcli11-dev libbenchmark-dev sqlite3 jq curl
  libcpp-httplib-dev chromium libpq-dev postgresql prometheus
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
    # npm's own output only when it failed, with what failed named: behind a proxy that re-signs
    # TLS, npm needs its CA (NODE_EXTRA_CA_CERTS or `npm config set cafile`).
    local npm_log
    npm_log=$(mktemp "${TMPDIR:-/tmp}/sked-npm.XXXXXX")
    if ! (cd "$dir" && npm ci --no-audit --no-fund) >"$npm_log" 2>&1; then
      cat "$npm_log" >&2
      rm -f "$npm_log"
      echo "sked: FAILED to install the browser tests' playwright-core (npm ci in tests/browser," \
           "see above)" >&2
      exit 1
    fi
    rm -f "$npm_log"
  fi
}

missing_packages() {
  local p
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$p"
    fi
  done
}

mapfile -t missing < <(missing_packages)
if [ ${#missing[@]} -eq 0 ]; then
  node_modules
  exit 0
fi

echo "sked: installing ${missing[*]} (apt-get)" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
log=$(mktemp "${TMPDIR:-/tmp}/sked-install-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
update_status=0
"${sudo[@]}" apt-get update -q >"$log" 2>&1 || update_status=$?
install_status=0
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || install_status=$?

mapfile -t still_missing < <(missing_packages)
if [ ${#still_missing[@]} -ne 0 ] || [ "$install_status" -ne 0 ]; then
  cat "$log" >&2
  echo "sked: FAILED to install: ${still_missing[*]:-(apt-get install exited with $install_status)}" >&2
  if [ "$update_status" -ne 0 ]; then
    echo "sked: apt-get update exited with status $update_status as well (see above)" >&2
  fi
  exit 1
fi
echo "sked: installed ${missing[*]}" >&2
# Installing prometheus starts its server (on 0.0.0.0:9090) where systemd runs: stop and disable
# the one this script just installed.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1 &&
   systemctl is-enabled prometheus >/dev/null 2>&1; then
  "${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
  echo "sked: stopped and disabled the prometheus service (only its promtool is used)" >&2
fi
node_modules
