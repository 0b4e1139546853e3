#!/usr/bin/env bash
# The project's training step against PyTorch's, side by side on this machine: bench/step.ts on
# the native backend and bench/pytorch-step.py (the same encoder, loss and optimiser, model only,
# on as many threads as the native pool has cores), alternated ROUNDS times so that a change in
# the machine's load falls on both, then the median of each figure across the rounds and the
# ratios: ours with the augmentation inside our step over PyTorch's model-only step, and ours
# model only over PyTorch's, like for like. Each run's whole output is kept in the folder printed
# at the start.
#
#   bench/versus-pytorch.sh [ROUNDS=3] [STEPS=5] [BATCH=128]
#
# PYTHON names the interpreter with torch (default: /usr/bin/python3, Debian's, where
# python3-torch installs, when it imports torch, else python3). PyTorch's threads default to
# the machine's cores, as the native pool's do; THREADS sets them. OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE, which some machines here set for old OpenBLAS builds and which slow a current
# one, are unset for PyTorch's runs alone.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-3}
steps=${2:-5}
batch=${3:-128}
threads=${THREADS:-$(node -e 'console.log(require("node:os").availableParallelism())')}
if [[ -z "${PYTHON:-}" ]]; then
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
"$PYTHON" -c 'import torch' || { echo "versus-pytorch: $PYTHON cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
logs=$(mktemp -d "${TMPDIR:-/tmp}/versus-pytorch.XXXXXX")
echo "versus-pytorch: $rounds rounds of $steps steps at batch 2 x $batch, PyTorch on $threads threads; outputs in $logs"

# A figure from the JSON summary on the last line of a run's output.
figure() { tail -1 "$1" | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s)[process.argv[1]]))' "$2"; }

ours=() ours_model=() theirs=()
for ((r = 1; r <= rounds; r++)); do
  node --import tsx bench/step.ts --backend native --steps "$steps" --batch "$batch" > "$logs/ours-$r.log" 2>&1 ||
    { echo "versus-pytorch: bench/step.ts failed, see $logs/ours-$r.log" >&2; tail -5 "$logs/ours-$r.log" >&2; exit 1; }
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PYTHON" bench/pytorch-step.py --steps "$steps" --batch "$batch" --threads "$threads" > "$logs/pytorch-$r.log" 2>&1 ||
    { echo "versus-pytorch: bench/pytorch-step.py failed, see $logs/pytorch-$r.log" >&2; tail -5 "$logs/pytorch-$r.log" >&2; exit 1; }
  ours+=("$(figure "$logs/ours-$r.log" instances_per_second)")
  ours_model+=("$(figure "$logs/ours-$r.log" model_only_instances_per_second)")
  theirs+=("$(figure "$logs/pytorch-$r.log" instances_per_second)")
  echo "round $r: ours ${ours[-1]} instances/s with augmentation, ${ours_model[-1]} model only; PyTorch ${theirs[-1]} model only" \
    "($(grep -m1 '^PyTorch' "$logs/pytorch-$r.log"))"
done

# Medians (the upper one for an even count, as the benches take theirs) and the ratios.
node -e '
  const [ours, oursModel, theirs] = process.argv.slice(1).map((list) => list.split(" ").map(Number));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [a, m, p] = [median(ours), median(oursModel), median(theirs)];
  console.log(`medians of ${ours.length} alternating rounds: ours ${a} instances/s with augmentation, ${m} model only; PyTorch ${p} model only`);
  console.log(`ratio ours / PyTorch: ${(a / p).toFixed(3)} with our augmentation inside our step, ${(m / p).toFixed(3)} model only against model only`);
  console.log(JSON.stringify({ benchmark: "versus-pytorch", rounds: ours.length, ours_instances_per_second: a, ours_model_only_instances_per_second: m,
    pytorch_instances_per_second: p, ratio: Number((a / p).toFixed(3)), model_only_ratio: Number((m / p).toFixed(3)), ours, ours_model_only: oursModel, pytorch: theirs }));
' "${ours[*]}" "${ours_model[*]}" "${theirs[*]}"
