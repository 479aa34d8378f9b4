import { RMSProp, Random, parameterList } from '@engram/tensor';
import { copyTask, sampleBatch } from '@engram/datasets';
import { createNtm, defaultNtmConfig, trainBatch } from '@engram/ntm';
const rng = new Random(1000);
const model = createNtm(defaultNtmConfig(9, 8), rng);
const opt = new RMSProp(parameterList(model.params), 1e-4, { momentum: 0.9, decay: 0.95 });
const recent = [];
const t0 = performance.now();
for (let step = 1; step <= 30000; step++) {
  const r = trainBatch(model, opt, sampleBatch(copyTask, rng, 1, { maxLength: 20 }), { clipValue: 10 });
  recent.push(r.errorBits);
  if (recent.length > 200) recent.shift();
  if (step % 200 === 0)
    console.log(
      `${step} t ${((performance.now() - t0) / 1000).toFixed(0)}s loss ${r.loss.toFixed(2)} bits(mean200) ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(2)}`,
    );
}
