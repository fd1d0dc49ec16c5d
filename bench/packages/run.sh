#!/usr/bin/env bash
# Installing an app with a 50-package closure from a local mirror, against bsdtar -x plus
# mkfs.erofs of the same packages, same run. Usage: run.sh [DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" release >/dev/null
exec "$root/build/bin/packages_bench" "$@"
