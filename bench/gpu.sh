#!/usr/bin/env bash
# Every check and measurement of the webgpu backend on a GPU, in one run on the device machine
# (it has no npm: scripts run as `node --import tsx FILE`). Prepare here, once:
#   npm ci && bash bench/gpu-pack.sh && bash bench/gpu-data.sh
# then one device call with carry [".gpu-bundle", ".gpu-data"] and the command
#   bash .gpu-bundle/run.sh bash bench/gpu.sh
# Every step's output is appended to $OUT/gpu.log as it ends (the device tool brings back at most
# 8 files from $OUT, and what a call cut short had written); this prints each step's exit status
# and last lines. The 5-epoch run's metrics.jsonl and curves.png come back beside it as
# cifar-webgpu-*. GPU_SKIP_TRAINING=1 leaves out the 5-epoch run;
# GPU_STEPS='adapter tiled-*' runs only the steps whose names match one of its patterns.
set -u
out=${OUT:-gpu-out}
logs=$(mktemp -d)
mkdir -p "$out"
chosen() {
  local pattern
  [ -z "${GPU_STEPS:-}" ] && return 0
  for pattern in $GPU_STEPS; do
    # shellcheck disable=SC2254 # the patterns are globs on purpose
    case $1 in $pattern) return 0 ;; esac
  done
  return 1
}
step() {
  local name=$1 limit=$2
  shift 2
  chosen "$name" || return 0
  echo "== $name (at most ${limit} s): $*"
  local start=$SECONDS
  timeout "$limit" "$@" > "$logs/$name.log" 2>&1
  local status=$?
  echo "   exit $status, $((SECONDS - start)) s"
  tail -n 4 "$logs/$name.log" | sed 's/^/   /'
  { echo "== $name: exit $status, $((SECONDS - start)) s: $*"; cat "$logs/$name.log"; } >> "$out/gpu.log"
}
nvidia-smi -L 2>/dev/null | head -1
# In order of what matters most, so that a call cut short still brings back the first.
step adapter 60 node --import tsx bin/webgpu-adapter.ts
# The device runs on the GPU: compiled equals interpreted, and a training step's host traffic.
step device-run-tests 180 env REQUIRE_WEBGPU=1 TEST_BACKENDS=webgpu node --import tsx --test props/webgpu-device-run.test.ts props/training-step.test.ts
# The small encoder's step with the model-only figure beside it (the same step on views drawn
# beforehand), which is what PyTorch's step compares with; ResNet18's full step alone. PyTorch
# (cuDNN) on the same GPU in the same call, the same step model only: the ratio's baseline.
for batch in 128 512; do
  step "step-small-$batch" 120 node --import tsx bench/step.ts --backend webgpu --batch "$batch" --steps 5
  step "pytorch-small-$batch" 90 python3 bench/pytorch-step.py --device cuda --batch "$batch" --steps 20 --warm-up 3
  step "step-resnet18-$batch" 150 node --import tsx bench/step.ts --backend webgpu --encoder resnet18 --batch "$batch" --steps 5 --without-model-only
  step "pytorch-resnet18-$batch" 90 python3 bench/pytorch-step.py --device cuda --encoder resnet18 --batch "$batch" --steps 20 --warm-up 3
done
# The same step as gpu.js's kernels in gpu.js's pipelines: the baseline of the tiled kernels.
step step-small-128-without-tiled 90 node --import tsx bench/step.ts --backend webgpu --batch 128 --steps 5 --without-model-only --without-tiled
step step-small-128-profile 90 node --import tsx bench/step.ts --backend webgpu --batch 128 --steps 2 --profile --without-model-only
if [ -z "${GPU_SKIP_TRAINING:-}" ] && [ -d .gpu-data/cifar-10-batches-bin ]; then
  step cifar-webgpu 300 node --import tsx examples/cifar10.ts --backend webgpu --data .gpu-data/cifar-10-batches-bin --epochs 5 --out "$logs/cifar-webgpu"
  for file in metrics.jsonl curves.png; do
    [ -f "$logs/cifar-webgpu/$file" ] && cp "$logs/cifar-webgpu/$file" "$out/cifar-webgpu-$file"
  done
fi
step tiled-tests 120 env REQUIRE_WEBGPU=1 node --import tsx --test props/webgpu-tiled.test.ts
step tiled-kernels 120 node --import tsx bench/tiled-kernels.ts --batch 256
step kernels 120 node --import tsx bench/kernels.ts --backends webgpu
# The whole compiled-equals-interpreted suite on the GPU, at the adapter's limits and at WebGPU's
# default 8 storage buffers (minutes each: last, and left out by a GPU_STEPS that names others).
step compile-tests 300 env TEST_BACKENDS=webgpu node --import tsx --test props/compile.test.ts props/training-step.test.ts
step compile-tests-8-buffers 300 env TEST_BACKENDS=webgpu TEST_STORAGE_BUFFERS=8 node --import tsx --test props/compile.test.ts props/training-step.test.ts
