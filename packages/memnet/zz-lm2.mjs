import { loadPtbCorpus } from '@engram/lm';
import { Random, SGD, gradientNorm, normClipScale, parameterList, crossEntropy } from '@engram/tensor';
import { createMemnet, memnetLmConfig, MEMNET_LM_RECIPE, encodeTextPositions, memnetForward } from './dist/index.js';
import { createMemnetLmWorkers } from './dist/workers.js';
const corpus = await loadPtbCorpus('/work/shared/data/ptb');
const config = memnetLmConfig(corpus.vocabulary.size);
const rng = new Random(5); const B = 128;
const pos = () => Int32Array.from({ length: B }, () => rng.int(config.memorySize, corpus.train.length - 1));
for (const threads of [1, 2, 1, 2]) {
  const model = createMemnet(config, new Random(1)); const params = parameterList(model.params);
  const opt = new SGD(params, 0.01);
  const workers = threads > 1 ? await createMemnetLmWorkers(model, corpus.train, threads) : null;
  const t = { compute: 0, update: 0 };
  for (let i = 0; i < 12; i++) {
    const at = pos(); const s = performance.now();
    opt.zeroGrad();
    if (workers) await workers.compute(model, corpus.train, at);
    else { const b = encodeTextPositions(corpus.train, at, config); crossEntropy(memnetForward(model, b).logits, b.answers, 'sum').backward(); }
    const m = performance.now();
    opt.step({ gradientScale: normClipScale(gradientNorm(params), 50) });
    const e = performance.now();
    if (i >= 2) { t.compute += m - s; t.update += e - m; }
  }
  await workers?.close();
  console.log(`threads ${threads}: compute ${(t.compute / 10).toFixed(1)} ms, update ${(t.update / 10).toFixed(1)} ms a step`);
}
