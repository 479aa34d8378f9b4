// pnpm bench: the fused LSTM cell against the same cell composed op by op, forward + backward,
// at the NTM controller's size (input 29 = 9 input bits + a 20-wide read vector, hidden 100).
import { timeInterleaved as timeTogether } from '@engram/tensor/testing';
import * as en from '@engram/tensor';
import { createLstm, initialLstmState, lstmSequence } from '../dist/index.js';

const MIN_TIME_MS = 300;
const REPEATS = 5;

const timeInterleaved = (...fns) => timeTogether(fns, { repeats: REPEATS, batchMs: MIN_TIME_MS / REPEATS });

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
