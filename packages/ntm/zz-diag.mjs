import { Random } from '@engram/tensor';
import { copyTask } from '@engram/datasets';
import { inspectSequence, loadNtm } from './dist/index.js';
const seed = process.argv[2];
const { model } = await loadNtm(`/work/main/runs/polish/copy-seed${seed}/model.safetensors`, new Random(1));
const rng = new Random(7);
const seq = copyTask.sample(rng, { minLength: 100, maxLength: 100 });
const steps = inspectSequence(model, seq.inputs);
const am = (w) => { let b = 0; for (let i = 1; i < w.length; i++) if (w[i] > w[b]) b = i; return b; };
let line = [];
for (let t = 0; t < steps.length; t++) {
  const s = steps[t];
  const wr = s.writeWeightings[0], rd = s.readWeightings[0];
  let wrong = 0;
  if (seq.scored[t]) for (let j = 0; j < s.output.length; j++) if ((s.output[j] > 0.5 ? 1 : 0) !== seq.targets[t][j]) wrong++;
  if (t % 5 === 0 || wrong) line.push(`t${t} W${am(wr)}:${wr[am(wr)].toFixed(2)} R${am(rd)}:${rd[am(rd)].toFixed(2)} g${s.gate[0].toFixed(2)} b${s.keyStrength[0].toFixed(1)}${wrong ? ' X' + wrong : ''}`);
}
console.log(line.join('\n'));
