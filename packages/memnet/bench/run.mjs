// pnpm bench: MemN2N training speed (epochs per second) on bAbI task 1 (1k; 900 training questions,
// 3 hops, embedding 20, batch 32, memory min(50, longest story) = 10 slots, adjacent tying, position + temporal encoding), Engram against a
// PyTorch MemN2N of the same shape (bench/pytorch_memn2n.py, Debian's python3-torch), in one run.
// Both train on the same encoded batches (one epoch, written to a JSON file for PyTorch); Engram is
// also timed through trainMemnet, which re-encodes every batch with fresh time noise. Rounds
// alternate Engram, PyTorch, Engram, PyTorch; each figure is the median of its rounds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vocabulary, loadBabiTask } from '@engram/datasets';
import { Random, SGD, getDefaultBackend, parameterList } from '@engram/tensor';
import { PYTHON, median, peerBlas, pytorchAvailable, runPeer } from '../../../scripts/pytorch-peer.mjs';
import { PER_TASK_SCHEDULE, createMemnet, defaultMemnetConfig, embeddingRows, encodeBatch, longestSentence, trainMemnet, trainStep } from '../dist/index.js';

const EPOCHS = Number(process.env.ENGRAM_BENCH_EPOCHS ?? 40);
const ROUNDS = 2;
const DATA = process.env.ENGRAM_BABI ?? new URL('../../../../shared/data/babi/en', import.meta.url).pathname;
const script = new URL('./pytorch_memn2n.py', import.meta.url).pathname;

const train = (await loadBabiTask(DATA, 1, 'train')).slice(0, 900);
const vocabulary = Vocabulary.fromExamples(train);
// As engram train memnet and the official code: memory of min(50, the longest training story) slots.
const config = defaultMemnetConfig(vocabulary.size, {
  memorySize: Math.min(50, Math.max(...train.map((e) => e.story.length))),
  sentenceLength: longestSentence(train) + 1,
});
const rng = new Random(1);
const batches = [];
for (let start = 0; start < train.length; start += 32) batches.push(encodeBatch(train.slice(start, start + 32), vocabulary, config, { timeNoise: 0.1, rng }));

function engramEncoded() {
  const model = createMemnet(config, new Random(1));
  const optimizer = new SGD(parameterList(model.params), 0.005);
  let step = 0;
  const epoch = () => {
    for (const batch of batches) trainStep(model, optimizer, batch, { linear: false, maxGradNorm: 40, step: ++step });
  };
  epoch();
  const start = performance.now();
  for (let e = 0; e < EPOCHS; e++) epoch();
  return EPOCHS / ((performance.now() - start) / 1000);
}

async function engramTrainer() {
  const model = createMemnet(config, new Random(1));
  const schedule = { ...PER_TASK_SCHEDULE, linearStartEpochs: 0, epochs: EPOCHS + 1 };
  let start = 0;
  await trainMemnet(model, train, vocabulary, {
    schedule,
    seed: 1,
    onEpoch: (report) => {
      if (report.epoch === 0) start = performance.now();
      return undefined;
    },
  });
  return EPOCHS / ((performance.now() - start) / 1000);
}

const folder = mkdtempSync(join(tmpdir(), 'engram-memnet-bench-'));
const batchFile = join(folder, 'batches.json');
writeFileSync(
  batchFile,
  JSON.stringify({
    rows: embeddingRows(config),
    vocabulary: vocabulary.size,
    embedding: config.embeddingSize,
    hops: config.hops,
    batches: batches.map((b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v) : v]))),
  }),
);
const torchAvailable = pytorchAvailable();
const pytorch = () => runPeer(script, [batchFile, EPOCHS]);

console.log(`# @engram/memnet training speed — ${new Date().toISOString()}`);
if (torchAvailable) console.log(peerBlas().line);
console.log(`engram: ${getDefaultBackend().description}, node ${process.version}; ${ROUNDS} rounds of ${EPOCHS} epochs, alternating`);
console.log(
  `bAbI task 1 (1k), 900 training questions = 29 batches of ≤ 32; 3 hops, d = 20, memory ${config.memorySize} slots (min(50, longest story), as the official code), SGD, gradient norm ≤ 40 per matrix\n`,
);
if (!torchAvailable) console.log(`!! PyTorch peer unavailable (${PYTHON} with torch): install Debian's python3-torch; printing Engram alone\n`);
const encoded = [];
const trainer = [];
const torch = [];
let info = null;
for (let r = 0; r < ROUNDS; r++) {
  encoded.push(engramEncoded());
  trainer.push(await engramTrainer());
  if (torchAvailable) {
    info = pytorch();
    torch.push(info.epochs_per_second);
  }
}
const t = torchAvailable ? median(torch) : Number.NaN;
console.log('| what is timed | engram epochs/s | pytorch epochs/s | engram / pytorch |');
console.log('|---|---|---|---|');
const row = (label, e) =>
  console.log(
    `| ${label} | ${e.toFixed(1)} | ${torchAvailable ? `${t.toFixed(1)} (torch, ${info.threads} thread${info.threads > 1 ? 's' : ''})` : '–'} | ${torchAvailable ? `${(e / t).toFixed(2)}×` : '–'} |`,
  );
row('same pre-encoded batches (forward, backward, clip, SGD)', median(encoded));
row('engram trainMemnet epoch (shuffle, encode with time noise, train)', median(trainer));
rmSync(folder, { recursive: true, force: true });
