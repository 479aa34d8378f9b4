import { Adam, Random, parameterList } from '@engram/tensor';
import { copyTask, sampleBatch, advanceCurriculum } from '@engram/datasets';
import { createNtm, defaultNtmConfig, trainBatch, evaluateBatch } from '@engram/ntm';
const batchSize = Number(process.argv[2] ?? 32),
  lr = Number(process.argv[3] ?? 1e-3);
const rng = new Random(1);
const model = createNtm(defaultNtmConfig(9, 8), rng);
const opt = new Adam(parameterList(model.params), lr);
let level = 2;
let recent = [];
let seqs = 0;
const t0 = performance.now();
for (let step = 1; step <= 100000; step++) {
  const r = trainBatch(model, opt, sampleBatch(copyTask, rng, batchSize, { maxLength: level }), { clipNorm: 50 });
  seqs += batchSize;
  recent.push(r.errorBits);
  if (recent.length > 20) recent.shift();
  const avg = recent.reduce((a, b) => a + b, 0) / recent.length;
  if (recent.length === 20 && level < 20 && avg < 0.5) {
    level = Math.min(20, level + 2);
    recent = [];
  }
  if (step % 20 === 0) {
    let line = `${step} seqs ${seqs} t ${((performance.now() - t0) / 1000).toFixed(0)}s level ${level} loss ${r.loss.toFixed(2)} bits ${avg.toFixed(2)}`;
    if (level === 20 && step % 100 === 0) {
      const e = evaluateBatch(model, sampleBatch(copyTask, new Random(7), 200, { maxLength: 20 }));
      line += ` eval ${e.errorBits.toFixed(3)}`;
      if (e.errorBits < 0.01) {
        console.log(line, 'SOLVED');
        break;
      }
    }
    console.log(line);
  }
}
