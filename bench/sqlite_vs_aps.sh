#!/usr/bin/env bash
# Runs claimed and recorded per second on an SQLite file, whole scheduler (4 workers, 1,000 no-op jobs
# due at once): sked with synchronous=NORMAL and FULL (sqlite_bench.cpp, scheduler_end_to_end) against
# APScheduler 3's SQLAlchemyJobStore with its defaults and tuned (WAL + synchronous=NORMAL + pooled
# connections, bench/peers/apscheduler_sqlite.py --tuned). The four alternate run by run; prints
# min/median/max of each and the ratios of the medians.
#
# Usage: bench/sqlite_vs_aps.sh [--runs N] [--bench PATH] [--baseline PATH]
#   --bench     sked_sqlite_bench to measure (default build/release/bench/sked_sqlite_bench)
#   --baseline  an earlier build's sked_sqlite_bench, measured in the same alternation (before/after)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
bench=build/release/bench/sked_sqlite_bench
baseline=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --bench) bench="$2"; shift 2 ;;
    --baseline) baseline="$2"; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--bench PATH] [--baseline PATH]" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3

sked_rate() {  # items_per_second of scheduler_end_to_end/$1 [of binary $2]
  "${2:-$bench}" --benchmark_filter="scheduler_end_to_end/$1/" --benchmark_min_time=1 --benchmark_format=json 2>/dev/null |
    "$python" -c 'import json,sys; print(round(json.load(sys.stdin)["benchmarks"][0]["items_per_second"]))'
}
aps_rate() {
  "$python" bench/peers/apscheduler_sqlite.py --jobs 1000 "$@" | awk '/claimed-and-recorded/ {print $(NF-1)}'
}

declare -A all
for ((r = 1; r <= runs; r++)); do
  all[normal]+="$(sked_rate 0) "
  all[aps]+="$(aps_rate) "
  all[full]+="$(sked_rate 1) "
  all[tuned]+="$(aps_rate --tuned) "
  if [[ -n "$baseline" ]]; then
    all[base_normal]+="$(sked_rate 0 "$baseline") "
    all[base_full]+="$(sked_rate 1 "$baseline") "
  fi
done

stats() {  # min/median/max of the words of $1
  tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR]=$1} END {printf "%d/%d/%d", v[1], v[int((NR+1)/2)], v[NR]}'
}
median() { stats "$1" | cut -d/ -f2; }

echo "$(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg); $runs run(s) each, alternating"
printf '%-58s %s\n' "runs claimed and recorded per second (min/median/max)" ""
printf '%-58s %s\n' "sked, synchronous=NORMAL" "$(stats "${all[normal]}")"
printf '%-58s %s\n' "sked, synchronous=FULL" "$(stats "${all[full]}")"
if [[ -n "$baseline" ]]; then
  printf '%-58s %s\n' "sked (baseline), synchronous=NORMAL" "$(stats "${all[base_normal]}")"
  printf '%-58s %s\n' "sked (baseline), synchronous=FULL" "$(stats "${all[base_full]}")"
fi
printf '%-58s %s\n' "APScheduler, defaults" "$(stats "${all[aps]}")"
printf '%-58s %s\n' "APScheduler, WAL + synchronous=NORMAL + pooled connections" "$(stats "${all[tuned]}")"
awk -v n="$(median "${all[normal]}")" -v f="$(median "${all[full]}")" -v a="$(median "${all[aps]}")" \
  -v t="$(median "${all[tuned]}")" 'BEGIN {
    printf "ratios of medians: NORMAL/defaults %.1fx, NORMAL/tuned %.1fx, FULL/defaults %.1fx, FULL/tuned %.1fx\n",
      n / a, n / t, f / a, f / t }'
