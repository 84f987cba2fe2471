#!/usr/bin/env bash
# clang-format over every C++ file the repository tracks (.clang-format at the root).
# Usage: scripts/format.sh           rewrites the files in place
#        scripts/format.sh --check   changes nothing; lists the files that drift and fails if any does
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
[[ -z "$mode" || "$mode" == "--check" ]] || { echo "usage: scripts/format.sh [--check]" >&2; exit 2; }
format=$(command -v clang-format-14 || command -v clang-format || true)
[[ -n "$format" ]] || { echo "scripts/format.sh: clang-format not found (Debian: apt-get install clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' | grep -v '/node_modules/')
if [[ "$mode" == "--check" ]]; then
  drift=()
  for f in "${files[@]}"; do
    "$format" --style=file "$f" | cmp -s - "$f" || drift+=("$f")
  done
  if [[ ${#drift[@]} -gt 0 ]]; then
    printf 'not clang-formatted (run scripts/format.sh): %s\n' "${drift[@]}" >&2
    exit 1
  fi
  echo "scripts/format.sh: ${#files[@]} files formatted"
else
  "$format" --style=file -i "${files[@]}"
fi
