#!/usr/bin/env bash
# Configures and builds one flavour of the project.
#   scripts/build.sh release   -> build/        (warnings are errors)
#   scripts/build.sh asan      -> build-asan/   (AddressSanitizer + UndefinedBehaviorSanitizer)
#   scripts/build.sh fuzz      -> build-fuzz/   (clang, libFuzzer targets only)
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
case "$flavour" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DBULKHEAD_SANITIZE=ON) ;;
  fuzz) dir=build-fuzz; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBULKHEAD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: scripts/build.sh release|asan|fuzz" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
