#!/usr/bin/env bash
# docs/results/lm.md's hops table (Sukhbaatar et al. 2015, Table 2, the Penn Treebank rows at memory 100): the MemN2N
# language model with 2..7 hops, memory 100, embedding 150, seed 1, the paper's recipe (engram train lm --model memnet),
# one thread each, trained round-robin STEP epochs at a time: no run starts epoch E + 1 before every run has finished
# epoch E, so wherever the script is stopped the six runs compare at equal training. A run's folder is
# runs/lm-hops-H; one with a checkpoint is resumed with --epochs raised; one that stopped because η fell below 1e-5
# (before its epoch cap) is done. Safe to stop at any time (Ctrl-C checkpoints the run in progress) and to rerun.
# Then prints the table (validation perplexity after each STEPth epoch; test perplexity of each run's best epoch,
# over the words with a full memory, once a run has stopped by the paper's rule).
# Usage: scripts/lm-hops-results.sh [UP_TO_EPOCHS (default 100)] [STEP (default 2)] [PARALLEL (default 1)]; PARALLEL
# runs of a round train at once, one thread each (6 on a machine with six free cores: the whole sweep in the time of
# its slowest run). ENGRAM_PTB names the folder with ptb.*.txt (default ../shared/data/ptb); ENGRAM_HOPS the hop counts
# to train (default all six).
set -euo pipefail
cd "$(dirname "$0")/.."
up_to="${1:-100}"
step="${2:-2}"
parallel="${3:-1}"
for n in "$up_to" "$step" "$parallel"; do
  [[ "$n" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "lm-hops-results: '$n' is not a whole number from 1 to 9999" >&2; exit 2; }
done
data="${ENGRAM_PTB:-../shared/data/ptb}"
hops=(2 3 4 5 6 7)
# ENGRAM_HOPS="4 5 6 7" trains only those (a sweep restarted on a new machine); the table still shows all six.
read -r -a train_hops <<<"${ENGRAM_HOPS:-${hops[*]}}"
pnpm build >/dev/null

# Epochs a run has finished (0 without a run).
epochs_done() {
  [ -f "$1/epochs.csv" ] && echo $(($(wc -l <"$1/epochs.csv") - 1)) || echo 0
}
# Whether a run stopped by the paper's rule (η < 1e-5) rather than at the epoch cap it was given: `engram train lm`
# says so in results.json (`stoppedByRule`) when a run ends. A results.json left by a lower cap says false, so a run
# resumed past it, and perhaps stopped since, is resumed again.
stopped_by_rule() {
  [ -f "$1/results.json" ] && node -e '
    const results = JSON.parse(require("fs").readFileSync(process.argv[1] + "/results.json", "utf8"));
    process.exit(results.stoppedByRule === true ? 0 : 1);' "$1"
}

# One run's share of a round: up to TARGET epochs, unless it has them or stopped by the paper's rule.
train_to() {
  local h="$1" target="$2" out="runs/lm-hops-$1"
  [ "$(epochs_done "$out")" -ge "$target" ] && return 0
  stopped_by_rule "$out" && return 0
  if [ -f "$out/checkpoint.safetensors" ]; then
    node apps/cli/dist/bin.js train lm --out "$out" --resume --epochs "$target"
  else
    node apps/cli/dist/bin.js train lm --model memnet --hops "$h" --memory 100 --embedding 150 --threads 1 \
      --data "$data" --epochs "$target" --out "$out"
  fi
}
export -f train_to epochs_done stopped_by_rule
export data

for ((target = step; target <= up_to; target += step)); do
  printf '%s\n' "${train_hops[@]}" | xargs -P "$parallel" -I{} bash -c "train_to {} $target"
done

node -e '
const fs = require("fs");
const [step, ...hops] = process.argv.slice(1).map(Number);
const rows = hops.map((h) => {
  const dir = `runs/lm-hops-${h}`;
  const epochs = fs.existsSync(`${dir}/epochs.csv`)
    ? fs.readFileSync(`${dir}/epochs.csv`, "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[3]))
    : [];
  return { h, dir, epochs };
});
const longest = Math.max(0, ...rows.map((r) => r.epochs.length));
const shown = [];
for (let e = step; e <= longest; e += step) shown.push(e);
console.log(`| hops | ${shown.map((e) => `valid. after ${e}`).join(" | ")} | test (best epoch, full memory) |`);
console.log(`|---|${shown.map(() => "---").join("|")}|---|`);
for (const { h, dir, epochs } of rows) {
  const results = fs.existsSync(`${dir}/results.json`) ? JSON.parse(fs.readFileSync(`${dir}/results.json`, "utf8")) : null;
  const done = results?.stoppedByRule === true;
  const test = done ? `${results.best.testPerplexityFullMemory.toFixed(2)} (epoch ${results.best.epoch})` : "still training";
  console.log(`| ${h} | ${shown.map((e) => (epochs[e - 1] === undefined ? "–" : epochs[e - 1].toFixed(2))).join(" | ")} | ${test} |`);
}
' "$step" "${hops[@]}"
