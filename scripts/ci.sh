#!/usr/bin/env bash
# The long checks CI runs after the README's test command (scripts/test.sh). Each step can be run
# alone; each prints a header and its wall time, and any failure (a test, a sanitizer report, a fuzzer
# finding, a soak violation, a benchmark error) fails the script.
#   format every C++ file as .clang-format wants it (scripts/format.sh --check; clang-format-14)
#   asan   the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan   the scheduler, executor and store tests under ThreadSanitizer (the process-pool tests fork
#          from a zygote, which TSan does not follow, so they run under ASan only)
#   fuzz   every libFuzzer target for FUZZ_SECONDS (8) each: scripts/fuzz.sh
#   soak   two schedulers, a mutator and SIGKILLs on one SQLite file for SOAK_SECONDS (20 in CI): scripts/soak.sh
#   release  the whole suite again in the optimized build users ship (release preset: -O3, warnings
#          as errors) and the benchmarks' smoke runs
#   deb    builds the Debian packages (libsked-dev, sked) with CPack, installs them, runs the tool and
#          builds tests/consumer against them with find_package and pkg-config, then purges them
#   embedding  tests/consumer built against sked installed, as a subproject (add_subdirectory) and as
#          a shared library (BUILD_SHARED_LIBS=ON): the last two build sked anew (~3 min on 2 cores)
#   bench  only the benchmarks' smoke runs (release preset; `release` runs them too), asserting no times
# Usage: scripts/ci.sh [step ...]   (all but bench, in this order, by default)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(format asan tsan soak release deb embedding)
# Under 30 minutes on 2 cores: the whole suite under ASan, the concurrent parts under TSan, the unit
# suite and benchmark smoke runs in the optimized build, packages built from that same build, sked
# built again as a subdirectory and as a shared library. New fuzzing runs as `fuzz` (every preset's
# ctest replays each target's whole corpus: fuzz_replay_*).
scripts/install-deps.sh clang libclang-rt-14-dev clang-format-14 python3

# Any sanitizer report ends the process with a failure, so ctest sees it.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

format() {
  scripts/format.sh --check
}

asan() {
  scripts/configure.sh asan
  cmake --build --preset asan
  # The dashboard's browser runs (chromium driving `sked serve`) ran in the dev build; under ASan they
  # add minutes of chromium start-up and test no more of sked than the http tests do. The preset
  # builds no doc blocks and no header check either (SKED_TEST_DOCS=OFF): the dev build did.
  # The consumer tests (a project built against installed sked) ran in the dev build as well.
  ctest --preset asan -LE 'browser|consumer'
}

tsan() {
  scripts/configure.sh tsan
  cmake --build --preset tsan --target sked_tests
  build/tsan/tests/sked_tests \
    '[scheduler]~[process_pool],[executor]~[process_pool],[store]~[process_pool],[clock]~[process_pool]'
}

fuzz() {
  scripts/fuzz.sh "${FUZZ_SECONDS:-8}"
}

soak() {
  scripts/configure.sh dev
  cmake --build --preset dev --target sked_soak
  SKED_SOAK=build/dev/tests/sked_soak scripts/soak.sh "${SOAK_SECONDS:-20}"
  # The same on PostgreSQL (scripts/install-deps.sh installs the server).
  SKED_SOAK=build/dev/tests/sked_soak scripts/soak.sh --postgres "${SOAK_SECONDS:-20}"
}

# The build users ship: the unit suite (the optimizer must not change what it asserts) and the
# benchmarks' smoke runs. Installed under /usr, so that `deb` packages this same build.
release_configure() {
  scripts/configure.sh release -DSKED_TEST_EMBEDDING=OFF -DCMAKE_INSTALL_PREFIX=/usr -DSKED_INSTALL_SYSTEMD=ON
}
release() {
  release_configure
  # Only what the step uses (the suite, the tool and its man page for `deb`, the benchmarks): the doc
  # blocks, examples and browser test were built and run by the dev and asan steps.
  cmake --build --preset release --target sked_tests sked_sqlite_worker sked_cli sked_man sked_benchmarks
  build/release/tests/sked_tests
  ctest --preset release -L bench
}

