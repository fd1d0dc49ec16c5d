#!/usr/bin/env bash
# Runs the `bulkhead repo` publishing benchmark (release build): prints time and peak RSS.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/build.sh" release >/dev/null
exec "$root/build/bin/repo_bench"
