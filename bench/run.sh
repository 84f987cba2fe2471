#!/usr/bin/env bash
# The benchmark suite: builds the release preset, installs the peers it needs, runs every workload with
# sked and with its peer in rounds, and prints one table (workload, sked, peer, ratio of the medians) with
# the min/median/max of each workload over the rounds below it.
# Usage: bench/run.sh [--rounds N] [build-dir]   (default: 3 rounds, build/release). About 12 minutes on 2
# cores with 3 rounds.
# Each workload runs N rounds back to back; a round runs sked and its peer once each, sked first in odd
# rounds and the peer first in even ones, so that load which drifts during a workload (another build on the
# machine) falls on both sides. Results (raw, one file per round: *_<round>.*) are left in <build-dir>/suite/.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
if [[ "${1:-}" == --rounds ]]; then
  rounds="${2:?--rounds needs a number}"
  shift 2
fi
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench/run.sh: --rounds takes a whole number of at least 1, not '$rounds'" >&2
  exit 2
fi
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
rm -rf "$out"
mkdir -p "$out"
suite_start=$SECONDS
step_start=$SECONDS
step() {
  echo "== $* (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  step_start=$SECONDS
}
done_step() { echo "   took $((SECONDS - step_start)) s" >&2; }

# pair ROUND SKED_FUNCTION PEER_FUNCTION: runs both for one round, sked first when ROUND is odd.
pair() {
  if (($1 % 2)); then "$2" "$1"; "$3" "$1"; else "$3" "$1"; "$2" "$1"; fi
}

step "cron walks (sked, APScheduler and croner, $rounds rounds)"
for ((r = 1; r <= rounds; r++)); do
  CRON_PEERS_FIRST=$(((r + 1) % 2)) bench/cron_side_by_side.sh "$build" >"$out/cron_table_$r.txt"
  cp "$build/cron_bench_sked.json" "$out/cron_sked_$r.json"
  cp "$build/cron_bench_apscheduler.jsonl" "$out/cron_aps_$r.jsonl"
  cp "$build/cron_bench_croner.jsonl" "$out/cron_croner_$r.jsonl"
done
done_step

step "dispatch throughput (sked with its floor, and APScheduler at 2 and 8 workers, $rounds rounds)"
dispatch_sked() {
  "$build/bench/sked_dispatch_bench" --benchmark_filter='/100000/' --benchmark_format=json \
    >"$out/dispatch_sked_$1.json" 2>/dev/null
}
dispatch_aps() {
  for w in 2 8; do "$python" bench/peers/apscheduler_dispatch.py "$w" 100000 >"$out/dispatch_aps_${w}_$1.txt"; done
}
for ((r = 1; r <= rounds; r++)); do pair "$r" dispatch_sked dispatch_aps; done
done_step

step "firing lateness (real clock, sked and its floor ~8 s, APScheduler ~5 s, $rounds rounds)"
lateness_sked() {
  "$build/bench/sked_lateness_bench" --benchmark_format=json >"$out/lateness_sked_$1.json" 2>/dev/null
}
lateness_aps() { "$python" bench/peers/apscheduler_lateness.py 8 >"$out/lateness_aps_$1.json"; }
for ((r = 1; r <= rounds; r++)); do pair "$r" lateness_sked lateness_aps; done
done_step

step "store scaling (sked 10^3..10^6, APScheduler 10^3..10^5, $rounds rounds)"
store_sked() { "$build/bench/sked_store_bench" --benchmark_format=json >"$out/store_sked_$1.json" 2>/dev/null; }
store_aps() { "$python" bench/peers/apscheduler_store.py 1000 10000 100000 >"$out/store_aps_$1.jsonl"; }
for ((r = 1; r <= rounds; r++)); do pair "$r" store_sked store_aps; done
done_step

step "memory per job (sked 10^6, APScheduler 10^5, $rounds rounds)"
memory_sked() {
  "$build/bench/sked_memory_bench" --benchmark_filter='jobs:1000000/' --benchmark_format=json \
    >"$out/memory_sked_$1.json" 2>/dev/null
}
memory_aps() { "$python" bench/peers/apscheduler_memory.py 100000 >"$out/memory_aps_$1.json"; }
for ((r = 1; r <= rounds; r++)); do pair "$r" memory_sked memory_aps; done
done_step

step "SQLite store: add, claim and record ($rounds rounds)"
sqlite_sked() {
  "$build/bench/sked_sqlite_bench" --benchmark_filter='/0/' --benchmark_format=json \
    >"$out/sqlite_sked_$1.json" 2>/dev/null
}
sqlite_aps() { "$python" bench/peers/apscheduler_sqlite.py --jobs 1000 >"$out/sqlite_aps_$1.txt"; }
for ((r = 1; r <= rounds; r++)); do pair "$r" sqlite_sked sqlite_aps; done
done_step

step "SQLite start-up with 10^6 jobs, and sked's SQLite scaling to 10^6 ($rounds rounds)"
startup_sked() {
  "$build/bench/sked_sqlite_scale_bench" --benchmark_format=json >"$out/sqlite_scale_sked_$1.json" 2>/dev/null
}
startup_aps() { "$python" bench/peers/apscheduler_startup.py 1000000 >"$out/startup_aps_$1.json"; }
for ((r = 1; r <= rounds; r++)); do pair "$r" startup_sked startup_aps; done
done_step

echo "suite took $((SECONDS - suite_start)) s; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "$(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(g++ --version | head -1); APScheduler $("$python" -c 'import apscheduler; print(apscheduler.__version__)') on Python $("$python" -c 'import platform; print(platform.python_version())')"
"$python" bench/suite_table.py "$out"
