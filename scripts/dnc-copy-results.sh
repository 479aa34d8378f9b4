#!/usr/bin/env bash
# docs/results/dnc.md's copy table: the DNC beside the NTM on copy with the NTM's settings (LSTM 100, one read and
# one write head, RMSProp 1e-4 with momentum 0.9, gradients clipped to ±10, one sequence per step, 8-bit vectors of
# length 1..20, the same stopping rule: 1,000 held-out sequences under 0.01 bits three checks in a row), memory
# 128 × 20 like the NTM's, for each seed; then each model on 1,000 fresh sequences (seed 7) of lengths 1..20 and
# longer. Stops a seed at 200,000 sequences if it has not converged. A seed whose run folder holds a model is done;
# one with only a checkpoint is resumed. Usage: scripts/dnc-copy-results.sh [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("${@:-1 2 3}")
pnpm build >/dev/null
for seed in ${seeds[@]}; do
  out="runs/dnc-copy-seed$seed"
  [ -f "$out/model.safetensors" ] && continue
  resume=()
  [ -f "$out/checkpoint.safetensors" ] && resume=(--resume)
  node apps/cli/dist/main.js train dnc --task copy --seed "$seed" --out "$out" \
    --hidden 100 --memory 128x20 --read-heads 1 --batch 1 --rmsprop graves --clip-value 10 --clip-norm 0 --max-sequences 200000 \
    "${resume[@]}"
done
for seed in ${seeds[@]}; do
  node apps/cli/dist/main.js eval --run "runs/dnc-copy-seed$seed" --lengths 1-20,30,50 --sequences 1000 --seed 7
done
