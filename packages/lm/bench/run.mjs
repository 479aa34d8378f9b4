// pnpm bench: training speed of Zaremba et al.'s `small` LSTM language model (2 × 200, 10,000 words, batch 20,
// unroll 20, SGD, gradient norm ≤ 5) on Penn Treebank, Engram against a PyTorch model of the same shape
// (bench/pytorch_lstm_lm.py, Debian's python3-torch; `scripts/setup.sh --bench` installs it with OpenBLAS), in one
// run, both on the same word ids, one thread each and then every core each (Engram: `createLmWorkers`, the
// window's streams split across worker threads; PyTorch: torch.set_num_threads), rounds alternating. Then the
// neural cache's cost per word.
// Set ENGRAM_PTB to the folder with ptb.*.txt (default ../shared/data/ptb).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random, SGD, getDefaultBackend, parameterList } from '@engram/tensor';
import { PYTHON, median, peerBlas, pytorchAvailable, runPeerAtBest } from '../../../scripts/pytorch-peer.mjs';
import { LM_RECIPES, cacheGrid, createLm, initialLmState, loadPtbCorpus, runText, toStreams, trainWindow, trainWindowWith, windowAt } from '../dist/index.js';
import { createLmWorkers } from '../dist/workers.js';

const STEPS = Number(process.env.ENGRAM_BENCH_STEPS ?? 30);
const ROUNDS = 2;
const DATA = process.env.ENGRAM_PTB ?? new URL('../../../../shared/data/ptb', import.meta.url).pathname;
const script = new URL('./pytorch_lstm_lm.py', import.meta.url).pathname;
const recipe = LM_RECIPES.small;

const corpus = await loadPtbCorpus(DATA);
const ids = corpus.train.subarray(0, (STEPS + 4) * recipe.batch * recipe.unroll + recipe.batch);

async function engram(threads) {
  const model = createLm({ ...recipe.model, vocabularySize: corpus.vocabulary.size }, new Random(1));
  const optimizer = new SGD(parameterList(model.params), recipe.learningRate);
  const streams = toStreams(ids, recipe.batch);
  const workers = threads > 1 ? await createLmWorkers(model, threads, recipe.batch) : null;
  let state = initialLmState(model, recipe.batch);
  const run = async (from, count) => {
    for (let i = from; i < from + count; i++) {
      const w = windowAt(streams, i * recipe.unroll, recipe.unroll);
      const options = { maxGradNorm: recipe.maxGradNorm, step: i + 1 };
      state = workers
        ? (await trainWindowWith(model, optimizer, workers, state, w.inputs, w.targets, recipe.batch, options)).state
        : trainWindow(model, optimizer, state, w.inputs, w.targets, recipe.batch, options).state;
    }
  };
  try {
    await run(0, 3); // warm-up
    const start = performance.now();
    await run(3, STEPS);
    return (STEPS * recipe.batch * recipe.unroll) / ((performance.now() - start) / 1000);
  } finally {
    await workers?.close();
  }
}

const folder = mkdtempSync(join(tmpdir(), 'engram-lm-bench-'));
const idsFile = join(folder, 'ids.json');
writeFileSync(idsFile, JSON.stringify(Array.from(ids)));
const torchAvailable = pytorchAvailable();
let blasNote = '';
if (torchAvailable) {
  try {
    const libs = execFileSync('bash', ['-c', 'update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep ^Value'], {
      encoding: 'utf8',
    }).trim();
    blasNote = libs.replace('Value: ', '');
  } catch {
    blasNote = 'unknown';
  }
}

console.log(`# @engram/lm training speed — ${new Date().toISOString()}`);
if (torchAvailable) console.log(peerBlas().line);
console.log(`engram: ${getDefaultBackend().description}, node ${process.version}; ${ROUNDS} rounds of ${STEPS} windows of 20 × 20 words, alternating`);
if (!torchAvailable) console.log(`!! PyTorch peer unavailable (${PYTHON} with torch): run scripts/setup.sh --bench; printing Engram alone\n`);
else console.log(`pytorch: Debian's python3-torch, libblas.so.3 → ${blasNote} (OPENBLAS_CORETYPE ${process.env.OPENBLAS_CORETYPE ?? 'default'})\n`);
const cores = availableParallelism();
let info = null;
console.log('| model | engram words/s | pytorch words/s | engram / pytorch |\n|---|---|---|---|');
for (const threads of cores > 1 ? [1, cores] : [1]) {
  const ours = [];
  const theirs = [];
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(await engram(threads));
    if (torchAvailable) {
      // With several threads PyTorch gets the better of OpenBLAS threaded (its default) and OpenBLAS on one thread.
      info = runPeerAtBest(script, [idsFile, STEPS, threads], threads);
      theirs.push(info.tokens_per_second);
    }
  }
  const e = median(ours);
  const t = torchAvailable ? median(theirs) : Number.NaN;
  const each = threads === 1 ? '1 thread each' : `${threads} threads each (every core)`;
  console.log(
    `| LSTM LM small, ${each} | ${e.toFixed(0)} | ${torchAvailable ? `${t.toFixed(0)} (torch ${info.torch}, ${info.blas}${info.setting ? `, ${info.setting}` : ''})` : '–'} | ${torchAvailable ? `${(e / t).toFixed(2)}×` : '–'} |`,
  );
}

// The neural cache's cost per word, on an untrained model (the cost does not depend on the weights).
const model = createLm({ ...recipe.model, vocabularySize: corpus.vocabulary.size }, new Random(1));
const text = corpus.valid.subarray(0, 5001);
let start = performance.now();
const run = runText(model, text);
const modelMs = (performance.now() - start) / run.tokens;
console.log(`\n| what | ms per word |\n|---|---|\n| model alone, evaluation (batch 1) | ${modelMs.toFixed(3)} |`);
for (const size of [100, 500, 2000]) {
  start = performance.now();
  cacheGrid(run, { sizes: [size], thetas: [0.3], lambdas: [0.1] });
  console.log(`| neural cache of ${size}, one θ and λ | ${((performance.now() - start) / run.tokens).toFixed(3)} |`);
}
rmSync(folder, { recursive: true, force: true });
