#!/usr/bin/env bash
# Installs what is missing, builds sked (warnings are errors) and runs every test. ctest's summary ends
# the output. Usage: scripts/test.sh [preset]   (dev by default; asan and tsan for the sanitizer builds)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-dev}"
scripts/install-deps.sh
scripts/configure.sh "$preset"
cmake --build --preset "$preset"
ctest --preset "$preset"
