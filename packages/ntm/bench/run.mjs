// pnpm bench: NTM training throughput (forward + backward + RMSProp update, sequences per second)
// on the copy task, Engram against a PyTorch NTM of the same architecture (bench/pytorch_ntm.py,
// Debian's python3-torch), in the same run. Rounds alternate Engram, PyTorch, Engram, PyTorch so
// a change in machine load hits both; each reported figure is the median of its rounds. Batch 1 runs on
// one thread each; batch 32 on every core each (Engram: `createNtmWorkers`, the batch's sequences split
// across worker threads; PyTorch: torch.set_num_threads, at the better of OpenBLAS threaded or not).
import { copyTask, sampleBatch } from '@engram/datasets';
import { RMSProp, Random, getDefaultBackend, parameterList } from '@engram/tensor';
import { availableParallelism } from 'node:os';
import { PYTHON, median, peerBlas, pytorchAvailable, runPeerAtBest } from '../../../scripts/pytorch-peer.mjs';
import { createNtm, defaultNtmConfig, trainBatch, trainBatchWith } from '../dist/index.js';
import { createNtmWorkers } from '../dist/workers.js';

const SECONDS = Number(process.env.ENGRAM_BENCH_SECONDS ?? 12);
const ROUNDS = 2;
const script = new URL('./pytorch_ntm.py', import.meta.url).pathname;

async function engramRate(batch, minLength, maxLength, threads) {
  const rng = new Random(1);
  const model = createNtm(defaultNtmConfig(9, 8), rng);
  const optimizer = new RMSProp(parameterList(model.params), 1e-4, { momentum: 0.9, decay: 0.95 });
  const workers = threads > 1 ? await createNtmWorkers(model, threads, batch) : null;
  const step = async () => {
    const sequences = sampleBatch(copyTask, rng, batch, { minLength, maxLength });
    if (workers) await trainBatchWith(model, optimizer, workers, sequences, { clipValue: 10 });
    else trainBatch(model, optimizer, sequences, { clipValue: 10 });
  };
  try {
    for (let i = 0; i < 3; i++) await step();
    let done = 0;
    const start = performance.now();
    while (performance.now() - start < SECONDS * 1000) {
      await step();
      done += batch;
    }
    return done / ((performance.now() - start) / 1000);
  } finally {
    await workers?.close();
  }
}

const pytorchRate = (batch, minLength, maxLength, threads) =>
  runPeerAtBest(script, [batch, minLength, maxLength, SECONDS, threads], threads, 'sequences_per_second');
const cores = availableParallelism();
const torchAvailable = pytorchAvailable();

console.log(`# @engram/ntm training throughput — ${new Date().toISOString()}`);
if (torchAvailable) console.log(peerBlas().line);
console.log(`engram: ${getDefaultBackend().description}, node ${process.version}; ${ROUNDS} rounds of ${SECONDS} s each, alternating`);
console.log('model: LSTM 100, memory 128 × 20, 1 read + 1 write head, RMSProp (lr 1e-4, momentum 0.9), copy task\n');
if (!torchAvailable) console.log(`!! PyTorch peer unavailable (${PYTHON} with torch): install Debian's python3-torch; printing Engram alone\n`);
console.log('| setting | engram seq/s | pytorch seq/s | engram / pytorch |');
console.log('|---|---|---|---|');
for (const [batch, minLength, maxLength, threads] of [
  [1, 1, 20, 1],
  [32, 10, 10, cores],
  [32, 20, 20, cores],
]) {
  const engram = [];
  const torch = [];
  let info = null;
  for (let r = 0; r < ROUNDS; r++) {
    engram.push(await engramRate(batch, minLength, maxLength, threads));
    if (torchAvailable) {
      info = pytorchRate(batch, minLength, maxLength, threads);
      torch.push(info.sequences_per_second);
    }
  }
  const e = median(engram);
  const t = torchAvailable ? median(torch) : Number.NaN;
  const each = threads === 1 ? '1 thread each' : `${threads} threads each`;
  const setting = `batch ${batch}, length ${minLength === maxLength ? minLength : `${minLength}..${maxLength}`}, ${each}`;
  console.log(
    `| ${setting} | ${e.toFixed(1)} | ${torchAvailable ? `${t.toFixed(1)} (torch ${info.torch}${info.setting ? `, ${info.setting}` : ''})` : '–'} | ${torchAvailable ? `${(e / t).toFixed(2)}×` : '–'} |`,
  );
}
