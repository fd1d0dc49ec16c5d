#!/usr/bin/env bash
# Everything CI checks, in one command on a fresh Debian 12 machine: installs what is needed,
# checks formatting, builds with warnings as errors, runs clang-tidy, runs the fuzz targets for
# a bounded time, and runs every test twice: under ASan+UBSan, then in the release build (its
# ctest summary is the last thing printed).
set -euo pipefail
cd "$(dirname "$0")/.."

# 29 targets: 15 s each keeps the whole run well under an hour on 2 cores (more: BULKHEAD_FUZZ_SECONDS).
FUZZ_SECONDS=${BULKHEAD_FUZZ_SECONDS:-15}
jobs=$(nproc)
step() { printf '\n==== %s\n' "$*"; }

step "setup"
scripts/setup.sh

mapfile -t sources < <(git ls-files -- 'src/*.cpp' 'src/*.hpp' 'cmd/*.cpp' 'cmd/*.hpp' 'tests/*.cpp' 'tests/*.hpp' \
  'fuzz/*.cpp' 'fuzz/*.hpp' 'bench/*.cpp' 'bench/*.hpp')

step "clang-format (check only)"
clang-format --dry-run --Werror "${sources[@]}"
echo "formatting ok: ${#sources[@]} files"

step "dependency direction between components"
scripts/check-layers.sh

step "build: release, warnings are errors"
scripts/build.sh release

step "build: ASan + UBSan"
scripts/build.sh asan

step "clang-tidy"
mapfile -t tidy_sources < <(printf '%s\n' "${sources[@]}" | grep -E '^(src|cmd)/.*\.cpp$')
tidy_log=$(mktemp)
# compile_commands.json comes from the g++ build; clang 14 spells C++23 as c++2b.
if ! printf '%s\n' "${tidy_sources[@]}" | xargs -P "$jobs" -n 4 clang-tidy -p build --quiet --extra-arg=-std=c++2b \
  >"$tidy_log" 2>&1; then
  grep -v -E '^[0-9]+ warnings? generated\.$' "$tidy_log"
  echo "clang-tidy found problems"
  exit 1
fi
rm -f "$tidy_log"
echo "clang-tidy ok: ${#tidy_sources[@]} files"

step "fuzz: ${FUZZ_SECONDS}s per target"
scripts/build.sh fuzz
for target in build-fuzz/bin/*_fuzz; do
  name=$(basename "$target")
  corpus=$(mktemp -d)
  log=$(mktemp)
  seeds="tests/fixtures/fuzz/${name%_fuzz}"
  status=0
  "$target" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$corpus" "$seeds" >"$log" 2>&1 || status=$?
  if [[ $status -ne 0 ]]; then
    tail -n 60 "$log"
    echo "fuzz target $name failed (exit $status)"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rm -rf "$corpus" "$log"
  echo "fuzz target $name: ${runs:-?} inputs in ${FUZZ_SECONDS}s, no failure"
done

step "tests under ASan + UBSan"
(cd build-asan && ctest -j "$jobs" --output-on-failure)

step "tests (release build)"
(cd build && ctest -j "$jobs" --output-on-failure)
