#!/usr/bin/env bash
# What the GPU device machine lacks, packed for one call that carries both it and the data slice
# (bench/gpu-data.sh) within the device tool's 64 MiB: ../shared/gpu/pack.sh's bundle, its
# node_modules repacked without what that x86-64 machine never loads (webgpu's linux-arm64 build,
# headless-gl's ANGLE sources and object files, type declarations, source maps and read-mes:
# about 12 MB of the 31 compressed).
#   bash bench/gpu-pack.sh && bash bench/gpu-data.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash ../shared/gpu/pack.sh
echo "repacking node_modules for x86-64 Linux alone"
tar --exclude='node_modules/webgpu/dist/win32*' --exclude='node_modules/webgpu/dist/darwin*' --exclude='node_modules/webgpu/dist/linux-arm64' \
    --exclude='node_modules/gl/angle' --exclude='node_modules/gl/deps' --exclude='node_modules/gl/build/Release/obj*' \
    --exclude='node_modules/@typescript' --exclude='node_modules/typescript' --exclude='node_modules/deno' --exclude='node_modules/@deno' \
    --exclude='*.d.ts' --exclude='*.d.mts' --exclude='*.d.cts' --exclude='*.map' --exclude='*.md' \
    -cf - node_modules | xz -T2 -6 > .gpu-bundle/node_modules.tar.xz
du -sh .gpu-bundle
