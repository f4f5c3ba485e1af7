#!/usr/bin/env bash
# Runs webfer's tests and benchmarks on a GPU server that has no Node.js and no network, from the
# bundle that scripts/device-bundle.mjs packs into .carry/ (node binary, node_modules) plus the
# Vulkan loader debs in .gl/. Results land in $OUT (or ./gpu-results): info.json, tests.log,
# step.json / step.log (whole training steps), bench.json / bench.log (kernel rows), synth.log
# (rendering rates and training on the fly vs cached), with the tune task step-tuned.json / .log and
# autotune.json (the same steps with WEBFER_AUTOTUNE=1: variants timed per shape, the choices kept),
# and with the demo task demo.log plus demo/.
#   bash bench/gpu.sh [--quick]                      tests, step, bench, synth
#   WEBFER_GPU_TASKS="demo" bash bench/gpu.sh        any of: tests step tune bench synth demo
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$PWD/gpu-results}"
mkdir -p "$out"
quick="${1:-}"
tasks="${WEBFER_GPU_TASKS:-tests step bench synth}"

# The Vulkan loader and GLVND (NVIDIA's Vulkan driver, libGLX_nvidia, needs libGLdispatch).
for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$dir" ] && echo "$dir" > "/etc/ld.so.conf.d/webfer-$(basename "$dir").conf"
done
ldconfig
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
  done
fi
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
[ -n "${VK_DRIVER_FILES:-}" ] && cat "$VK_DRIVER_FILES"
glx=$(ldconfig -p | awk '/libGLX_nvidia.so.0/ {print $NF; exit}')
[ -n "$glx" ] && { echo "$glx:"; ldd "$glx" | grep -i 'not found'; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

bin=/tmp/webfer-node
mkdir -p "$bin"
if ! command -v node >/dev/null; then
  xz -dc .carry/node.xz > "$bin/node" && chmod +x "$bin/node"
  export PATH="$bin:$PATH"
fi
[ -d node_modules ] || tar -xJf .carry/node_modules.tar.xz
node --version
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true
node scripts/bundle-shaders.mjs
# The CLI tests run the built binary (dist/cli.js), as a user would.
node node_modules/typescript/bin/tsc -p tsconfig.json || echo "tsc reported errors (dist/ written anyway)"

if ! node --import tsx src/cli.ts info --json > "$out/info.json" 2> "$out/info.err"; then
  cat "$out/info.err"
  echo "no WebGPU adapter: stopping before tests and benchmarks"
  exit 1
fi
cat "$out/info.json"
if [[ " $tasks " == *" tests "* ]]; then
  WEBFER_SKIP_BROWSER=1 timeout 240 node scripts/run-tests.mjs 2>&1 | tee "$out/tests.log" | grep -E "FAIL|✘|passed, .* failed|Error" | head -40
fi
if [[ " $tasks " == *" step "* ]]; then
  # Both precisions, each step after the other: f16 = float16 operands for the convolutions and linear layers.
  timeout 240 node --import tsx src/cli.ts bench --step $quick --precision f32 f16 --json "$out/step.json" 2>&1 | tee "$out/step.log"
fi
if [[ " $tasks " == *" tune "* ]]; then
  WEBFER_AUTOTUNE=1 WEBFER_AUTOTUNE_CACHE="$out/autotune.json" timeout 240 node --import tsx src/cli.ts bench --step $quick --json "$out/step-tuned.json" 2>&1 | tee "$out/step-tuned.log"
fi
if [[ " $tasks " == *" bench "* ]]; then
  timeout 180 node --import tsx src/cli.ts bench $quick --json "$out/bench.json" 2>&1 | tee "$out/bench.log"
fi
if [[ " $tasks " == *" synth "* ]]; then
  # Rendering rate on every core (1 % of the F²ED preset at 128 px; ×100 for the full set), then
  # Fa-Net training images/s with faces rendered on the fly against cached, at the GPU demo sizes.
  rm -rf /tmp/webfer-synth
  timeout 90 node dist/cli.js synth /tmp/webfer-synth --preset f2ed --scale 0.01 --size 128 2>&1 | tail -2 | tee "$out/synth.log"
  timeout 120 node --import tsx bench/synth-on-the-fly.ts --preset gpu 2>&1 | tee -a "$out/synth.log"
fi
if [[ " $tasks " == *" demo "* ]]; then
  timeout "${WEBFER_DEMO_TIMEOUT:-420}" node --import tsx src/cli.ts demo --out "$out/demo" ${WEBFER_DEMO_ARGS:-} 2>&1 | tee "$out/demo.log" | grep -vE "^(epoch|eval) .*[0-9]+/[0-9]+ \("
fi
