#!/usr/bin/env bash
# Reproduces the bAbI tables of docs/results/memnet.md. Usage:
#   scripts/memnet-babi-results.sh joint SEED...        joint training on the 20 tasks of the 1k set
#   scripts/memnet-babi-results.sh per-task SEED...     one model per task, 1k set
#   scripts/memnet-babi-results.sh per-task-10k SEED... one model per task, 10k set (task 3's train file is missing here)
# Data: DATA=folder with en/ and en-10k/ (default ../shared/data/babi, else data/babi from 'engram download babi').
# Each run writes runs/memnet-.../results.json; summarise with: node scripts/memnet-summary.mjs runs
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?joint, per-task or per-task-10k}
shift
DATA=${DATA:-../shared/data/babi}
[ -d "$DATA/en" ] || DATA=data/babi
for seed in "${@:-1}"; do
  case $mode in
    joint) node apps/cli/dist/main.js train memnet --joint --data "$DATA" --seed "$seed" --out "runs/memnet-joint-s$seed" ;;
    per-task)
      for task in $(seq 1 20); do
        node apps/cli/dist/main.js train memnet --task "$task" --data "$DATA" --seed "$seed" --out "runs/memnet-1k-s$seed/task$task" | tail -4
      done ;;
    per-task-10k)
      for task in $(seq 1 20); do
        [ -f "$DATA/en-10k/$(ls "$DATA/en" | grep "^qa${task}_" | grep train)" ] || { echo "task $task: no 10k training file, skipped"; continue; }
        node apps/cli/dist/main.js train memnet --task "$task" --10k --data "$DATA" --seed "$seed" --out "runs/memnet-10k-s$seed/task$task" | tail -4
      done ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
done
