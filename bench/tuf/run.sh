#!/usr/bin/env bash
# Runs the TUF client benchmark against tuf-js: installs the pinned tuf-js (npm, no network
# beyond the registry), builds, and prints times, peak memory and ratios.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
command -v node >/dev/null || { echo "bench: needs Node.js >= 20.17 (node) for tuf-js" >&2; exit 1; }
npm ci --no-audit --no-fund --silent
"$root/scripts/build.sh" release >/dev/null
exec "$root/build/bin/tuf_bench" "$root/build/bin/bulkhead-tuf-client" "$(command -v node)" "$PWD/tufjs_client.mjs"
