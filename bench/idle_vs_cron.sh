#!/usr/bin/env bash
# What an idle daemon costs: `sked run` with 50 crontab lines, none due for over an hour, against
# Debian's `cron -f` with the same 50 lines, each measured alone over the same window.
# Prints, per daemon (the process and its children): CPU time (schedstat, ns, and utime+stime ticks),
# wake-ups (voluntary + involuntary context switches of every thread), bytes written (write(2) bytes
# and bytes sent to storage, from /proc/PID/io) and how the store's WAL file changed; then the ratios.
#
# Usage: bench/idle_vs_cron.sh [--seconds N] [--runs N] [--warmup N] [--sked PATH] [--baseline PATH]
#   --seconds   measuring window per run (default 60; use 5 for a smoke run)
#   --warmup    seconds between a daemon's start and the window (default 2: start-up, opening the
#               store and the first claim). Past sked's first heartbeat (--warmup 65 with the 60 s
#               default) the window is steady state: the first beat on the watch's thread also
#               creates that thread's malloc arena, a one-off cost measured with --warmup 2
#   --runs      runs of each daemon, alternating sked and cron (default 1); min/median/max when > 1
#   --sked      the sked binary (default: build/release/src/cli/sked, built when missing)
#   --baseline  a second sked binary (an earlier build) measured in the same alternation: before/after
# Needs root (cron -f reads /etc/cron.d; /proc/PID/io of cron) and Debian's `cron` package, installed
# here when missing. cron runs in the foreground for the measurement only, with a throwaway file in
# /etc/cron.d that is removed on exit; it refuses to start when another cron daemon runs.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
runs=1
sked=build/release/src/cli/sked
baseline=""
warmup=2  # start-up (opening the store, the first claim) is not idle time
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --sked) sked="$2"; shift 2 ;;
    --baseline) baseline="$2"; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--runs N] [--warmup N] [--sked PATH] [--baseline PATH]" >&2; exit 2 ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then echo "run as root (cron -f, /etc/cron.d, /proc/PID/io)" >&2; exit 1; fi
