// Exports a DNC repeat-copy run for the demo's DNC page: its model (or, before the run ends, its latest checkpoint)
// with the steps trained and the held-out error measured here on 1,000 fresh sequences of the trained range.
// Usage: node apps/demo/scripts/export-dnc-model.mjs RUN_DIR   (after pnpm build; writes
//   apps/demo/public/models/dnc-repeat-copy.safetensors)
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { algorithmicTask, sampleBatch } from '@engram/datasets';
import { dncRecurrent, dncToSafetensors, loadDnc, loadDncCheckpoint } from '@engram/dnc';
import { evaluateBatch } from '@engram/ntm';
import { Random } from '@engram/tensor';

const run = process.argv[2];
if (run === undefined) {
  console.error('usage: node apps/demo/scripts/export-dnc-model.mjs RUN_DIR');
  process.exit(2);
}
const modelPath = join(run, 'model.safetensors');
let model;
let step;
let taskOptions;
if (existsSync(modelPath)) {
  const loaded = await loadDnc(modelPath);
  model = loaded.model;
  step = loaded.metadata.step;
  taskOptions = JSON.parse(loaded.metadata.taskOptions ?? '{}');
} else {
  const checkpoint = await loadDncCheckpoint(join(run, 'checkpoint.safetensors'));
  model = checkpoint.model;
  step = String(checkpoint.training.step);
  taskOptions = checkpoint.training.extra.taskOptions ?? {};
}
const rng = new Random(7);
let bits = 0;
for (let i = 0; i < 10; i++) bits += evaluateBatch(dncRecurrent(model), sampleBatch(algorithmicTask('repeat-copy'), rng, 100, taskOptions)).errorBits * 100;
const heldOut = bits / 1000;
const out = new URL('../public/models/dnc-repeat-copy.safetensors', import.meta.url);
const bytes = dncToSafetensors(model, { task: 'repeat-copy', taskOptions: JSON.stringify(taskOptions), step: String(step), heldOutBits: heldOut.toFixed(4) });
await writeFile(out, bytes);
console.log(`${out.pathname}: ${bytes.length} bytes, step ${step}, ${heldOut.toFixed(4)} error bits per sequence on 1,000 fresh sequences`);
