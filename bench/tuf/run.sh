#!/usr/bin/env bash
# Runs the TUF client benchmark against tuf-js (the pinned peer in tests/interop/tufjs, which
# scripts/setup.sh installs), builds, and prints times, peak memory and ratios.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" release >/dev/null
exec "$root/build/bin/tuf_bench" "$root/build/bin/bulkhead-tuf-client" "$(command -v node)" \
  "$root/tests/interop/tufjs/tufjs_client.mjs"
