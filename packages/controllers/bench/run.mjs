// pnpm bench: the fused LSTM cell against the same cell composed op by op, forward + backward,
// at the NTM controller's size (input 29 = 9 input bits + a 20-wide read vector, hidden 100).
import * as en from '@engram/tensor';
import { createLstm, initialLstmState, lstmSequence } from '../dist/index.js';

const MIN_TIME_MS = 300;
const REPEATS = 5;

function calibrate(fn) {
  for (let i = 0; i < 3; i++) fn();
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    if (performance.now() - t0 > MIN_TIME_MS / REPEATS) return n;
    n *= 2;
  }
}

/** Median µs per call for each function, with their batches interleaved. */
function timeInterleaved(...fns) {
  const counts = fns.map(calibrate);
  const samples = fns.map(() => []);
  for (let r = 0; r < REPEATS; r++) {
    fns.forEach((fn, j) => {
      const t0 = performance.now();
      for (let i = 0; i < counts[j]; i++) fn();
      samples[j].push(((performance.now() - t0) * 1000) / counts[j]);
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(REPEATS / 2)]);
}

const INPUT = 29;
const HIDDEN = 100;
const STEPS = 20;
console.log(`# @engram/controllers benchmark — ${new Date().toISOString()}`);
console.log(`${en.getDefaultBackend().description}; node ${process.version}\n`);
console.log(`## LSTM ${INPUT} → ${HIDDEN}, ${STEPS} steps forward + backward (BPTT), µs per time step (lower is better)`);
console.log('| batch | fused cell | op by op | speed-up |');
console.log('|---|---|---|---|');
for (const batch of [1, 32]) {
  const rng = new en.Random(1);
  const lstm = createLstm(INPUT, HIDDEN, rng);
  const xs = Array.from({ length: STEPS }, () => en.randomNormal([batch, INPUT], rng));
  const params = en.parameterList(lstm);
  const run = (fused) => () => {
    const { outputs } = lstmSequence(lstm, initialLstmState(lstm, batch), xs, { fused });
    en.sum(en.concat(outputs, 1)).backward();
    for (const p of params) p.grad = null;
  };
  const [fused, composed] = timeInterleaved(run(true), run(false));
  console.log(`| ${batch} | ${(fused / STEPS).toFixed(1)} | ${(composed / STEPS).toFixed(1)} | ${(composed / fused).toFixed(2)}× |`);
}
