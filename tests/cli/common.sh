# Shared by the scripts that drive the real `sked` binary: a scratch directory, `check`, and
# `wait_for` (polls a condition every 20 ms up to a deadline; never a bare sleep).
set -uo pipefail
sked="$1"
failures=0
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

# check NAME EXPECTED_STATUS EXPECTED_STDOUT STDERR_PATTERN -- ARGS...
# EXPECTED_STDOUT "*" accepts any output; STDERR_PATTERN "" requires an empty stderr.
check() {
  local name="$1" want_status="$2" want_out="$3" err_pattern="$4"
  shift 5
  local status
  "$sked" "$@" >"$dir/out" 2>"$dir/err"
  status=$?
  out="$(cat "$dir/out")"
  err="$(cat "$dir/err")"
  if [[ "$status" != "$want_status" ]]; then
    echo "FAIL $name: exit status $status, expected $want_status (stdout: $out) (stderr: $err)"
    failures=$((failures + 1))
  elif [[ "$want_out" != "*" && "$out" != "$want_out" ]]; then
    echo "FAIL $name: stdout was"; echo "$out"; echo "expected"; echo "$want_out"
    failures=$((failures + 1))
  elif [[ -n "$err_pattern" && "$err" != *"$err_pattern"* ]]; then
    echo "FAIL $name: stderr '$err' does not contain '$err_pattern'"
    failures=$((failures + 1))
  elif [[ -z "$err_pattern" && -n "$err" ]]; then
    echo "FAIL $name: unexpected stderr '$err'"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

# expect NAME CONDITION...: evaluates a shell condition.
expect() {
  local name="$1"
  shift
  if eval "$@"; then
    echo "ok   $name"
  else
    echo "FAIL $name: ($*) is false"
    failures=$((failures + 1))
  fi
}

# wait_for SECONDS CONDITION...: polls every 20 ms until the condition holds; fails after SECONDS.
wait_for() {
  local limit="$1"
  shift
  local deadline=$((SECONDS + limit))
  while ! eval "$@"; do
    if ((SECONDS > deadline)); then
      echo "FAIL timed out after ${limit}s waiting for: $*"
      failures=$((failures + 1))
      return 1
    fi
    sleep 0.02
  done
}

# wait_exit PID SECONDS: waits for a child to exit (bounded); its status is in $exit_status.
wait_exit() {
  local pid="$1" limit="$2"
  local deadline=$((SECONDS + limit))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS > deadline)); then
      echo "FAIL process $pid did not exit within ${limit}s"
      failures=$((failures + 1))
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    sleep 0.02
  done
  wait "$pid"
  exit_status=$?
}

finish() {
  if ((failures > 0)); then
    echo "$failures failure(s)"
    exit 1
  fi
  echo "all passed"
}
