#!/usr/bin/env bash
# dm-verity hash tree of a 1 GiB image: ours against veritysetup, same run. Usage: run.sh [DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" release >/dev/null
exec "$root/build/bin/verity_bench" "$@"
