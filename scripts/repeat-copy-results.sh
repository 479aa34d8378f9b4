#!/usr/bin/env bash
# docs/results/dnc.md's repeat-copy table: the NTM and the DNC on repeat copy with the NTM's settings (LSTM 100,
# memory 128 × 20, one read and one write head, RMSProp 1e-4 with momentum 0.9, gradients clipped to ±10, one sequence
# per step, 8-bit vectors, lengths 1..10, repeats 1..10; the NTM results page's stopping rule for this task: 1,000
# held-out sequences under 0.1 bits three checks in a row), the same seeds for both; then each model on 1,000 fresh
# sequences (seed 7) longer than trained and with more repeats than trained. Stops a seed at 300,000 sequences if it
# has not converged. A run whose folder holds a model is done; one with only a checkpoint is resumed.
# Usage: scripts/repeat-copy-results.sh [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("${@:-1 2 3}")
pnpm build >/dev/null
settings=(--task repeat-copy --hidden 100 --memory 128x20 --read-heads 1 --batch 1 --rmsprop graves --clip-value 10
  --clip-norm 0 --until 0.1 --max-sequences 300000)
for seed in ${seeds[@]}; do
  for model in ntm dnc; do
    out="runs/repeat-copy-$model-seed$seed"
    [ -f "$out/model.safetensors" ] && continue
    resume=()
    [ -f "$out/checkpoint.safetensors" ] && resume=(--resume)
    node apps/cli/dist/main.js train "$model" "${settings[@]}" --seed "$seed" --out "$out" "${resume[@]}"
  done
done
for seed in ${seeds[@]}; do
  for model in ntm dnc; do
    node apps/cli/dist/main.js eval --run "runs/repeat-copy-$model-seed$seed" --lengths 1-10,15,20 --sequences 1000 --seed 7
    node apps/cli/dist/main.js eval --run "runs/repeat-copy-$model-seed$seed" --repeats 1-10,15,20 --sequences 1000 --seed 7
  done
done
