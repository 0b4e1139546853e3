#!/usr/bin/env bash
# Every check and measurement of the webgpu backend on a GPU, in one run on the device machine
# (it has no npm: scripts run as `node --import tsx FILE`). Prepare here, once:
#   npm ci && bash ../shared/gpu/pack.sh && bash bench/gpu-data.sh
# then one device call with carry [".gpu-bundle", ".gpu-data"] and the command
#   bash .gpu-bundle/run.sh bash bench/gpu.sh
# Each step's output goes to $OUT/NAME.log (the device tool brings $OUT back); this prints each
# step's exit status and last lines. GPU_SKIP_TRAINING=1 leaves out the 5-epoch run;
# GPU_STEPS='adapter tiled-*' runs only the steps whose names match one of its patterns.
set -u
out=${OUT:-gpu-out}
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
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  echo "   exit $?, $((SECONDS - start)) s"
  tail -n 4 "$out/$name.log" | sed 's/^/   /'
}
nvidia-smi -L 2>/dev/null | head -1
step adapter 60 node --import tsx bin/webgpu-adapter.ts
step compile-tests 240 env TEST_BACKENDS=webgpu node --import tsx --test props/compile.test.ts props/training-step.test.ts
step compile-tests-8-buffers 240 env TEST_BACKENDS=webgpu TEST_STORAGE_BUFFERS=8 node --import tsx --test props/compile.test.ts props/training-step.test.ts
step tiled-tests 240 env REQUIRE_WEBGPU=1 node --import tsx --test props/webgpu-tiled.test.ts
step kernels 240 node --import tsx bench/kernels.ts --backends webgpu
step tiled-kernels 240 node --import tsx bench/tiled-kernels.ts --batch 256
# The small encoder's step with the model-only figure beside it (the same step on views drawn
# beforehand), which is what PyTorch's step below compares with; ResNet18's full step alone.
for batch in 128 512; do
  step "step-small-$batch" 240 node --import tsx bench/step.ts --backend webgpu --batch "$batch" --steps 5
  step "step-resnet18-$batch" 240 node --import tsx bench/step.ts --backend webgpu --encoder resnet18 --batch "$batch" --steps 5 --without-model-only
done
# The same step as gpu.js's kernels in gpu.js's pipelines: the baseline of the tiled kernels.
step step-small-128-without-tiled 240 node --import tsx bench/step.ts --backend webgpu --batch 128 --steps 5 --without-model-only --without-tiled
# PyTorch (cuDNN) on the same GPU in the same call, the same step model only: the ratio's baseline.
for encoder in small resnet18; do
  for batch in 128 512; do
    step "pytorch-$encoder-$batch" 120 python3 bench/pytorch-step.py --device cuda --encoder "$encoder" --batch "$batch" --steps 20 --warm-up 3
  done
done
step step-small-128-profile 240 node --import tsx bench/step.ts --backend webgpu --batch 128 --steps 2 --profile --without-model-only
if [ -z "${GPU_SKIP_TRAINING:-}" ] && [ -d .gpu-data/cifar-10-batches-bin ]; then
  rm -rf "$out/cifar-webgpu"
  step cifar-webgpu 900 node --import tsx examples/cifar10.ts --backend webgpu --data .gpu-data/cifar-10-batches-bin --epochs 5 --out "$out/cifar-webgpu"
fi
