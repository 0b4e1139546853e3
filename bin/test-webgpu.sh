#!/usr/bin/env bash
# The compiled-equals-interpreted suite (every primitive's gradient case, random programs,
# fusion, kernel reuse, randomBits bit for bit, the whole training step) on the webgpu backend,
# on a machine without a GPU: Deno's built-in WebGPU finds Mesa's lavapipe, a Vulkan driver that
# runs on the CPU (Debian's mesa-vulkan-drivers). Run twice: at the adapter's limits, and with
# the 8 storage buffers a kernel may bind on WebGPU's default device. On a GPU machine with Dawn,
# `npm test` itself covers webgpu (props/backends.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
deno=node_modules/.bin/deno
[ -x "$deno" ] || { echo "test:webgpu: $deno is missing; run npm ci" >&2; exit 1; }
files=(props/compile.test.ts props/training-step.test.ts)
run() { TEST_BACKENDS=webgpu "$deno" test --allow-all --node-modules-dir=manual --no-check "${files[@]}"; }
if ! "$deno" eval 'const a = await navigator.gpu?.requestAdapter(); if (!a) Deno.exit(1); console.log(`adapter: ${a.info.description || a.info.vendor}, ${a.limits.maxStorageBuffersPerShaderStage} storage buffers a kernel`)'; then
  echo "test:webgpu: no WebGPU adapter answered under Deno; on Debian, apt-get install mesa-vulkan-drivers (lavapipe)" >&2
  exit 1
fi
echo "== webgpu at the adapter's limits"
run
echo "== webgpu with 8 storage buffers a kernel (WebGPU's default device)"
TEST_STORAGE_BUFFERS=8 run
