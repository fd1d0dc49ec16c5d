#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, run as root: install what is needed, build, check
# the machine with `bulkhead hcl`, then run the embedded sample app in its own VM: start
# bulkheadd, add the app (its own host user; its root image built from busybox-static, offline),
# grant it its HTTP port on the host's loopback, start it, fetch its page, grant and revoke
# network on the running VM, show the audit log, stop it, remove it, stop bulkheadd. The network
# provider is an empty namespace made for the demo: granting network changes the VM's firewall,
# but there is nothing beyond it to reach.
# `bulkhead hcl` may say the machine does not qualify (it exits 1 then); the job goes on, since
# app VMs fall back to software emulation (TCG) where KVM is not usable.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release
echo
status=0
build/bin/bulkhead hcl || status=$?
case "$status" in
  0) echo "main: this machine qualifies for Bulkhead (bulkhead hcl exit 0)" ;;
  1) echo "main: the check ran; this machine does not qualify, see above (bulkhead hcl exit 1)" ;;
  *) echo "main: bulkhead hcl failed (exit $status)" >&2; exit "$status" ;;
esac

if [[ $(id -u) -ne 0 ]]; then
  echo "main: running apps needs root (bulkheadd creates a host user per app); run scripts/main.sh as root" >&2
  exit 1
fi
scripts/make-sample-app.sh
demo=$(mktemp -d /tmp/bulkhead-main-XXXXXX)
provider=bulkhead-demo-$$
ip netns add "$provider"
build/bin/bulkheadd --state-dir "$demo/state" --runtime-dir "$demo/run" \
  --kernel-dir build-guest/kernel/current --module-list deps/guest-kernel-modules.txt \
  --guest-init build/bin/bulkhead-guest --network-provider "/run/netns/$provider" >"$demo/bulkheadd.log" 2>&1 &
daemon=$!
app() { build/bin/bulkhead app --socket "$demo/run/bulkheadd.sock" "$@"; }
finish() {
  app stop hello >/dev/null 2>&1 || true
  sleep 2
  app remove --purge hello >/dev/null 2>&1 || true
  kill "$daemon" 2>/dev/null || true
  wait "$daemon" 2>/dev/null || true
  ip netns del "$provider" 2>/dev/null || true
  rm -rf "$demo"
}
trap finish EXIT
for _ in $(seq 100); do [[ -S $demo/run/bulkheadd.sock ]] && break; sleep 0.1; done
head -n 1 "$demo/bulkheadd.log"

echo; echo "\$ bulkhead app add build-guest/sample-app/hello.toml"; app add build-guest/sample-app/hello.toml
echo "\$ bulkhead app permissions hello"; app permissions hello
echo "\$ bulkhead app grant hello expose-port:8080:18080 --yes"; app grant hello expose-port:8080:18080 --yes
echo "\$ bulkhead app start hello"; app start hello
for _ in $(seq 300); do app logs hello | grep -q 'serving HTTP' && break; sleep 0.2; done
echo "\$ bulkhead app status hello"; app status hello
echo "\$ bulkhead app logs hello"; app logs hello
page=""
for _ in $(seq 100); do
  page=$( (exec 3<>/dev/tcp/127.0.0.1/18080 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3) 2>/dev/null || true)
  [[ $page == *"Hello from an app VM"* ]] && break
  sleep 0.2
done
echo "\$ fetching http://127.0.0.1:18080/ on the host"; echo "$page" | tail -n 1
[[ $page == *"Hello from an app VM"* ]] || { echo "main: the exposed port did not answer" >&2; exit 1; }
echo "\$ bulkhead app grant hello network --yes"; app grant hello network --yes
echo "\$ bulkhead app revoke hello network"; app revoke hello network
echo "\$ bulkhead audit --app hello"; build/bin/bulkhead audit --socket "$demo/run/bulkheadd.sock" --app hello
echo "\$ bulkhead app stop hello"; app stop hello
for _ in $(seq 150); do app status hello | grep -q ': stopped' && break; sleep 0.2; done
echo "\$ bulkhead app status hello"; app status hello
app status hello | grep -q ': stopped' || { echo "main: the app did not stop" >&2; exit 1; }
echo "main: the sample app ran in its own VM and stopped"
