#!/usr/bin/env bash
# Runs a shell example from README.md exactly as written (only the build directory and the
# port are substituted), so the README cannot drift from what the tools do.
# usage: readme_example_test.sh README BIN_DIR MARKER EXPECTED_OUTPUT
set -euo pipefail
readme=$1 bin=$2 marker=$3 expected=$4
repo=$(cd "$(dirname "$readme")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
awk -v marker="<!-- readme-example:$marker -->" '
  $0 == marker { found = 1; next }
  found && /^```sh$/ { inside = 1; next }
  inside && /^```$/ { exit }
  inside { print }
' "$readme" | sed -e "s|^B=build/bin$|B=$bin|" -e "s|8080|$port|g" -e "s| image/bulkhead.toml | $repo/image/bulkhead.toml |" \
  >"$work/example.sh"
if [[ ! -s $work/example.sh ]]; then
  echo "no example marked $marker in $readme" >&2
  exit 1
fi
cd "$work"
output=$(bash -euo pipefail example.sh 2>&1) || { echo "$output"; echo "README example '$marker' failed" >&2; exit 1; }
echo "$output"
[[ $output == *"$expected"* ]] || { echo "README example '$marker' did not print '$expected'" >&2; exit 1; }
