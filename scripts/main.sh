#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is needed, build, and run
# `bulkhead hcl` on this machine. Exits with bulkhead's own code (0 qualifies, 1 does not).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release
echo
exec build/bin/bulkhead hcl "$@"
