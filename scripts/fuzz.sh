#!/usr/bin/env bash
# Builds the cron libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time on its
# corpus in tests/fuzz/corpus/ (hand-written seeds plus a minimized set of inputs found earlier). New
# inputs go to build/fuzz/corpus_<target>; to keep them, minimize into the checked-in corpus:
#   (cd build/fuzz && ./cron_crontab_fuzz -merge=1 ../../tests/fuzz/corpus/crontab corpus_crontab)
# A crash, a hang (an input slower than 5 s) or a sanitizer report fails the script and leaves the
# input in build/fuzz/.
# Usage: scripts/fuzz.sh [seconds per target]   (30 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
out=build/fuzz
mkdir -p "$out"

if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "needs clang with libFuzzer: apt-get install -y clang libclang-rt-14-dev" >&2
  exit 1
fi

# The cron code and what it uses, compiled straight into each target so all of it is instrumented.
sources=(src/triggers/cron.cpp src/detail/cron_parser.cpp src/detail/cron_schedule.cpp src/time.cpp src/errors.cpp)
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Iinclude -Isrc)
for target in cron_crontab_fuzz cron_fields_fuzz; do
  clang++ "${flags[@]}" "tests/fuzz/$target.cpp" "${sources[@]}" -lfmt -ldate-tz -o "$out/$target"
done

status=0
for target in crontab fields; do
  corpus="tests/fuzz/corpus/$target"
  mkdir -p "$out/corpus_$target"
  echo "fuzzing the $target parser for ${seconds}s (seeds: $corpus)"
  if ! (cd "$out" && set -o pipefail && "./cron_${target}_fuzz" -max_total_time="$seconds" -timeout=5 \
          -max_len=256 -print_final_stats=1 "corpus_$target" "../../$corpus" 2>&1 | tail -6); then
    status=1
  fi
done
exit "$status"
