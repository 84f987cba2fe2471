#!/usr/bin/env bash
# Runs the main example as a first-time user does (scripts/run-example.sh): with --runs it stops by
# itself and "Scheduler shut down successfully!" is the last line, after the last run's log line;
# Ctrl-C (SIGINT) and SIGTERM stop it cleanly, exit status 0, nothing left running.
# Usage: print_task_test.sh path/to/print_task
set -uo pipefail
example=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
failures=0
fail() {
  echo "FAIL: $1"
  echo "--- output:"
  cat "$2"
  failures=$((failures + 1))
}
# Waits up to 30 s for a command to succeed.
wait_for() {
  for _ in $(seq 300); do
    if eval "$1"; then return 0; fi
    sleep 0.1
  done
  return 1
}
last_line_is_done() { [[ "$(tail -n 1 "$1")" == "Scheduler shut down successfully!" ]]; }

# --runs 2: the second run stops the scheduler from inside its task.
timeout 60 "$example" --runs 2 --interval 1 --db "$dir/runs.sqlite3" >"$dir/runs.out" 2>&1
status=$?
[[ $status == 0 ]] || fail "--runs 2 exits 0 (got $status)" "$dir/runs.out"
[[ "$(grep -c '^Hello, the time is' "$dir/runs.out")" == 2 ]] || fail "--runs 2 runs twice" "$dir/runs.out"
[[ "$(grep -c "Job 'print_task' executed successfully" "$dir/runs.out")" == 2 ]] ||
  fail "both runs are logged" "$dir/runs.out"
last_line_is_done "$dir/runs.out" || fail "the shutdown message comes after the last run's log line" "$dir/runs.out"

for signal in INT TERM; do
  out="$dir/$signal.out"
  "$example" --interval 1 --db "$dir/$signal.sqlite3" >"$out" 2>&1 &
  pid=$!
  if ! wait_for "grep -q '^Hello, the time is' '$out'"; then
    fail "SIG$signal: the example runs its job" "$out"
    kill -KILL "$pid"
    continue
  fi
  kill "-$signal" "$pid"
  wait_for "! kill -0 $pid 2>/dev/null" || { fail "SIG$signal stops the example" "$out"; kill -KILL "$pid"; }
  wait "$pid"
  status=$?
  [[ $status == 0 ]] || fail "SIG$signal: exit status 0 (got $status)" "$out"
  grep -q "SIG$signal received: shutting down" "$out" || fail "SIG$signal is logged" "$out"
  last_line_is_done "$out" || fail "SIG$signal: the example says it shut down, last" "$out"
done

if [[ $failures != 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
