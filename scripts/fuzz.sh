#!/usr/bin/env bash
# Builds sked's libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time on its
# corpus in tests/fuzz/corpus/<name>/ (hand-written seeds plus minimized inputs found earlier). New
# inputs go to build/fuzz/corpus_<name>; to keep them, minimize into the checked-in corpus:
#   (cd build/fuzz && ./crontab_file_fuzz -merge=1 ../../tests/fuzz/corpus/crontab_file corpus_crontab_file)
# A crash, a hang (an input slower than 5 s) or a sanitizer report fails the script and leaves the
# input in build/fuzz/; the input then becomes a regression test in the normal suite.
# Usage: scripts/fuzz.sh [seconds per target] [target ...]   (30 s and every target by default)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
out=build/fuzz
mkdir -p "$out/obj"

# name: the file tests/fuzz/<name>_fuzz.cpp, the corpus tests/fuzz/corpus/<name>/, and what it reads.
declare -A targets=(
  [crontab]="a crontab line (CronTrigger::from_crontab)"
  [fields]="APScheduler-style cron fields"
  [job_state]="a stored job_state JSON document"
  [interval]="interval specs: trigger JSON documents"
  [crontab_file]="a crontab file for sked run"
)
selected=("$@")
[[ ${#selected[@]} -gt 0 ]] || selected=(crontab fields job_state interval crontab_file)

if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "needs clang with libFuzzer: apt-get install -y clang libclang-rt-14-dev" >&2
  exit 1
fi

# The library (and the tool's crontab reader) compiled once, instrumented, into one archive the
# targets link against; recompiled only when a source is newer than its object.
flags=(-std=c++20 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -Iinclude -Isrc)
sources=(src/*.cpp src/triggers/*.cpp src/detail/*.cpp src/stores/*.cpp src/executors/*.cpp src/tasks/*.cpp
         src/cli/crontab_file.cpp)
printf '%s\n' "${sources[@]}" | xargs -P 2 -I{} sh -c '
  obj="'"$out"'/obj/$(echo "{}" | tr / _).o"
  [ "$obj" -nt "{}" ] || clang++ '"${flags[*]}"' -fsanitize=fuzzer-no-link -c "{}" -o "$obj"'
rm -f "$out/libsked_fuzz.a"
ar qc "$out/libsked_fuzz.a" "$out"/obj/*.o

for name in "${selected[@]}"; do
  [[ -n "${targets[$name]:-}" ]] || { echo "no fuzz target '$name' (have: ${!targets[*]})" >&2; exit 2; }
  target="${name}_fuzz"
  [[ -f "tests/fuzz/$target.cpp" ]] || target="cron_${name}_fuzz"  # the two cron targets' file names
  clang++ "${flags[@]}" -fsanitize=fuzzer "tests/fuzz/$target.cpp" "$out/libsked_fuzz.a" \
    -lfmt -ldate-tz -lSQLiteCpp -lsqlite3 -lpthread -o "$out/${name}_fuzz"
done

status=0
for name in "${selected[@]}"; do
  corpus="tests/fuzz/corpus/$name"
  mkdir -p "$out/corpus_$name"
  echo "fuzzing ${targets[$name]} for ${seconds}s (seeds: $corpus)"
  log="$out/${name}_fuzz.log"
  if (cd "$out" && "./${name}_fuzz" -max_total_time="$seconds" -timeout=5 -max_len=4096 \
        -print_final_stats=1 "corpus_$name" "../../$corpus" >"${name}_fuzz.log" 2>&1); then
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$log"
  else
    # The finding: the report and the input, without the fuzzer's progress lines.
    grep -v -E '^#[0-9]+|^INFO:|^stat::' "$log" | tail -40
    echo "FAIL: ${name}_fuzz found a problem; the input is in $out/ (full log: $log)"
    status=1
  fi
done
exit "$status"
