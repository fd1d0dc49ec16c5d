#!/usr/bin/env bash
# Boots a built system core image the way firmware would, under QEMU: OVMF's Secure Boot
# firmware (enforcing), the owner's keys enrolled offline into a fresh copy of its variable
# store, swtpm as the TPM 2.0, the image's disk read-only. The serial console is this terminal;
# Ctrl-A X quits QEMU. KVM is used when it works, TCG otherwise.
# usage: scripts/boot-image.sh IMAGE_DIR KEYS_DIR
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 IMAGE_DIR KEYS_DIR" >&2
  exit 2
fi
image=$1 keys=$2
for file in "$image/disk.img" "$keys/PK.esl" "$keys/KEK.esl" "$keys/db.esl"; do
  [[ -f $file ]] || { echo "boot-image: $file is missing" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
for variable in db KEK PK; do
  flash-var "$work/vars.fd" "$variable" "$keys/$variable.esl" >/dev/null
done
mkdir "$work/tpm"
swtpm socket --tpm2 --tpmstate dir="$work/tpm" --ctrl type=unixio,path="$work/tpm.sock" &
for _ in $(seq 100); do [[ -S $work/tpm.sock ]] && break; sleep 0.05; done
# KVM only when bulkhead hcl finds that it really runs a guest.
accel=tcg
bulkhead=$(dirname "$0")/../build/bin/bulkhead
if [[ -x $bulkhead ]] && "$bulkhead" hcl --json 2>/dev/null |
  python3 -c 'import json,sys; c={x["id"]:x["status"] for x in json.load(sys.stdin)["checks"]}; sys.exit(c.get("kvm.usable")!="pass")'; then
  accel=kvm
fi
qemu-system-x86_64 -nodefaults -machine q35,smm=on -accel "$accel" -cpu max -m 1024 \
  -global driver=cfi.pflash01,property=secure,value=on \
  -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd \
  -drive if=pflash,format=raw,unit=1,file="$work/vars.fd" \
  -drive file="$image/disk.img",format=raw,if=virtio,readonly=on \
  -chardev socket,id=chrtpm,path="$work/tpm.sock" -tpmdev emulator,id=tpm0,chardev=chrtpm \
  -device tpm-tis,tpmdev=tpm0 -display none -serial mon:stdio -no-reboot
