#!/usr/bin/env bash
# sked's SQLite dispatch against its floor (sqlite_bench.cpp): scheduler_end_to_end next to
# BM_SqliteContractFloor, the least any scheduler on an SQLite file does per run when it claims no
# more runs than its workers can start (the contract), and the same claiming up to 512 runs per
# transaction (the way before the contract). synchronous=NORMAL and FULL; every case alternates run
# by run. Prints runs/s min/median/max, the median CPU per run and the floor's runs per commit, then
# the machine's per-transaction floor (BEGIN IMMEDIATE, one small insert, COMMIT).
#
# Usage: bench/sqlite_floor.sh [--runs N] [--bench PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
bench=build/release/bench/sked_sqlite_bench
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --bench) bench="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--bench PATH]" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3

# label|benchmark filter
cases=()
for sync in 0 1; do
  name=$([[ $sync == 0 ]] && echo NORMAL || echo FULL)
  cases+=("sked scheduler_end_to_end (interval jobs), $name|scheduler_end_to_end/$sync/")
  for resched in 1 0; do
    jobs=$([[ $resched == 1 ]] && echo "interval jobs" || echo "one-shot jobs")
    cases+=("floor, contract, $jobs, $name|BM_SqliteContractFloor/sync:$sync/claim:0/conns:1/reschedule:$resched/")
    [[ $sync == 0 ]] &&
      cases+=("floor, contract, connection per worker, $jobs, $name|BM_SqliteContractFloor/sync:$sync/claim:0/conns:4/reschedule:$resched/")
    cases+=("floor, 512 per claim, $jobs, $name|BM_SqliteContractFloor/sync:$sync/claim:512/conns:1/reschedule:$resched/")
  done
done

measure() {  # "runs/s cpu_us_per_run runs_per_commit" of the benchmark matching $1
  "$bench" --benchmark_filter="$1" --benchmark_min_time=1 --benchmark_format=json 2>/dev/null |
    "$python" -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"][0]; print(round(b["items_per_second"]), round(b["cpu_us_per_run"], 1), round(b.get("runs_per_commit", 0), 1))'
}

declare -A rate cpu batch
for ((r = 1; r <= runs; r++)); do
  for c in "${cases[@]}"; do
    read -r per_second per_run per_commit < <(measure "${c#*|}")
    rate[$c]+="$per_second "
    cpu[$c]+="$per_run "
    batch[$c]+="$per_commit "
  done
done

stats() {  # min/median/max of the words of $1
  tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {printf "%s/%s/%s", v[1], v[int((NR+1)/2)], v[NR]}'
}

echo "$(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg); $runs run(s) each, alternating"
printf '%-62s %-20s %-8s %s\n' "" "runs/s min/med/max" "CPU us" "runs per commit (medians)"
for c in "${cases[@]}"; do
  per_commit="$(stats "${batch[$c]}" | cut -d/ -f2)"
  printf '%-62s %-20s %-8s %s\n' "${c%|*}" "$(stats "${rate[$c]}")" "$(stats "${cpu[$c]}" | cut -d/ -f2)" \
    "$([[ $per_commit == 0 ]] && echo - || echo "$per_commit")"
done
"$bench" --benchmark_filter=BM_SqliteTransactionFloor --benchmark_min_time=1 --benchmark_format=json 2>/dev/null |
  "$python" -c 'import json,sys
for b in json.load(sys.stdin)["benchmarks"]:
    print("BEGIN IMMEDIATE + one insert + COMMIT, %s: %.1f us" % ("FULL" if b["name"].split(":")[1][0] == "1" else "NORMAL", b["real_time"]))'
