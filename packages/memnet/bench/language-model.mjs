// pnpm bench (second part): training speed of the MemN2N language model (Sukhbaatar et al. 2015 §5: d = 150,
// 7 hops, memory of 200 words, batch 128) on Penn Treebank, Engram against a PyTorch model of the same shape
// (bench/pytorch_memn2n_lm.py) on the same positions of the same word ids, rounds alternating; one thread each,
// then both with every core (Engram: createMemnetLmWorkers, one worker thread per core beyond the first).
// Set ENGRAM_PTB to the folder with ptb.*.txt (default ../shared/data/ptb).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LM_RECIPES, cacheGrid, createLm, loadPtbCorpus, runText } from '@engram/lm';
import { Random, SGD, getDefaultBackend, normClipScale, parameterList } from '@engram/tensor';
import { PYTHON, median, peerBlas, pytorchAvailable, runPeer, runPeerAtBest } from '../../../scripts/pytorch-peer.mjs';
import { MEMNET_LM_RECIPE, createMemnet, createMemnetLmStep, evaluateMemnetLm, memnetLmConfig } from '../dist/index.js';
import { createMemnetLmWorkers } from '../dist/workers.js';

const STEPS = Number(process.env.ENGRAM_BENCH_STEPS ?? 10);
const ROUNDS = 2;
const DATA = process.env.ENGRAM_PTB ?? new URL('../../../../shared/data/ptb', import.meta.url).pathname;
const script = new URL('./pytorch_memn2n_lm.py', import.meta.url).pathname;
const B = MEMNET_LM_RECIPE.batch;

const corpus = await loadPtbCorpus(DATA);
const config = memnetLmConfig(corpus.vocabulary.size);
const rng = new Random(5);
const positions = Int32Array.from({ length: (STEPS + 2) * B }, () => rng.int(config.memorySize, corpus.train.length - 1));

async function engram(threads) {
  const model = createMemnet(config, new Random(1));
  const params = parameterList(model.params);
  const optimizer = new SGD(params, MEMNET_LM_RECIPE.learningRate);
  const workers = threads > 1 ? await createMemnetLmWorkers(model, corpus.train, threads) : null;
  // As training does: on one thread its step (the whole-step kernel where the backend has it); on several, the
  // workers, with the norm and the SGD step shared among them.
  const local = workers ? null : createMemnetLmStep(model, optimizer);
  const train = async (first, count) => {
    for (let i = first; i < first + count; i++) {
      const at = positions.subarray(i * B, (i + 1) * B);
      if (local) local(corpus.train, at);
      else {
        optimizer.zeroGrad();
        await workers.compute(model, corpus.train, at);
        await workers.step(optimizer, { gradientScale: normClipScale(workers.gradientNorm(), MEMNET_LM_RECIPE.maxGradNorm) });
      }
    }
  };
  await train(0, 2);
  const start = performance.now();
  await train(2, STEPS);
  const rate = (STEPS * B) / ((performance.now() - start) / 1000);
  await workers?.close();
  return rate;
}

const folder = mkdtempSync(join(tmpdir(), 'engram-memnet-lm-bench-'));
const idsFile = join(folder, 'ids.json');
const positionsFile = join(folder, 'positions.json');
writeFileSync(idsFile, JSON.stringify(Array.from(corpus.train)));
writeFileSync(positionsFile, JSON.stringify(Array.from(positions)));
const torchAvailable = pytorchAvailable();
const cores = availableParallelism();
console.log(`\n# @engram/memnet language-model training speed — ${new Date().toISOString()}`);
if (torchAvailable) console.log(peerBlas().line);
console.log(
  `MemN2N LM, PTB (${corpus.vocabulary.size} words), d = ${config.embeddingSize}, ${config.hops} hops, memory ${config.memorySize}, batch ${B}; ${ROUNDS} rounds of ${STEPS} steps, alternating`,
);
if (!torchAvailable) console.log(`!! PyTorch peer unavailable (${PYTHON} with torch): run scripts/setup.sh --bench; printing Engram alone`);
const ours = [];
const oursAll = [];
const one = [];
const all = [];
let info = null;
let allSetting = '';
for (let r = 0; r < ROUNDS; r++) {
  ours.push(await engram(1));
  if (cores > 1) oursAll.push(await engram(cores));
  if (torchAvailable) {
    info = runPeer(script, [idsFile, positionsFile, STEPS, 1, corpus.vocabulary.size]);
    one.push(info.tokens_per_second);
    // PyTorch on every core gets the better of OpenBLAS threaded (its default) and OpenBLAS on one thread.
    const best = runPeerAtBest(script, [idsFile, positionsFile, STEPS, cores, corpus.vocabulary.size], cores);
    allSetting = best.setting;
    all.push(best.tokens_per_second);
  }
}
console.log('| engram | pytorch | engram words/s | pytorch words/s | engram / pytorch |\n|---|---|---|---|---|');
const row = (ourThreads, e, threads, t) =>
  console.log(
    `| ${ourThreads} (${getDefaultBackend().description}) | ${threads} | ${e.toFixed(0)} | ${torchAvailable ? `${t.toFixed(0)} (torch ${info.torch})` : '–'} | ${torchAvailable ? `${(e / t).toFixed(2)}×` : '–'} |`,
  );
row('1 thread', median(ours), '1 thread', torchAvailable ? median(one) : Number.NaN);
if (cores > 1) row(`${cores} threads`, median(oursAll), `${cores} threads${allSetting ? `, ${allSetting}` : ''}`, torchAvailable ? median(all) : Number.NaN);
rmSync(folder, { recursive: true, force: true });

// What each memory costs a word at evaluation, on the same 5,000 validation words, one thread (the weights do not
// change the cost): the LSTM LM `small` alone (batch 1, one stream), its neural cache of 2,000 on top, and this model
// (7 hops over the 200 words before each position, positions in batches of 256).
const text = corpus.valid.subarray(0, 5001);
const lstm = createLm({ ...LM_RECIPES.small.model, vocabularySize: corpus.vocabulary.size }, new Random(1));
const memnet = createMemnet(config, new Random(1));
const costs = { lstm: [], cache: [], memnet: [] };
for (let r = 0; r < ROUNDS; r++) {
  let start = performance.now();
  const lstmRun = runText(lstm, text);
  costs.lstm.push((performance.now() - start) / lstmRun.tokens);
  start = performance.now();
  cacheGrid(lstmRun, { sizes: [2000], thetas: [0.3], lambdas: [0.1] });
  costs.cache.push((performance.now() - start) / lstmRun.tokens);
  start = performance.now();
  const evaluated = evaluateMemnetLm(memnet, text);
  costs.memnet.push((performance.now() - start) / evaluated.tokens);
}
console.log('\n| evaluation, one thread | ms per word |\n|---|---|');
console.log(`| LSTM LM small (batch 1) | ${median(costs.lstm).toFixed(3)} |`);
console.log(`| its neural cache of 2,000, on top | ${median(costs.cache).toFixed(3)} |`);
console.log(`| MemN2N LM, ${config.hops} hops over ${config.memorySize} words (positions in batches of 256) | ${median(costs.memnet).toFixed(3)} |`);