if [[ ! -x /usr/sbin/cron ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y cron >/dev/null
fi
if [[ ! -x "$sked" ]]; then
  scripts/configure.sh release -DSKED_BUILD_TESTS=OFF -DSKED_BUILD_EXAMPLES=OFF -DSKED_BUILD_BENCHMARKS=OFF
  cmake --build build/release -j2 --target sked_cli >/dev/null
fi
if pgrep -x cron >/dev/null; then
  echo "a cron daemon is already running; stop it for the measurement" >&2
  exit 1
fi

work=$(mktemp -d)
cron_file=/etc/cron.d/sked-idle-bench
daemon=""
cleanup() {
  [[ -n "$daemon" ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  rm -f "$cron_file"
  rm -rf "$work"
}
trap cleanup EXIT

# 50 lines firing daily at a time two to three hours from now: nothing is due while measuring.
hour=$(( ($(date +%-H) + 2) % 24 ))
for i in $(seq 0 49); do
  echo "id=idle$i $((i % 60)) $hour * * * true"
done >"$work/crontab"
{
  echo "# sked bench/idle_vs_cron.sh: removed when the benchmark ends"
  sed -E 's/^id=[^ ]+ ([^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+) (.*)$/\1 root \2/' "$work/crontab"
} >"$cron_file"
chmod 0644 "$cron_file"

# The pid and its descendants.
tree() {
  local pids=("$1") i=0
  while [[ $i -lt ${#pids[@]} ]]; do
    for c in $(cat /proc/"${pids[$i]}"/task/*/children 2>/dev/null); do pids+=("$c"); done
    i=$((i + 1))
  done
  echo "${pids[@]}"
}

# cpu_ns ticks switches wchar write_bytes, summed over the tree's threads (processes for /proc/PID/io).
sample() {
  local cpu=0 ticks=0 sw=0 wchar=0 wbytes=0
  for p in $(tree "$1"); do
    for t in /proc/"$p"/task/*; do
      read -r run _ <"$t/schedstat" || continue
      cpu=$((cpu + run))
      local st; st=$(cut -d')' -f2- "$t/stat")
      set -- $st
      ticks=$((ticks + ${12} + ${13}))  # utime, stime: fields 14 and 15 of stat
      sw=$((sw + $(awk '/ctxt_switches/ {s += $2} END {print s}' "$t/status")))
    done
    wchar=$((wchar + $(awk '/^wchar/ {print $2}' /proc/"$p"/io)))
    wbytes=$((wbytes + $(awk '/^write_bytes/ {print $2}' /proc/"$p"/io)))
  done
  echo "$cpu $ticks $sw $wchar $wbytes"
}

wal_state() {
  if [[ -e "$1" ]]; then stat -c '%s bytes, modified %y' "$1"; else echo "absent"; fi
}

# Runs one daemon for the window; prints: cpu_ns ticks switches wchar write_bytes.
measure() {
  local which="$1"
  if [[ "$which" == sked || "$which" == baseline ]]; then
    local binary="$sked"
    [[ "$which" == baseline ]] && binary="$baseline"
    rm -f "$work"/sked.sqlite3*
    "$binary" run --crontab "$work/crontab" --db "$work/sked.sqlite3" --log-level warning 2>"$work/sked.log" &
  else
    /usr/sbin/cron -f 2>"$work/cron.log" &
  fi
  daemon=$!
  sleep "$warmup"
  local wal_before; wal_before=$(wal_state "$work/sked.sqlite3-wal")
  local a b
  a=($(sample "$daemon"))
  sleep "$seconds"
  b=($(sample "$daemon"))
  local wal_after; wal_after=$(wal_state "$work/sked.sqlite3-wal")
  kill "$daemon"
  wait "$daemon" 2>/dev/null || true
  daemon=""
  if [[ "$which" != cron ]]; then
    echo "  $which WAL before: $wal_before; after: $wal_after" >&2
  fi
  echo "$((b[0] - a[0])) $((b[1] - a[1])) $((b[2] - a[2])) $((b[3] - a[3])) $((b[4] - a[4]))"
}

echo "$(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg); $("$sked" --version 2>/dev/null || echo sked) vs cron $(dpkg-query -W -f '${Version}' cron); ${seconds} s per run after ${warmup} s, ${runs} run(s) each"
: >"$work/sked.txt"
: >"$work/cron.txt"
: >"$work/baseline.txt"
for r in $(seq 1 "$runs"); do
  measure sked >>"$work/sked.txt"
  [[ -n "$baseline" ]] && measure baseline >>"$work/baseline.txt"
  measure cron >>"$work/cron.txt"
done

python3 - "$seconds" "$work/sked.txt" "$work/cron.txt" "$work/baseline.txt" <<'EOF'
import statistics, sys
seconds = float(sys.argv[1])
def load(path):
    return [list(map(int, line.split())) for line in open(path) if line.strip()]
sked, cron, base = load(sys.argv[2]), load(sys.argv[3]), load(sys.argv[4])
names = ["CPU time (ms)", "CPU ticks (10 ms)", "wake-ups (context switches)", "written, write(2) (bytes)",
         "written to storage (bytes)"]
scale = [1e-6, 1, 1, 1, 1]
def fmt(values):
    values = sorted(values)
    one = (lambda v: f"{v:,.0f}") if all(isinstance(v, int) for v in values) else (lambda v: f"{v:,.2f}")
    if len(values) == 1:
        return one(values[0])
    return "/".join(one(v) for v in (values[0], statistics.median(values), values[-1]))
print(f"{'per ' + format(seconds, 'g') + ' s idle' + (' (min/median/max)' if len(sked) > 1 else ''):<34}"
      f"{'sked':>22}" + (f"{'sked (baseline)':>22}" if base else "") + f"{'cron -f':>22}{'sked/cron':>12}")
for i, name in enumerate(names):
    s = [row[i] * scale[i] for row in sked]
    c = [row[i] * scale[i] for row in cron]
    b = [row[i] * scale[i] for row in base]
    if scale[i] == 1:
        s, c, b = [int(v) for v in s], [int(v) for v in c], [int(v) for v in b]
    ms, mc = statistics.median(s), statistics.median(c)
    ratio = f"{ms / mc:,.1f}x" if mc else ("-" if ms == 0 else "inf")
    print(f"{name:<34}{fmt(s):>22}" + (f"{fmt(b):>22}" if base else "") + f"{fmt(c):>22}{ratio:>12}")
per_min = 60.0 / seconds
cpu_s, cpu_c = statistics.median(r[0] for r in sked), statistics.median(r[0] for r in cron)
cpu_ratio = f"{cpu_s / cpu_c:.1f}x cron's" if cpu_c else "cron used none (window too short)"
print(f"sked per minute: {statistics.median(r[2] for r in sked) * per_min:.1f} wake-ups (target <= 6), "
      f"{statistics.median(r[4] for r in sked) * per_min:,.0f} bytes to storage; CPU {cpu_ratio} (target <= 3x)")
EOF
