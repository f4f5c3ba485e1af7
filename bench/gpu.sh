#!/usr/bin/env bash
# Runs webfer's tests and benchmarks on a GPU server that has no Node.js and no network, from the
# bundle that scripts/device-bundle.mjs packs into .carry/ (node binary, node_modules) plus the
# Vulkan loader debs in .gl/. Results land in $OUT (or ./gpu-results): info.json, tests.log,
# bench.json, bench.log.
#   bash bench/gpu.sh [--quick]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$PWD/gpu-results}"
mkdir -p "$out"
quick="${1:-}"

if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && ! ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

bin=/tmp/webfer-node
mkdir -p "$bin"
if ! command -v node >/dev/null; then
  xz -dc .carry/node.xz > "$bin/node" && chmod +x "$bin/node"
  export PATH="$bin:$PATH"
fi
[ -d node_modules ] || tar -xJf .carry/node_modules.tar.xz
node --version
node scripts/bundle-shaders.mjs

node --import tsx src/cli.ts info --json > "$out/info.json" 2> "$out/info.err" || cat "$out/info.err"
cat "$out/info.json"
WEBFER_SKIP_BROWSER=1 timeout 300 node scripts/run-tests.mjs 2>&1 | tee "$out/tests.log" | grep -E "FAIL|✘|passed, .* failed|Error" | head -40
timeout 240 node --import tsx bench/index.ts $quick --json "$out/bench.json" 2>&1 | tee "$out/bench.log"
