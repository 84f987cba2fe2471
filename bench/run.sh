#!/usr/bin/env bash
# The benchmark suite: builds the release preset, installs the peers it needs, runs every workload with
# sked and with its peer in the same run, and prints one table (workload, sked, peer, ratio).
# Usage: bench/run.sh [build-dir]   (default: build/release). About 4 minutes on 2 cores.
# Results (raw JSON) are left in <build-dir>/suite/.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
out="$build/suite"
python=/usr/bin/python3

if [[ "$build" == build/release ]]; then
  scripts/configure.sh release
  cmake --build --preset release -j1 --target sked_cron_bench sked_cli sked_dispatch_bench \
    sked_lateness_bench sked_store_bench sked_memory_bench sked_sqlite_bench sked_sqlite_scale_bench >/dev/null
fi
if ! "$python" -c 'import apscheduler, sqlalchemy' 2>/dev/null; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get install -y python3-apscheduler python3-sqlalchemy >&2
fi
mkdir -p "$out"
step() { echo "== $*" >&2; }

step "cron walks (sked, APScheduler, croner)"
bench/cron_side_by_side.sh "$build" >"$out/cron_table.txt"

step "dispatch throughput (sked, its floor and APScheduler, alternating, 3 rounds)"
for round in 1 2 3; do
  "$build/bench/sked_dispatch_bench" --benchmark_filter='/100000/' --benchmark_format=json \
    >"$out/dispatch_sked_$round.json" 2>/dev/null
  for w in 2 8; do "$python" bench/peers/apscheduler_dispatch.py "$w" 100000 >"$out/dispatch_aps_${w}_$round.txt"; done
done

step "firing lateness (real clock, ~5 s each)"
"$build/bench/sked_lateness_bench" --benchmark_format=json >"$out/lateness_sked.json" 2>/dev/null
"$python" bench/peers/apscheduler_lateness.py 8 >"$out/lateness_aps.json"

step "store scaling"
"$build/bench/sked_store_bench" --benchmark_format=json >"$out/store_sked.json" 2>/dev/null
"$python" bench/peers/apscheduler_store.py 1000 10000 100000 >"$out/store_aps.jsonl"

step "memory per job"
"$build/bench/sked_memory_bench" --benchmark_filter='jobs:1000000/' --benchmark_format=json \
  >"$out/memory_sked.json" 2>/dev/null
"$python" bench/peers/apscheduler_memory.py 100000 >"$out/memory_aps.json"

step "SQLite store: add, claim and record, start-up and scaling with 10^6 jobs"
"$build/bench/sked_sqlite_bench" --benchmark_filter='/0/' --benchmark_format=json >"$out/sqlite_sked.json" 2>/dev/null
"$python" bench/peers/apscheduler_sqlite.py --jobs 1000 >"$out/sqlite_aps.txt"
"$build/bench/sked_sqlite_scale_bench" --benchmark_format=json >"$out/sqlite_scale_sked.json" 2>/dev/null
"$python" bench/peers/apscheduler_startup.py 1000000 >"$out/startup_aps.json"

echo "$(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(g++ --version | head -1); APScheduler $("$python" -c 'import apscheduler; print(apscheduler.__version__)') on Python $("$python" -c 'import platform; print(platform.python_version())')"
"$python" bench/suite_table.py "$out"
