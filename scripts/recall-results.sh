#!/usr/bin/env bash
# docs/results/dnc.md's associative-recall table: the NTM and the DNC on associative recall with the NTM's settings
# (LSTM 100, memory 128 × 20, one read and one write head, RMSProp 1e-4 with momentum 0.9, gradients clipped to ±10,
# one sequence per step, items of 3 × 6-bit vectors, 2..6 items; the NTM results page's stopping rule: 1,000 held-out
# sequences under 0.1 bits three checks in a row), the same seeds for both; then each model on 1,000 fresh sequences
# (seed 7) of 2..6 items and of more items than trained. Stops a seed at 200,000 sequences if it has not converged.
# A run whose folder holds a model is done; one with only a checkpoint is resumed.
# Usage: scripts/recall-results.sh [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("${@:-1 2 3}")
pnpm build >/dev/null
settings=(--task associative-recall --hidden 100 --memory 128x20 --read-heads 1 --batch 1 --rmsprop graves --clip-value 10
  --clip-norm 0 --until 0.1 --max-sequences 200000)
for seed in ${seeds[@]}; do
  for model in ntm dnc; do
    out="runs/recall-$model-seed$seed"
    [ -f "$out/model.safetensors" ] && continue
    resume=()
    [ -f "$out/checkpoint.safetensors" ] && resume=(--resume)
    node apps/cli/dist/main.js train "$model" "${settings[@]}" --seed "$seed" --out "$out" "${resume[@]}"
  done
done
for seed in ${seeds[@]}; do
  for model in ntm dnc; do
    node apps/cli/dist/main.js eval --run "runs/recall-$model-seed$seed" --lengths 2-6,8,10,12 --sequences 1000 --seed 7
  done
done