# sked installed (find_package, pkg-config), as a subproject and as a shared library, each built
# into tests/consumer: only the libraries are needed from this build; the last two build sked anew.
embedding() {
  scripts/configure.sh release -DSKED_TEST_EMBEDDING=ON
  cmake --build --preset release --target sked sked_http
  ctest --preset release -L consumer
}

bench() {
  scripts/configure.sh release
  cmake --build --preset release
  ctest --preset release -L bench
}

# Installs and removes system packages, so it runs apt-get as root (through sudo when not root) and
# always purges what it installed, even when a check fails.
deb() {
  local sudo=() out=build/release
  [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
  release_configure
  cmake --build --preset release --target sked sked_cli sked_man
  rm -rf "$out/packages"
  (cd "$out" && cpack -G DEB >cpack.log 2>&1) || { cat "$out/cpack.log"; return 1; }
  local debs=("$out"/packages/libsked-dev_*.deb "$out"/packages/sked_*.deb)
  for d in "${debs[@]}"; do
    dpkg-deb --field "$d" Package Version Depends
  done
  if dpkg-query -W -f='${Status}' sked libsked-dev 2>/dev/null | grep -q 'install ok installed'; then
    echo "scripts/ci.sh deb: sked or libsked-dev is installed already; not touching it" \
         "(apt-get purge sked libsked-dev first)" >&2
    return 1
  fi
  # man-db's trigger would index every manual page on the machine (about two minutes on a fresh
  # one): the check below reads sked.1.gz itself. Debian's own switch for it is this file.
  local mandb_flag=/var/lib/man-db/auto-update
  mandb_off=()  # global: the EXIT trap reads it
  if [[ -e "$mandb_flag" ]]; then
    "${sudo[@]}" mv "$mandb_flag" "$mandb_flag.sked-ci"
    mandb_off=(mv "$mandb_flag.sked-ci" "$mandb_flag")
  fi
  deb_purge() {
    "${sudo[@]}" apt-get purge -y -q sked libsked-dev >/dev/null 2>&1 || true
    [[ ${#mandb_off[@]} -eq 0 ]] || "${sudo[@]}" "${mandb_off[@]}"
  }
  trap deb_purge EXIT
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${debs[@]/#/./}" >"$out/apt.log" 2>&1 || { cat "$out/apt.log"; return 1; }

  # The tool, its man page and its service, as installed.
  local got expected=$'2026-01-01T09:00:00+00:00\n2026-01-02T09:00:00+00:00'
  got=$(/usr/bin/sked next --tz UTC --from 2026-01-01T00:00:00 -n 2 '0 9 * * *')
  [[ "$got" == "$expected" ]] || { printf 'installed sked next printed:\n%s\n' "$got" >&2; return 1; }
  /usr/bin/sked next -n 2 '0 9 * * *'
  for f in /usr/share/man/man1/sked.1.gz /usr/lib/systemd/system/sked.service /etc/sked/crontab \
           /usr/include/sked/sked.hpp /usr/include/sked/http/server.hpp; do
    [[ -f "$f" ]] || { echo "scripts/ci.sh deb: the packages did not install $f" >&2; return 1; }
  done
  if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify --man=no /usr/lib/systemd/system/sked.service
  fi

  # A project built against the installed library: CMake's find_package, then pkg-config.
  rm -rf "$out/consumer"
  cmake -S tests/consumer -B "$out/consumer/cmake" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$out/consumer/cmake" >/dev/null
  "$out/consumer/cmake/consumer"
  "$out/consumer/cmake/consumer_http"
  # shellcheck disable=SC2046  # pkg-config's output is meant to be split into words
  c++ -std=c++20 tests/consumer/main.cpp $(pkg-config --cflags --libs sked) -o "$out/consumer/pkg-config"
  "$out/consumer/pkg-config"
  deb_purge
  trap - EXIT
}

# Every name is checked before the first step starts, so a typo does not surface after a long build.
for step in "${steps[@]}"; do
  case "$step" in
    format | asan | tsan | fuzz | soak | release | deb | bench | embedding) ;;
    *) echo "scripts/ci.sh: unknown step '$step' (format, asan, tsan, fuzz, soak, release, deb, bench, embedding)" >&2; exit 2 ;;
  esac
done
for step in "${steps[@]}"; do
  echo "=== ci: $step"
  start=$SECONDS
  "$step"
  echo "=== ci: $step passed in $((SECONDS - start)) s"
done
