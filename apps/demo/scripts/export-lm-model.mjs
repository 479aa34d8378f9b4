// Exports a language-model run for the demo's long-text page: the weights in float16 (under the page's
// 10 MB budget), with the epochs trained and the validation perplexity of the exported (float16) weights,
// measured here, and the cache's θ and λ to start from.
// Usage: node apps/demo/scripts/export-lm-model.mjs RUN_DIR [--best] [--data DIR] [--theta X --lambda X]
//   (after pnpm build; writes apps/demo/public/models/ptb-lstm.safetensors). --best exports the run's
//   best.safetensors (the epoch with the lowest validation perplexity) instead of its latest model.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateLm, lmFromSafetensors, lmToSafetensors, loadLm, loadLmCheckpoint, loadPtbCorpus } from '@engram/lm';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { data: { type: 'string' }, theta: { type: 'string' }, lambda: { type: 'string' }, best: { type: 'boolean' } },
});
const run = positionals[0];
if (run === undefined) {
  console.error('usage: node apps/demo/scripts/export-lm-model.mjs RUN_DIR [--best] [--data DIR] [--theta X --lambda X]');
  process.exit(2);
}
const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
const data = values.data ?? info.data;
const corpus = await loadPtbCorpus(data);
let model;
let vocabulary;
let epochs;
if (values.best) {
  ({ model, vocabulary } = await loadLm(join(run, 'best.safetensors')));
  const valid = readFileSync(join(run, 'epochs.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(',')[3]));
  epochs = valid.indexOf(Math.min(...valid)) + 1;
} else if (existsSync(join(run, 'model.safetensors'))) {
  ({ model, vocabulary } = await loadLm(join(run, 'model.safetensors')));
  epochs = info.recipe.epochs;
} else {
  const checkpoint = await loadLmCheckpoint(join(run, 'checkpoint.safetensors'), info.recipe.batch);
  ({ model, vocabulary } = checkpoint);
  const windows = Math.floor((Math.floor(corpus.train.length / info.recipe.batch) - 1) / info.recipe.unroll);
  epochs = checkpoint.snapshot.training.epoch + checkpoint.snapshot.training.window / windows;
}
const metadata = {
  trainedEpochs: epochs.toFixed(1),
  cacheTheta: values.theta ?? '0.7',
  cacheLambda: values.lambda ?? '0.15',
  source: `engram train lm, recipe ${info.recipeName}`,
};
let bytes = lmToSafetensors(model, vocabulary, metadata, { dtype: 'F16' });
const exported = lmFromSafetensors(bytes).model;
const valid = evaluateLm(exported, corpus.valid).perplexity;
bytes = lmToSafetensors(model, vocabulary, { ...metadata, validPerplexity: valid.toFixed(2) }, { dtype: 'F16' });
const out = new URL('../public/models/ptb-lstm.safetensors', import.meta.url).pathname;
await writeFile(out, bytes);
console.log(
  `${out}: ${(bytes.length / 2 ** 20).toFixed(2)} MiB, ${epochs.toFixed(1)} epochs, validation perplexity of the float16 weights ${valid.toFixed(2)}`,
);
