#!/usr/bin/env bash
# Random crontab lines and field sets: `sked next` against croner and APScheduler 3, wherever those
# follow the same rules (docs/cron.md lists the intended differences). Not part of ctest: it needs node,
# npm and Debian's python3-apscheduler.
# Usage: scripts/cron-agreement.sh [seed] [count]   (uses build/dev/src/cli/sked; build the dev preset first)
set -euo pipefail
cd "$(dirname "$0")/.."
seed="${1:-1}"
count="${2:-500}"
sked=build/dev/src/cli/sked
peers=build/peers
[[ -x "$sked" ]] || { echo "build the dev preset first: cmake --preset dev && cmake --build --preset dev" >&2; exit 1; }
/usr/bin/python3 -c 'import apscheduler' 2>/dev/null || { echo "apt-get install -y python3-apscheduler" >&2; exit 1; }
if [[ ! -d "$peers/node_modules/croner" ]]; then
  mkdir -p "$peers"
  npm install --prefix "$peers" --no-save --silent croner >&2
fi
status=0
NODE_PATH="$PWD/$peers/node_modules" /usr/bin/python3 tests/peers/agree_croner.py "$sked" "$seed" "$count" || status=1
/usr/bin/python3 tests/peers/agree_apscheduler.py "$sked" "$seed" "$count" UTC,Asia/Kolkata || status=1
exit "$status"
