#!/usr/bin/env bash
# docs/results/dnc.md's tables of the DNC beside the NTM, with the NTM's settings for both: LSTM 100, memory 128 × 20,
# one read and one write head, RMSProp 1e-4 with momentum 0.9 (--rmsprop graves), gradients clipped to ±10, one
# sequence per step, the same seeds, the NTM results page's stopping rule for the task (1,000 held-out sequences under
# its error bound three checks in a row) and a cap on sequences; then each model on 1,000 fresh sequences (seed 7) of
# the trained sizes and larger ones. A run whose folder holds a model is done; one with only a checkpoint is resumed.
#
#   task                 models    bound   cap       evaluated at                            run folders
#   copy                 dnc       0.01    200,000   lengths 1-20, 30, 50                    runs/dnc-copy-seedS (the NTM: scripts/ntm-copy-results.sh)
#   associative-recall   ntm dnc   0.1     200,000   items 2-6, 8, 10, 12                    runs/recall-MODEL-seedS
#   repeat-copy          ntm dnc   0.1     300,000   lengths 1-10, 15, 20; repeats the same  runs/repeat-copy-MODEL-seedS
#   priority-sort        ntm dnc   –       50,000    the trained sizes                       runs/priority-sort-MODEL-seedS
#
# Priority sort takes the NTM paper's controller (2 × 100 LSTM) and five read heads for both; the NTM has five write
# heads as in the paper, the DNC one (the DNC paper's single write head, which allocates: the DNC's whole-sequence
# kernel takes one write head, and with five it runs on the autodiff tape at about a twentieth of the speed). Neither
# model gets near the paper's ~18 bits within a budget a session can give (the NTM's own run: 37 bits at 260,000
# sequences), so both train a fixed 50,000 sequences and the table compares their error there.
#
# Usage: scripts/dnc-beside-ntm.sh TASK [SEEDS...] (default seeds 1 2 3)
set -euo pipefail
cd "$(dirname "$0")/.."
task="${1:?usage: scripts/dnc-beside-ntm.sh copy|associative-recall|repeat-copy|priority-sort [SEEDS...]}"
shift
seeds=("${@:-1 2 3}")
case "$task" in
  copy)
    models=(dnc) task_settings=(--max-sequences 200000) evals=("--lengths 1-20,30,50") ;;
  associative-recall)
    models=(ntm dnc) task_settings=(--until 0.1 --max-sequences 200000) evals=("--lengths 2-6,8,10,12") ;;
  repeat-copy)
    models=(ntm dnc) task_settings=(--until 0.1 --max-sequences 300000) evals=("--lengths 1-10,15,20" "--repeats 1-10,15,20") ;;
  priority-sort)
    models=(ntm dnc) task_settings=(--until 0 --max-sequences 50000 --eval-every 5000 --eval-size 500 --layers 2) evals=("") ;;
  *)
    echo "scripts/dnc-beside-ntm.sh: unknown task '$task' (copy, associative-recall, repeat-copy or priority-sort)" >&2
    exit 2 ;;
esac
read_heads=1
[ "$task" = priority-sort ] && read_heads=5
settings=(--task "$task" --hidden 100 --memory 128x20 --read-heads "$read_heads" --batch 1 --rmsprop graves --clip-value 10 --clip-norm 0
  "${task_settings[@]}")
# Write heads: one each, but the NTM's five on priority sort (above).
write_heads() {
  if [ "$task" = priority-sort ] && [ "$1" = ntm ]; then echo 5; else echo 1; fi
}

# The run folder of a model and seed (the copy runs keep their older names).
folder() {
  case "$task" in
    copy) echo "runs/dnc-copy-seed$2" ;;
    associative-recall) echo "runs/recall-$1-seed$2" ;;
    *) echo "runs/$task-$1-seed$2" ;;
  esac
}

pnpm build >/dev/null
for seed in ${seeds[@]}; do
  for model in "${models[@]}"; do
    out="$(folder "$model" "$seed")"
    [ -f "$out/model.safetensors" ] && continue
    resume=()
    [ -f "$out/checkpoint.safetensors" ] && resume=(--resume)
    node apps/cli/dist/main.js train "$model" "${settings[@]}" --write-heads "$(write_heads "$model")" --seed "$seed" --out "$out" \
      "${resume[@]}"
  done
done
for seed in ${seeds[@]}; do
  for model in "${models[@]}"; do
    for e in "${evals[@]}"; do
      # shellcheck disable=SC2086 # each evaluation is a flag and its value
      node apps/cli/dist/main.js eval --run "$(folder "$model" "$seed")" $e --sequences 1000 --seed 7
    done
  done
done
