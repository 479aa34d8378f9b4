#!/usr/bin/env bash
# Reproduces docs/results/ntm.md's copy table: trains the paper's NTM on copy for each seed until
# 256 fresh sequences score < 0.01 error bits per sequence, then evaluates each model on 1,000
# fresh sequences of lengths 1..20 and at 30, 50, 80 and 120. Usage: scripts/ntm-copy-results.sh [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("${@:-1 2 3}")
pnpm build >/dev/null
for seed in ${seeds[@]}; do
  pnpm exec engram train ntm --task copy --seed "$seed" --out "runs/copy-seed$seed"
done
for seed in ${seeds[@]}; do
  pnpm exec engram eval --run "runs/copy-seed$seed" --lengths 1-20,30,50,80,120 --sequences 1000 --seed 7
done
