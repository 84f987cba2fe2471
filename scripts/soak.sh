#!/usr/bin/env bash
# Soak test (issue 8): two scheduler processes share one SQLite store with SOAK_JOBS (300) interval jobs
# of 1-5 s while a mutator process adds, pauses, resumes and removes jobs a few times a second; scheduler
# B is SIGKILLed and restarted every SECONDS/5 (4 kills), scheduler A runs throughout and its VmRSS is
# sampled. At the end tests/soak/check.py checks the execution records and the tasks' own logs (no fire
# time run twice, none lost, no job vanished, RSS bounded) and prints one summary line, last.
#
# Two fault phases run while it goes on (issue 14), each for FAULT_SECONDS (SECONDS/10, at least 5, at
# most 45: longer than the schedulers' stale_after of 3 s, and at 600 s longer than the jobs' 30 s grace):
#   lock  from 30% of the run, another connection holds the store's write lock (sked_soak lock; on
#         PostgreSQL a psql session holding an EXCLUSIVE lock on sked_job);
#   full  from 60%, the SQLite file's filesystem, a 128 MiB tmpfs of its own, is filled to the last
#         byte and then emptied. Mounting it needs root; without root, and on PostgreSQL, this phase
#         is skipped and the summary says so.
# Both are written to faults.log; check.py allows late (missed) and max_instances records and retried
# mutator calls around them, and nothing else: every task run still needs its execution record, and
# a live scheduler must never be taken for dead.
#
# Usage: scripts/soak.sh [--postgres] [SECONDS]   (600 by default; CI runs 20)
#   --postgres  the store is a throwaway PostgreSQL server in the soak's directory (Unix socket only)
#               instead of an SQLite file: the same processes, kills and checks
#   SOAK_PG_BINDIR  where initdb, pg_ctl and psql are (default: the newest /usr/lib/postgresql/*/bin)
#   SOAK_JOBS  jobs added at the start (300)
#   SKED_SOAK  the sked_soak binary (default: build/dev/tests/sked_soak, else the newest other build's,
#              leaving out the sanitizer builds)
#   SOAK_DIR   where to keep the store and logs (default: a temporary directory, deleted when the soak
#              passes, kept and named when it fails)
set -euo pipefail
cd "$(dirname "$0")/.."

postgres=0
if [[ ${1:-} == --postgres ]]; then
  postgres=1
  shift
fi
seconds=${1:-600}
jobs=${SOAK_JOBS:-300}
if ! [[ $seconds =~ ^[0-9]+$ && $seconds -ge 20 ]]; then
  echo "scripts/soak.sh: SECONDS must be a whole number of at least 20, not '$seconds'" >&2
  exit 2
