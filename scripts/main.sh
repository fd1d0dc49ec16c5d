#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build, and run
# `bulkhead hcl` on this machine. The job succeeds when the check ran, whatever its verdict
# (`bulkhead hcl` itself exits 0 when the machine qualifies and 1 when it does not; scripts
# that need the verdict call it directly).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release
echo
status=0
build/bin/bulkhead hcl "$@" || status=$?
case "$status" in
  0) echo "main: this machine qualifies for Bulkhead (bulkhead hcl exit 0)" ;;
  1) echo "main: the check ran; this machine does not qualify, see above (bulkhead hcl exit 1)" ;;
  *) echo "main: bulkhead hcl failed (exit $status)" >&2; exit "$status" ;;
esac
