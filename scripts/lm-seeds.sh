#!/usr/bin/env bash
# docs/results/lm.md's best-of-N figure (Sukhbaatar et al. 2015, Table 2: the MemN2N language model on Penn Treebank,
# 150-d, 7 hops, memory 200, "the best of ten runs by validation"): trains seeds FIRST..LAST of the paper's model with
# the paper's recipe, one thread each, PARALLEL at a time (default: one per core), each in RUNS/lm-memnet-seed<S>, then
# picks the run with the best validation perplexity and tests it (scripts/lm-best-of-n.mjs --test).
# A run costs about 11 hours of one core on this project's machines (45–50 epochs of 929,589 words at about 1,150–1,200
# words/s, 12–14 minutes an epoch alone). A run with a checkpoint is resumed; one with results.json has finished (the
# paper's rule: η < 1e-5) and is skipped. Safe to stop at any time and to rerun: Ctrl-C (or SIGINT or SIGTERM to the
# script, or SIGINT to a run) checkpoints the runs, and no further seed starts once a run stops without finishing.
# Usage: scripts/lm-seeds.sh LAST [FIRST (default 1)] [PARALLEL (default: the number of cores)]
# ENGRAM_PTB names the folder with ptb.*.txt (default ../shared/data/ptb); ENGRAM_RUNS the folder of the runs (default
# runs); ENGRAM_LM_SIZES replaces the paper's sizes (default "--hops 7 --memory 200 --embedding 150"; other options of
# `engram train lm --model memnet` may go there too, to try the script out on a small model).
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/lm-seeds.sh LAST [FIRST] [PARALLEL]"
last="${1:?$usage}"
first="${2:-1}"
parallel="${3:-$(nproc)}"
for n in "$last" "$first" "$parallel"; do
  [[ "$n" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "lm-seeds: '$n' is not a whole number from 1 to 9999 ($usage)" >&2; exit 2; }
done
((first <= last)) || { echo "lm-seeds: FIRST ($first) is after LAST ($last)" >&2; exit 2; }
data="${ENGRAM_PTB:-../shared/data/ptb}"
sizes="${ENGRAM_LM_SIZES:---hops 7 --memory 200 --embedding 150}"
runs="${ENGRAM_RUNS:-runs}"
pnpm build >/dev/null
mkdir -p "$runs"

# One seed: resumed from its checkpoint, skipped once finished, else started; its output goes to RUNS/lm-memnet-seed<S>.log.
# A run that stops without finishing (Ctrl-C, SIGINT, an error) ends the sweep: exit status 255 tells xargs to start no
# more.
train_seed() {
  local seed="$1" out="$runs/lm-memnet-seed$1"
  if [ -f "$out/results.json" ]; then
    echo "seed $seed: finished before"
    return 0
  elif [ -f "$out/checkpoint.safetensors" ]; then
    echo "seed $seed: resumed"
    node apps/cli/dist/bin.js train lm --out "$out" --resume --threads 1 >>"$out.log" 2>&1 || true
  else
    echo "seed $seed: started"
    # shellcheck disable=SC2086 # the sizes are separate options
    node apps/cli/dist/bin.js train lm --model memnet $sizes --seed "$seed" --threads 1 --data "$data" --out "$out" >>"$out.log" 2>&1 || true
  fi
  if [ ! -f "$out/results.json" ]; then
    echo "seed $seed: stopped before finishing (its last lines: $out.log)" >&2
    return 255
  fi
  echo "seed $seed: finished"
}
export -f train_seed
export data sizes runs

# SIGINT or SIGTERM to the script: every run checkpoints and stops. The sweep runs in the background so that the trap
# runs at once (bash runs a trap only after the foreground command ends).
seq "$first" "$last" | xargs -P "$parallel" -I{} bash -c 'train_seed {}' &
sweep=$!
trap 'pkill -INT -f "bin.js train lm .*$runs/lm-memnet-seed" || true' INT TERM
while kill -0 "$sweep" 2>/dev/null; do wait "$sweep" || true; done
# xargs gives up at once when a run stops early; the runs still going are waited for.
while pgrep -f "bin.js train lm .*$runs/lm-memnet-seed" >/dev/null; do sleep 5; done

dirs=()
for ((seed = first; seed <= last; seed++)); do
  [ -f "$runs/lm-memnet-seed$seed/results.json" ] && dirs+=("$runs/lm-memnet-seed$seed")
done
if [ "${#dirs[@]}" -eq 0 ]; then
  echo "lm-seeds: no run has finished yet; run the script again to continue them" >&2
  exit 1
fi
echo "finished runs: ${#dirs[@]} of $((last - first + 1))"
node scripts/lm-best-of-n.mjs --test "${dirs[@]}"
