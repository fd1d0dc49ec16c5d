#!/usr/bin/env bash
# App VM cold start through bulkheadd against bare QEMU, and idle VMM memory (as root).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" release >/dev/null
exec "$root/build/bin/appvm_bench" "$root" "$root/build/bin"
