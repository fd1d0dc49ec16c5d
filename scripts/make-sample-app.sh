#!/usr/bin/env bash
# Builds the sample app offline from Debian's busybox-static: build-guest/sample-app/hello.toml
# and its root tree (bulkhead app add turns the tree into an erofs image). It prints a greeting
# and serves HTTP on port 8080 of its VM's network device (it has one only when granted network
# or expose-port). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-guest/sample-app
rm -rf "$out.partial"
mkdir -p "$out.partial/hello/bin" "$out.partial/hello/www"
for dir in dev proc tmp state mnt; do mkdir -p "$out.partial/hello/$dir"; done
cp /bin/busybox "$out.partial/hello/bin/busybox"
echo '<h1>Hello from an app VM</h1>' >"$out.partial/hello/www/index.html"
cat >"$out.partial/hello.toml" <<'TOML'
# The sample app: busybox prints a greeting and serves HTTP, alone in its VM.
name = "hello"
version = "1.0"
image = "hello"

[run]
command = "/bin/busybox"
args = ["sh", "-c", "echo \"$GREETING\"; echo serving HTTP on port 8080; exec busybox httpd -f -p 8080 -h /www"]
env = { GREETING = "Hello from an app VM" }
restart = "never"

[resources]
memory_mib = 256
vcpus = 1
state_disk_mib = 16

[permissions]
request = ["network", "expose-port"]
TOML
rm -rf "$out"
mv "$out.partial" "$out"
echo "sample app: $out/hello.toml"
