#!/usr/bin/env bash
# The compiled-equals-interpreted suite and the whole training step on the webgpu backend alone,
# in Node through Dawn's binding (the `webgpu` package): at the adapter's own storage-buffer limit
# and with the 8 a kernel may bind on WebGPU's default device. WEBGPU_LIMITS chooses ("8" is what
# `npm test` adds to its main run, which covers webgpu at the adapter's limit beside the other
# backends). On a machine without a GPU, Dawn finds Mesa's lavapipe, a Vulkan driver on the CPU
# (on Debian 12, mesa-vulkan-drivers from bookworm-backports: Dawn refuses Mesa 22's). Where no
# adapter answers, this says why and passes, unless REQUIRE_WEBGPU is set.
set -euo pipefail
cd "$(dirname "$0")/.."
files=(props/compile.test.ts props/training-step.test.ts)
if ! adapter=$(node --import tsx bin/webgpu-adapter.ts 2>/dev/null); then
  echo "test:webgpu: $adapter" >&2
  if [ -n "${REQUIRE_WEBGPU:-}" ]; then exit 1; fi
  echo "test:webgpu: skipped (on Debian 12: apt-get install -t bookworm-backports mesa-vulkan-drivers)"
  exit 0
fi
echo "test:webgpu: $adapter"
for limit in ${WEBGPU_LIMITS:-adapter 8}; do
  case "$limit" in
    adapter) echo "== webgpu at the adapter's limits"; TEST_BACKENDS=webgpu node --import tsx --test "${files[@]}" ;;
    *) echo "== webgpu with $limit storage buffers a kernel"; TEST_BACKENDS=webgpu TEST_STORAGE_BUFFERS="$limit" node --import tsx --test "${files[@]}" ;;
  esac
done
