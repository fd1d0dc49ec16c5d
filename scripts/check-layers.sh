#!/usr/bin/env bash
# Enforces the direction of dependencies between components (docs/ARCHITECTURE.md): each
# folder under src/ may include only the components listed for it. A new component must be
# added here, with its allowed dependencies, before it can be used.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [base]=""
  [hcl]="base"
  [cli]="base"
  [json]="base"
  [crypto]="base"
  [fetch]="base"
  [tuf]="base json crypto fetch"
  [tuf_repo]="base json crypto tuf"
  [control]="base"
  [permissions]="base json"
  [apps]="base config permissions json"
  [config]="base"
  [image]="base config crypto gpt initramfs json verity"
  [secureboot]="base gpt"
  [initramfs]="base"
  [vmm]="base json"
  [jailer]="base"
  [network]="base"
  [manager]="base apps control guest jailer json network permissions vmimage vmm"
  [verity]="base"
  [gpt]="base"
  [devmapper]="base"
  [initrd]="base gpt tpm"
  [tpm]="base"
  [floor]="base tpm"
  [bundle]="base"
  [archpkg]="base crypto"
  [curate]="base archpkg attest crypto json tuf tuf_repo"
  [attest]="base json crypto"
  [appstore]="base archpkg attest config crypto fetch json tuf"
  [boot]="base"
  [update]="base boot bundle crypto gpt image initrd json tuf verity"
  [guest]="base control"
  [vmimage]="base guest initramfs"
)

status=0
for dir in src/*/; do
  component=$(basename "$dir")
  if [[ ! -v "allowed[$component]" ]]; then
    echo "layers: src/$component is not listed in scripts/check-layers.sh"
    status=1
    continue
  fi
  while IFS=: read -r file _ include; do
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$include")
    [[ $target == "$component" ]] && continue
    if [[ " ${allowed[$component]} " != *" $target "* ]]; then
      echo "layers: $file includes $target, but $component may only use: ${allowed[$component]:-nothing}"
      status=1
    fi
  done < <(grep -n -E '^#include "[a-z_]+/' -r "$dir" || true)
done
if ((status == 0)); then echo "layers ok: ${#allowed[@]} components"; fi
exit "$status"
