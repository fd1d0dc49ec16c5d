#!/usr/bin/env bash
# Fetches the kernel of app VMs and of the system core image: Debian's cloud kernel (the one
# linux-image-cloud-amd64 points to), downloaded with apt and unpacked, never installed on this
# machine. Puts vmlinuz, the modules listed in deps/guest-kernel-modules.txt and
# deps/core-initrd-modules.txt and a manifest (package, version, SHA-256) into
# build-guest/kernel/RELEASE/, and points build-guest/kernel/current at it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=build-guest/kernel
package=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [[ -z $package ]]; then
  echo "guest kernel: apt does not know linux-image-cloud-amd64 (run apt-get update)" >&2
  exit 1
fi
release=${package#linux-image-}
# The module list is part of what was fetched: a changed list fetches again.
module_lists=(deps/guest-kernel-modules.txt deps/core-initrd-modules.txt)
modules_sha=$(cat "${module_lists[@]}" | sha256sum | cut -d' ' -f1)
if [[ -f $dest/$release/manifest ]] && grep -qx "modules $modules_sha" "$dest/$release/manifest"; then
  ln -sfn "$release" "$dest/current"
  echo "guest kernel: $release present"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "$package" 2>/dev/null)
deb=$(find "$work" -maxdepth 1 -name '*.deb' | head -n 1)
[[ -n $deb ]] || { echo "guest kernel: downloading $package failed" >&2; exit 1; }
dpkg-deb -x "$deb" "$work/unpacked"

staging="$dest/.$release.partial"
rm -rf "$staging"
mkdir -p "$staging/modules"
cp "$work/unpacked/boot/vmlinuz-$release" "$staging/vmlinuz"
while read -r module; do
  cp "$work/unpacked/lib/modules/$release/kernel/$module" "$staging/modules/"
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "${module_lists[@]}" | sort -u)
{
  echo "package $package"
  echo "version $(dpkg-deb -f "$deb" Version)"
  echo "sha256 $(sha256sum "$deb" | cut -d' ' -f1)"
  echo "modules $modules_sha"
} >"$staging/manifest"
rm -rf "${dest:?}/$release"
mv "$staging" "$dest/$release"
ln -sfn "$release" "$dest/current"
echo "guest kernel: $release fetched ($(sed -n 's/^version //p' "$dest/$release/manifest"))"
