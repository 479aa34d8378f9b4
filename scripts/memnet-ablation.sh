#!/usr/bin/env bash
# The ablation table of docs/results/memnet.md: bAbI 1k tasks 6, 8 and 16, seed 1, the default recipe and one
# change at a time. Usage: scripts/memnet-ablation.sh   (DATA=folder with en/, default ../shared/data/babi)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/babi}
[ -d "$DATA/en" ] || DATA=data/babi
for task in 6 8 16; do
  for variant in default "--empty-slots mask" "--encoding position-paper" "--clipping global"; do
    name=$(echo "$variant" | tr -d ' -' )
    flags=$([ "$variant" = default ] && echo "" || echo "$variant")
    # shellcheck disable=SC2086
    node apps/cli/dist/main.js train memnet --task "$task" --data "$DATA" --seed 1 $flags --out "runs/memnet-ablation/task$task-$name" > /dev/null
    echo "task $task, $variant: $(node -e "console.log((require('./runs/memnet-ablation/task$task-$name/results.json').tasks[0].error*100).toFixed(1))")%"
  done
done
