#!/usr/bin/env bash
# Installs what is missing, builds sked and runs the main example (print_task). Arguments go to the
# example: scripts/run-example.sh --runs 3 --interval 2. Without --runs it runs until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/configure.sh dev
cmake --build --preset dev --target print_task
exec build/dev/examples/print_task "$@"
