#!/usr/bin/env bash
# Installs the Debian packages sked builds against, plus any named as arguments (scripts/ci.sh adds the
# fuzzers' clang). Idempotent: does nothing when they are all present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config tzdata
  libhowardhinnant-date-dev libfmt-dev libsqlite3-dev libsqlitecpp-dev
  catch2 nlohmann-json3-dev libcli11-dev libbenchmark-dev sqlite3 jq
  libpq-dev postgresql
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
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
