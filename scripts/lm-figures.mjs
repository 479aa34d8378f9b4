// The learning curves of docs/results/lm.md: validation perplexity after each epoch, for the memory network (seeds 1
// and 2) and the LSTM `small` (seeds 1 and 2), drawn with the CLI's chart (run `pnpm build` first).
// Usage: node scripts/lm-figures.mjs [RUNS (default runs)]
// Reads RUNS/lm-memnet-from-18/epochs.csv (seed 1 continued from epoch 18's weights; its epochs counted on from 18) and
// RUNS/lm-memnet-seed2/epochs.csv where they exist. The runs whose folders were lost with a machine change (seed 1's
// first 22 epochs, both LSTM runs) are drawn from the values lm.md recorded from their epochs.csv while they existed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from '../apps/cli/dist/svg.js';

const runs = process.argv[2] ?? 'runs';
const figures = new URL('../docs/results/figures/', import.meta.url).pathname;

/** Validation perplexity by epoch (1, 2, …) as recorded in lm.md. */
const RECORDED = {
  // lm.md, "The memory network as a language model": runs/lm-memnet, epochs 1–22 (epoch 22's training perplexity was
  // not recorded; its validation was).
  memnetSeed1: [
    450.57, 275.09, 217.47, 195.03, 177.21, 167.27, 158.3, 148.61, 146.21, 145.87, 138.5, 137.34, 135.35, 134.02, 138.46, 129.39, 131.29, 122.79, 123.88,
    120.51, 122.19, 121.16,
  ],
  // lm.md, "LSTM small": runs/lm-small (seed 1) and runs/lm-small-seed2.
  lstmSeed1: [178.55, 142.45, 131.63, 128.13, 119.35, 118.68, 119.91, 120.94, 121.18, 120.95, 120.55, 120.2, 120.0],
  lstmSeed2: [181.77, 144.45, 133.37, 129.13, 119.7, 118.68, 119.45, 119.97, 120.15, 120.02, 119.77, 119.52, 119.37],
};

/** Validation perplexity by epoch from a run's epochs.csv, or [] without the run. */
function validation(dir) {
  const file = join(runs, dir, 'epochs.csv');
  if (!existsSync(file)) return [];
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const column = header.split(',').indexOf('valid_perplexity');
  return lines.map((line) => Number(line.split(',')[column]));
}

/** (epoch, value) pairs from `from` on (the memory network's first two epochs, 445–451 and 269–275, would flatten the rest). */
const points = (values, firstEpoch = 1, from = 1) => values.map((v, i) => [firstEpoch + i, v]).filter(([epoch]) => epoch >= from);

const continued = validation('lm-memnet-from-18');
const seed2 = validation('lm-memnet-seed2');
const memnet = lineChart(
  'MemN2N LM, 7 hops, memory 200: validation perplexity by epoch (from epoch 3)',
  'epoch',
  'validation perplexity',
  [
    { label: 'seed 1, epochs 1–22 (the first run)', color: '#1f77b4', points: points(RECORDED.memnetSeed1, 1, 3) },
    { label: `seed 1 continued from epoch 18's weights (epochs 19–${18 + continued.length})`, color: '#17becf', points: points(continued, 19) },
    { label: `seed 2 (epochs 1–${seed2.length})`, color: '#d62728', points: points(seed2, 1, 3) },
  ],
  { logY: false, yMin: 100, legend: 'top-right' },
);
writeFileSync(join(figures, 'memnet-lm-validation.svg'), memnet);

const lstm = lineChart(
  'LSTM small on Penn Treebank: validation after each epoch',
  'epoch',
  'validation perplexity',
  [
    { label: 'seed 1', color: '#1f77b4', points: points(RECORDED.lstmSeed1) },
    { label: 'seed 2', color: '#d62728', points: points(RECORDED.lstmSeed2) },
  ],
  { logY: false, yMin: 100, legend: 'top-right' },
);
writeFileSync(join(figures, 'lstm-small-validation.svg'), lstm);
console.log(`figures: ${join(figures, 'memnet-lm-validation.svg')}, ${join(figures, 'lstm-small-validation.svg')}`);
