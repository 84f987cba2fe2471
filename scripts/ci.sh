#!/usr/bin/env bash
# The long checks CI runs after the README's test command (scripts/test.sh). Each step can be run
# alone; each prints a header and its wall time, and any failure (a test, a sanitizer report, a fuzzer
# finding, a soak violation, a benchmark error) fails the script.
#   asan   the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan   the scheduler, executor and store tests under ThreadSanitizer (the process-pool tests fork
#          from a zygote, which TSan does not follow, so they run under ASan only)
#   fuzz   every libFuzzer target for FUZZ_SECONDS (20) each: scripts/fuzz.sh
#   soak   two schedulers, a mutator and SIGKILLs on one SQLite file for SOAK_SECONDS (60): scripts/soak.sh
#   bench  builds the benchmarks (release preset) and runs each a few iterations, asserting no times
# Usage: scripts/ci.sh [step ...]   (all of them, in this order, by default)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(asan tsan fuzz soak bench)
scripts/install-deps.sh clang libclang-rt-14-dev python3

# Any sanitizer report ends the process with a failure, so ctest sees it.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

asan() {
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  ctest --preset asan
}

tsan() {
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan --target sked_tests
  build/tsan/tests/sked_tests \
    '[scheduler]~[process_pool],[executor]~[process_pool],[store]~[process_pool],[clock]~[process_pool]'
}

fuzz() {
  scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
}

soak() {
  cmake --preset dev >/dev/null
  cmake --build --preset dev --target sked_soak
  SKED_SOAK=build/dev/tests/sked_soak scripts/soak.sh "${SOAK_SECONDS:-60}"
  # The same on PostgreSQL (scripts/install-deps.sh installs the server).
  SKED_SOAK=build/dev/tests/sked_soak scripts/soak.sh --postgres "${SOAK_SECONDS:-60}"
}

bench() {
  cmake --preset release -DSKED_BUILD_TESTS=OFF -DSKED_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build --preset release
  ctest --test-dir build/release -L bench --output-on-failure --no-tests=error
}

for step in "${steps[@]}"; do
  case "$step" in
    asan | tsan | fuzz | soak | bench) ;;
    *) echo "scripts/ci.sh: unknown step '$step' (asan, tsan, fuzz, soak, bench)" >&2; exit 2 ;;
  esac
  echo "=== ci: $step"
  start=$SECONDS
  "$step"
  echo "=== ci: $step passed in $((SECONDS - start)) s"
done
