import { loadPtbCorpus } from '@engram/lm';
import { Random, SGD, gradientNorm, normClipScale, parameterList } from '@engram/tensor';
import { createMemnet, memnetLmConfig } from './dist/index.js';
import { createMemnetLmWorkers } from './dist/workers.js';
const corpus = await loadPtbCorpus('/work/shared/data/ptb');
const config = memnetLmConfig(corpus.vocabulary.size);
const rng = new Random(5); const B = 128;
const pos = () => Int32Array.from({ length: B }, () => rng.int(config.memorySize, corpus.train.length - 1));
const model = createMemnet(config, new Random(1)); const params = parameterList(model.params);
const opt = new SGD(params, 0.01);
const workers = await createMemnetLmWorkers(model, corpus.train, 2);
for (let i = 0; i < 14; i++) { opt.zeroGrad(); await workers.compute(model, corpus.train, pos()); opt.step({ gradientScale: normClipScale(gradientNorm(params), 50) }); }
await workers.close();
