import { RMSProp, Random, parameterList } from '@engram/tensor';
import { copyTask, sampleBatch } from '@engram/datasets';
import { createNtm, defaultNtmConfig, trainBatch } from '@engram/ntm';
const rng = new Random(1);
const model = createNtm(defaultNtmConfig(9, 8), rng);
const opt = new RMSProp(parameterList(model.params), 1e-4, { momentum: 0.9 });
const t0 = performance.now();
for (let i = 0; i < 300; i++) trainBatch(model, opt, sampleBatch(copyTask, rng, 1, { minLength: 10, maxLength: 10 }));
console.log('seq/s', 300 / ((performance.now() - t0) / 1000));
