// The learning curves of docs/results/lm.md: validation perplexity after each epoch, for the memory network (seeds 1
// and 2), the LSTM `small` (seeds 1 and 2) and the hops sweep at memory 100 (scripts/lm-hops-results.sh's runs, where
// they are), drawn with the CLI's chart (run `pnpm build` first).
// Usage: node scripts/lm-figures.mjs [RUNS (default runs)]
// Every curve starts from the values lm.md recorded from the runs' epochs.csv while they existed (the run folders are
// git-ignored and were lost with machine changes: seed 1's first 22 epochs, its continuation from epoch 18's weights,
// seed 2's first 19 epochs, the LSTM runs, the hops sweep's first four epochs). Where a run's folder exists under RUNS
// (lm-memnet-from-18, lm-memnet-seed2, lm-hops-H) with more epochs than were recorded, the epochs after the recorded
// ones are taken from it: a run restarted from step 0 with the same seed gives the same numbers.
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
  // lm.md: runs/lm-memnet-from-18 (seed 1 continued from epoch 18's weights), its epochs 1–18 (seed 1's 19–36).
  memnetFrom18: [122.85, 124.41, 122.41, 123.86, 122.3, 122.6, 120.69, 120.32, 121.52, 120.73, 121.36, 120.46, 120.32, 120.13, 121.28, 120.72, 120.66, 120.74],
  // lm.md: runs/lm-memnet-seed2, epochs 1–19.
  memnetSeed2: [
    445.12, 268.86, 213.73, 192.71, 174.69, 158.36, 160.06, 143.62, 139.64, 136.79, 136.42, 133.82, 133.52, 132.47, 130.65, 128.89, 129.23, 123.54, 126.35,
  ],
  // lm.md, "Hops at memory 100": runs/lm-hops-H (seed 1, memory 100), epochs 1–4 (hops 7's 3 and 4 from its rerun).
  hops: {
    2: [319.18, 246.78, 205.98, 198.55],
    3: [325.52, 245.76, 200.73, 191.79],
    4: [336.57, 254.47, 196.35, 182.53],
    5: [352.0, 243.09, 199.77, 185.51],
    6: [379.29, 256.55, 200.14, 184.32],
    7: [394.93, 265.03, 209.0, 191.84],
  },
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

/** The recorded values, then the run's epochs after them where its folder has more. */
const recordedThenRun = (recorded, dir) => [...recorded, ...validation(dir).slice(recorded.length)];

/** (epoch, value) pairs from `from` on (the memory network's first two epochs, 445–451 and 269–275, would flatten the rest). */
const points = (values, firstEpoch = 1, from = 1) => values.map((v, i) => [firstEpoch + i, v]).filter(([epoch]) => epoch >= from);

const continued = recordedThenRun(RECORDED.memnetFrom18, 'lm-memnet-from-18');
const seed2 = recordedThenRun(RECORDED.memnetSeed2, 'lm-memnet-seed2');
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
const written = [join(figures, 'memnet-lm-validation.svg'), join(figures, 'lstm-small-validation.svg')];

// The hops sweep (memory 100, seed 1): each hop count's validation so far, the colours running from few hops to many;
// drawn once every run of the sweep has at least four epochs (fewer say nothing a table does not).
const HOP_COLOURS = { 2: '#9ecae1', 3: '#6baed6', 4: '#4292c6', 5: '#2171b5', 6: '#08519c', 7: '#08306b' };
const sweep = Object.entries(HOP_COLOURS)
  .map(([hops, color]) => ({ hops, color, values: recordedThenRun(RECORDED.hops[hops], `lm-hops-${hops}`) }))
  .filter((run) => run.values.length > 0);
if (sweep.length === Object.keys(HOP_COLOURS).length && Math.min(...sweep.map((run) => run.values.length)) >= 4) {
  const hops = lineChart(
    'MemN2N LM, memory 100: validation perplexity by epoch for 2–7 hops (from epoch 2)',
    'epoch',
    'validation perplexity',
    // From epoch 2: the first epoch's 319–395 would flatten the differences that matter later.
    sweep.map((run) => ({ label: `${run.hops} hops (epochs 1–${run.values.length})`, color: run.color, points: points(run.values, 1, 2) })),
    { logY: false, yMin: 170, xMin: 1, legend: 'top-right' },
  );
  writeFileSync(join(figures, 'memnet-lm-hops-validation.svg'), hops);
  written.push(join(figures, 'memnet-lm-hops-validation.svg'));
}
console.log(`figures: ${written.join(', ')}`);
