// pnpm bench: DNC training throughput (forward + backward + RMSProp update, sequences per second) on
// deepmind/dnc's repeat-copy setting (LSTM 64, memory 16 × 16, 4 read heads, 1 write head, batch 16,
// 4-bit vectors), Engram against a PyTorch DNC of the same architecture (bench/pytorch_dnc.py, Debian's
// python3-torch) in the same run, on batches of the same shape. Rounds alternate Engram, PyTorch, …;
// each figure is the median of its rounds. Set ENGRAM_BENCH_SECONDS to change the round length.
import { algorithmicTask, sampleBatch } from '@engram/datasets';
import { ntmOptimizer, trainBatch } from '@engram/ntm';
import { Random, countParameters, getDefaultBackend } from '@engram/tensor';
import { PYTHON, median, peerBlas, pytorchAvailable, runPeer } from '../../../scripts/pytorch-peer.mjs';
import { DNC_RECIPE, createDnc, defaultDncConfig, dncRecurrent } from '../dist/index.js';

const SECONDS = Number(process.env.ENGRAM_BENCH_SECONDS ?? 10);
const ROUNDS = 2;
const script = new URL('./pytorch_dnc.py', import.meta.url).pathname;
const task = algorithmicTask('repeat-copy');
// Fixed-shape batches (length 2, 2 repeats) so both sides do the same work per sequence.
const taskOptions = { width: 4, minLength: 2, maxLength: 2, minRepeats: 2, maxRepeats: 2 };
const shape = sampleBatch(task, new Random(0), DNC_RECIPE.batch, taskOptions);
const scored = Array.from({ length: shape.steps }, (_, t) => shape.mask.subarray(t * shape.batch, (t + 1) * shape.batch).some((m) => m > 0)).filter(
  Boolean,
).length;

function engramRate() {
  const rng = new Random(1);
  const model = createDnc(defaultDncConfig(shape.inputWidth, shape.outputWidth), rng);
  const recurrent = dncRecurrent(model);
  const optimizer = ntmOptimizer(recurrent, DNC_RECIPE);
  const step = () => trainBatch(recurrent, optimizer, sampleBatch(task, rng, DNC_RECIPE.batch, taskOptions), { clipNorm: DNC_RECIPE.clipNorm });
  for (let i = 0; i < 3; i++) step();
  let done = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    step();
    done += DNC_RECIPE.batch;
  }
  return { rate: done / ((performance.now() - start) / 1000), parameters: countParameters(model.params) };
}

const torchAvailable = pytorchAvailable();
console.log(`\n# @engram/dnc training throughput — ${new Date().toISOString()}`);
if (torchAvailable) console.log(peerBlas().line);
console.log(`engram: ${getDefaultBackend().description}, node ${process.version}; ${ROUNDS} rounds of ${SECONDS} s each, alternating`);
console.log(
  `model: LSTM 64, memory 16 × 16, 4 read + 1 write heads, RMSProp 1e-4 (ε 1e-10), norm clip 50; repeat copy, batch ${shape.batch}, ${shape.steps} steps (${scored} scored), in ${shape.inputWidth}, out ${shape.outputWidth}\n`,
);
if (!torchAvailable) console.log(`!! PyTorch peer unavailable (${PYTHON} with torch): run scripts/setup.sh --bench; printing Engram alone\n`);
console.log('| engram seq/s | pytorch seq/s (1 thread) | engram / pytorch | parameters (engram, pytorch) |');
console.log('|---|---|---|---|');
const ours = [];
const theirs = [];
let info = null;
let parameters = 0;
for (let r = 0; r < ROUNDS; r++) {
  const e = engramRate();
  ours.push(e.rate);
  parameters = e.parameters;
  if (torchAvailable) {
    info = runPeer(script, [shape.batch, shape.steps, shape.inputWidth, shape.outputWidth, scored, SECONDS, 1]);
    theirs.push(info.sequences_per_second);
  }
}
const e = median(ours);
const t = torchAvailable ? median(theirs) : Number.NaN;
console.log(
  `| ${e.toFixed(1)} | ${torchAvailable ? `${t.toFixed(1)} (torch ${info.torch})` : '–'} | ${torchAvailable ? `${(e / t).toFixed(2)}×` : '–'} | ${parameters}, ${info?.parameters ?? '–'} |`,
);
