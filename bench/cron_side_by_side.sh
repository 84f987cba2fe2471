#!/usr/bin/env bash
# Runs the cron walks of bench/cron_cases.json with sked, APScheduler 3 and croner, and prints ns per fire
# time and the ratios, plus whether the peers' last fire time matches sked's.
# Usage: bench/cron_side_by_side.sh [build-dir]   (default: build/release, built here when missing)
# CRON_PEERS_FIRST=1 runs the peers before sked.
# Needs: Debian's python3-apscheduler (run with /usr/bin/python3), node and npm (croner is installed into
# <build-dir>/peers, outside the source tree).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"

if [[ ! -x "$build/bench/sked_cron_bench" || ! -x "$build/src/cli/sked" ]]; then
  scripts/configure.sh release -DSKED_BUILD_TESTS=OFF -DSKED_BUILD_EXAMPLES=OFF
  cmake --build --preset release --target sked_cron_bench sked_cli
fi
if ! /usr/bin/python3 -c 'import apscheduler' 2>/dev/null; then
  echo "APScheduler 3 is missing: apt-get install -y python3-apscheduler" >&2
  exit 1
fi
peers="$build/peers"
if [[ ! -d "$peers/node_modules/croner" ]]; then
  mkdir -p "$peers"
  npm install --prefix "$peers" --no-save --silent croner >&2
fi

echo "$(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); APScheduler $(/usr/bin/python3 -c 'import apscheduler; print(apscheduler.__version__)'), croner $(node -p "require('$PWD/$peers/node_modules/croner/package.json').version"), node $(node --version)"
run_sked() {
  "$build/bench/sked_cron_bench" --benchmark_format=json --benchmark_min_time=0.2 >"$build/cron_bench_sked.json" 2>/dev/null
}
run_peers() {
  /usr/bin/python3 bench/peers/cron_peers.py bench/cron_cases.json >"$build/cron_bench_apscheduler.jsonl"
  NODE_PATH="$PWD/$peers/node_modules" node bench/peers/cron_peers.js bench/cron_cases.json >"$build/cron_bench_croner.jsonl"
}
# bench/run.sh sets CRON_PEERS_FIRST=1 in every other round, so that drifting load falls on both sides.
if [[ "${CRON_PEERS_FIRST:-0}" == 1 ]]; then run_peers; run_sked; else run_sked; run_peers; fi
/usr/bin/python3 bench/peers/cron_table.py bench/cron_cases.json "$build/cron_bench_sked.json" \
  "$build/cron_bench_apscheduler.jsonl" "$build/cron_bench_croner.jsonl" "$build/src/cli/sked"