fi
bin=${SKED_SOAK:-}
if [[ -z $bin ]]; then
  # The dev preset's build (what scripts/ci.sh builds), else the newest other one. Sanitizer builds are
  # left out: their allocators hold hundreds of MiB by design, which the RSS check would take for a leak.
  bin=$(ls -t build/*/tests/sked_soak build/tests/sked_soak 2>/dev/null |
    grep -v -E '^build/(asan|tsan)/' | head -n 1 || true)
  [[ ! -x build/dev/tests/sked_soak ]] || bin=build/dev/tests/sked_soak
fi
if [[ -z $bin || ! -x $bin ]]; then
  echo "scripts/soak.sh: no sked_soak binary; build the target sked_soak (or set SKED_SOAK)" >&2
  exit 2
fi
dir=${SOAK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sked-soak.XXXXXX")}
mkdir -p "$dir"
db=$dir/soak.sqlite3
as_postgres=()
pg_bindir=
if ((postgres)); then
  pg_bindir=${SOAK_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
  if [[ ! -x $pg_bindir/initdb ]]; then
    echo "scripts/soak.sh: --postgres needs the PostgreSQL server binaries (set SOAK_PG_BINDIR)" >&2
    exit 2
  fi
  if [[ $(id -u) == 0 ]]; then
    chown postgres "$dir"
    as_postgres=(runuser -u postgres --)
  fi
  "${as_postgres[@]}" "$pg_bindir/initdb" -D "$dir/pgdata" -A trust -U postgres -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  "${as_postgres[@]}" "$pg_bindir/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 \
    -o "-c listen_addresses='' -k $dir -c fsync=off" start >/dev/null
  db="postgresql://postgres@$(sed 's#/#%2F#g' <<<"$dir")/postgres"
  export SOAK_PSQL=$pg_bindir/psql SOAK_PG_HOST=$dir
fi

now_us() { date +%s%6N; }
fault_seconds=$((seconds / 10))
((fault_seconds >= 5)) || fault_seconds=5
((fault_seconds <= 45)) || fault_seconds=45
disk=
full_skipped=
if ((postgres)); then
  full_skipped="the PostgreSQL server's disk is not sked's to fill"
elif [[ $(id -u) != 0 ]]; then
  full_skipped="mounting a tmpfs needs root"
else
  mkdir -p "$dir/disk"
  if mount -t tmpfs -o size=128m,mode=0700 sked-soak "$dir/disk" 2>"$dir/mount.err"; then
    disk=$dir/disk
    db=$disk/soak.sqlite3
  else
    full_skipped="mount -t tmpfs failed: $(head -n 1 "$dir/mount.err")"
  fi
fi

mutator= a= b= locker=
cleanup() {
  for pid in $mutator $a $b $locker; do kill -9 "$pid" 2>/dev/null || true; done
  if ((postgres)); then
    "${as_postgres[@]}" "$pg_bindir/pg_ctl" -D "$dir/pgdata" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [[ -n $disk ]]; then
    rm -f "$disk/filler"
    umount "$disk" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# Holds the store's write lock for fault_seconds, in the background (pid in $locker).
hold_lock() {
  if ((postgres)); then
    (
      echo "$(now_us) lock" >>"$dir/faults.log"
      "$SOAK_PSQL" -X -q -h "$SOAK_PG_HOST" -U postgres -d postgres -c \
        "BEGIN; LOCK TABLE sked.sked_job IN EXCLUSIVE MODE; SELECT pg_sleep($fault_seconds); COMMIT;" \
        >/dev/null 2>>"$dir/lock.err"
      echo "$(now_us) unlock" >>"$dir/faults.log"
    ) &
  else
    "$bin" lock "$db" "$dir/faults.log" "$fault_seconds" 2>>"$dir/lock.err" &
  fi
  locker=$!
}

start_scheduler() { # NAME -> pid in $started
  "$bin" scheduler "$db" "$dir/sched-$1.log" 2>>"$dir/sched-$1.err" &
  started=$!
}

# Stops a scheduler with SIGTERM and fails if it does not exit cleanly within 30 s.
stop_scheduler() { # PID NAME
  kill -TERM "$1"
  for _ in $(seq 300); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2>/dev/null; then
    echo "soak: scheduler $2 did not stop within 30 s of SIGTERM (files in $dir): FAILED"
    exit 1
  fi
  if ! wait "$1"; then
    echo "soak: scheduler $2 exited with an error (see $dir/sched-$2.err): FAILED"
    exit 1
  fi
}

"$bin" mutator "$db" "$dir/mutator.log" "$seconds" "$jobs" 2>>"$dir/mutator.err" &
mutator=$!
for _ in $(seq 600); do
  grep -q ' ready$' "$dir/mutator.log" 2>/dev/null && break
  kill -0 "$mutator" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q ' ready$' "$dir/mutator.log" 2>/dev/null; then
  echo "soak: the mutator did not add its jobs (see $dir/mutator.err): FAILED"
  exit 1
fi

start_scheduler a; a=$started
start_scheduler b; b=$started
begin=$SECONDS
kill_every=$((seconds / 5))
next_kill=$kill_every
restart_at=-1
next_sample=0
lock_at=$((seconds * 3 / 10))
full_at=$((seconds * 6 / 10))
full_until=-1
while kill -0 "$mutator" 2>/dev/null; do
  elapsed=$((SECONDS - begin))
  if ((lock_at >= 0 && elapsed >= lock_at)); then
    hold_lock
    lock_at=-1
  fi
  if [[ -n $disk ]] && ((full_at >= 0 && elapsed >= full_at)); then
    # dd stops at ENOSPC; whatever the store writes next fails until the filler goes.
    dd if=/dev/zero of="$disk/filler" bs=64k status=none 2>/dev/null || true
    echo "$(now_us) full" >>"$dir/faults.log"
    full_until=$((elapsed + fault_seconds))
    full_at=-1
  fi
  if ((full_until >= 0 && elapsed >= full_until)); then
    rm -f "$disk/filler"
    echo "$(now_us) space" >>"$dir/faults.log"
    full_until=-1
  fi
  if ((elapsed >= next_sample)); then
    if ! rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$a/status" 2>/dev/null) || [[ -z $rss ]]; then
      echo "soak: scheduler A died (see $dir/sched-a.err): FAILED"
      exit 1
    fi
    echo "$elapsed $rss" >>"$dir/rss.log"
    next_sample=$((elapsed + 2))
  fi
  if ((elapsed >= next_kill && elapsed < seconds - 5)); then
    echo "$(now_us) kill $b" >>"$dir/kills.log"
    kill -9 "$b"
    wait "$b" 2>/dev/null || true
    restart_at=$((elapsed + 3))
    next_kill=$((next_kill + kill_every))
  fi
  if ((restart_at >= 0 && elapsed >= restart_at)); then
    start_scheduler b; b=$started
    echo "$(now_us) restart $b" >>"$dir/kills.log"
    restart_at=-1
  fi
  sleep 0.5
done
wait "$mutator" || { echo "soak: the mutator failed (see $dir/mutator.err): FAILED"; exit 1; }
mutator=
if ((full_until >= 0)); then
  rm -f "$disk/filler"
  echo "$(now_us) space" >>"$dir/faults.log"
fi
if [[ -n $locker ]]; then
  wait "$locker" || { echo "soak: the lock holder failed (see $dir/lock.err): FAILED"; exit 1; }
  locker=
fi
if ((restart_at >= 0)); then
  start_scheduler b; b=$started
  echo "$(now_us) restart $b" >>"$dir/kills.log"
fi
# The runs due just before the end are claimed and finished before the schedulers stop.
sleep 2
stop_scheduler "$b" b; b=
stop_scheduler "$a" a; a=

if [[ -n $disk ]]; then
  echo "soak: full disk for ${fault_seconds}s: the schedulers logged" \
    "$(cat "$dir"/sched-*.err | grep -c 'disk is full') store errors saying so"
else
  echo "soak: full-disk phase skipped: $full_skipped"
fi
status=0
summary=$(SOAK_DB=$db python3 tests/soak/check.py "$seconds" "$dir") || status=$?
if ((status == 0)); then
  cleanup
  [[ -n ${SOAK_DIR:-} ]] || rm -rf "$dir"
else
  # The tmpfs goes with the cleanup: the store is kept beside the logs.
  [[ -z $disk ]] || cp "$db"* "$dir/"
  echo "soak: store and logs kept in $dir" >&2
fi
echo "$summary"
exit "$status"
