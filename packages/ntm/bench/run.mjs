// pnpm bench: NTM training throughput (forward + backward + RMSProp update, sequences per second)
// on the copy task, Engram against a PyTorch NTM of the same architecture (bench/pytorch_ntm.py,
// Debian's python3-torch), in the same run. Rounds alternate Engram, PyTorch, Engram, PyTorch so
// a change in machine load hits both; each reported figure is the median of its rounds.
import { copyTask, sampleBatch } from '@engram/datasets';
import { RMSProp, Random, getDefaultBackend, parameterList } from '@engram/tensor';
import { PYTHON, median, pytorchAvailable, runPeer } from '../../../scripts/pytorch-peer.mjs';
import { createNtm, defaultNtmConfig, trainBatch } from '../dist/index.js';

const SECONDS = Number(process.env.ENGRAM_BENCH_SECONDS ?? 12);
const ROUNDS = 2;
const script = new URL('./pytorch_ntm.py', import.meta.url).pathname;

function engramRate(batch, minLength, maxLength) {
  const rng = new Random(1);
  const model = createNtm(defaultNtmConfig(9, 8), rng);
  const optimizer = new RMSProp(parameterList(model.params), 1e-4, { momentum: 0.9, decay: 0.95 });
  const step = () => trainBatch(model, optimizer, sampleBatch(copyTask, rng, batch, { minLength, maxLength }), { clipValue: 10 });
  for (let i = 0; i < 3; i++) step();
  let done = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    step();
    done += batch;
  }
  return done / ((performance.now() - start) / 1000);
}

const pytorchRate = (batch, minLength, maxLength) => runPeer(script, [batch, minLength, maxLength, SECONDS]);
const torchAvailable = pytorchAvailable();

console.log(`# @engram/ntm training throughput — ${new Date().toISOString()}`);
console.log(`engram: ${getDefaultBackend().description}, node ${process.version}; ${ROUNDS} rounds of ${SECONDS} s each, alternating`);
console.log('model: LSTM 100, memory 128 × 20, 1 read + 1 write head, RMSProp (lr 1e-4, momentum 0.9), copy task\n');
if (!torchAvailable) console.log(`!! PyTorch peer unavailable (${PYTHON} with torch): install Debian's python3-torch; printing Engram alone\n`);
console.log('| setting | engram seq/s | pytorch seq/s | engram / pytorch |');
console.log('|---|---|---|---|');
for (const [batch, minLength, maxLength] of [
  [1, 1, 20],
  [32, 10, 10],
  [32, 20, 20],
]) {
  const engram = [];
  const torch = [];
  let info = null;
  for (let r = 0; r < ROUNDS; r++) {
    engram.push(engramRate(batch, minLength, maxLength));
    if (torchAvailable) {
      info = pytorchRate(batch, minLength, maxLength);
      torch.push(info.sequences_per_second);
    }
  }
  const e = median(engram);
  const t = torchAvailable ? median(torch) : Number.NaN;
  const setting = `batch ${batch}, length ${minLength === maxLength ? minLength : `${minLength}..${maxLength}`}`;
  console.log(
    `| ${setting} | ${e.toFixed(1)} | ${torchAvailable ? `${t.toFixed(1)} (torch ${info.torch}, ${info.threads} thread${info.threads > 1 ? 's' : ''})` : '–'} | ${torchAvailable ? `${(e / t).toFixed(2)}×` : '–'} |`,
  );
}
