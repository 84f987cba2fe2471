#!/usr/bin/env bash
# Configures a preset's build directory: scripts/configure.sh PRESET [cmake arguments]. The presets
# build with Ninja; a build directory that an earlier checkout configured with Unix Makefiles is
# cleared of its cache first, because CMake refuses to change a build directory's generator.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="$1"
shift
dir="build/$preset"
if ! command -v ninja >/dev/null 2>&1; then
  echo "sked: ninja is missing (Debian package ninja-build); scripts/install-deps.sh installs it" >&2
  exit 1
fi
if [[ -f "$dir/CMakeCache.txt" ]] && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$dir/CMakeCache.txt"; then
  echo "sked: $dir was configured with another generator; configuring it again for Ninja" >&2
  rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
fi
cmake --preset "$preset" "$@" >/dev/null
