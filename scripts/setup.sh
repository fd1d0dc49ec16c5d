#!/usr/bin/env bash
# Installs what the project needs on a Debian 12 machine: the Debian packages listed in
# deps/debian-packages.txt, the guest kernel of app VMs (scripts/fetch-guest-kernel.sh) and the
# pinned npm peer the interop tests check against (tests/interop/tufjs). Idempotent; needs root or sudo when a Debian package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' deps/debian-packages.txt)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} Debian packages present"
else
  as_root=()
  if [[ $(id -u) -ne 0 ]]; then as_root=(sudo); fi
  echo "setup: installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The kernel of app VMs: Debian's cloud kernel, downloaded and unpacked, never installed here.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  as_root=()
  if [[ $(id -u) -ne 0 ]]; then as_root=(sudo); fi
  "${as_root[@]}" apt-get update -qq
fi
scripts/fetch-guest-kernel.sh

# tuf-js needs Node.js >= 20.17. Debian 12's own nodejs is 18, so the machine's Node.js (from
# nodesource on our build machines) is used; without it the interop tests cannot run.
peer=tests/interop/tufjs
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: Node.js >= 20.17 with npm is needed for the tuf-js interop tests (not found)" >&2
  exit 1
fi
node_version=$(node -p 'process.versions.node')
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=9)||(a===20&&b>=17)||a===21?0:1)'; then
  echo "setup: Node.js $node_version is too old for tuf-js 5 (needs ^20.17 or >= 22.9)" >&2
  exit 1
fi
if [[ ! -f $peer/node_modules/.package-lock.json || $peer/package-lock.json -nt $peer/node_modules/.package-lock.json ]]; then
  echo "setup: installing the pinned tuf-js peer (npm ci in $peer)"
  (cd "$peer" && npm ci --no-audit --no-fund --silent)
fi
echo "setup: tuf-js peer ready (Node.js $node_version)"
