// Exports a language-model run for the demo's long-text page: the weights in float16 (under the page's
// 10 MB budget per model), with the epochs trained and the validation perplexity of the exported (float16)
// weights, measured here, and (for the LSTM) the cache's θ and λ to start from. An LSTM run becomes
// public/models/ptb-lstm.safetensors, a MemN2N run (`engram train lm --model memnet`) ptb-memnet.safetensors.
// Usage: node apps/demo/scripts/export-lm-model.mjs RUN_DIR [--best] [--data DIR] [--theta X --lambda X]
//   (after pnpm build). --best exports the run's best.safetensors (the epoch with the lowest validation
//   perplexity) instead of its latest model. A run started with --init from an exported model adds that model's
//   trained epochs to its own.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateLm, lmFromSafetensors, lmToSafetensors, loadLm, loadLmCheckpoint, loadPtbCorpus } from '@engram/lm';
import { evaluateMemnetLm, loadMemnetLm, loadMemnetLmCheckpoint, memnetLmFromSafetensors, memnetLmToSafetensors } from '@engram/memnet';

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
const memnet = info.model === 'memnet';
/** What differs between the two kinds of run: how to read, write and evaluate the model, and where it goes. */
const kind = memnet
  ? {
      file: 'ptb-memnet.safetensors',
      load: loadMemnetLm,
      toBytes: memnetLmToSafetensors,
      fromBytes: memnetLmFromSafetensors,
      perplexity: (model, ids) => evaluateMemnetLm(model, ids).perplexity,
      checkpoint: async (path) => {
        const loaded = await loadMemnetLmCheckpoint(path);
        const { epoch, stepInEpoch } = loaded.snapshot.training;
        return { ...loaded, epochs: epoch + stepInEpoch / stepsPerEpoch() };
      },
      extra: {},
    }
  : {
      file: 'ptb-lstm.safetensors',
      load: loadLm,
      toBytes: lmToSafetensors,
      fromBytes: lmFromSafetensors,
      perplexity: (model, ids) => evaluateLm(model, ids).perplexity,
      checkpoint: async (path) => {
        const loaded = await loadLmCheckpoint(path, info.recipe.batch);
        const windows = Math.floor((Math.floor(corpus.train.length / info.recipe.batch) - 1) / info.recipe.unroll);
        return { ...loaded, epochs: loaded.snapshot.training.epoch + loaded.snapshot.training.window / windows };
      },
      extra: { cacheTheta: values.theta ?? '0.7', cacheLambda: values.lambda ?? '0.15' },
    };
const data = values.data ?? info.data;
const corpus = await loadPtbCorpus(data);
/** A MemN2N epoch: ⌈training words / batch⌉ steps, as `trainMemnetLm` counts. */
const stepsPerEpoch = () => Math.ceil(corpus.train.length / info.recipe.batch);
let model;
let vocabulary;
let epochs;
if (values.best) {
  ({ model, vocabulary } = await kind.load(join(run, 'best.safetensors')));
  const valid = readFileSync(join(run, 'epochs.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(',')[3]));
  epochs = valid.indexOf(Math.min(...valid)) + 1;
} else if (existsSync(join(run, 'model.safetensors'))) {
  ({ model, vocabulary } = await kind.load(join(run, 'model.safetensors')));
  epochs = readFileSync(join(run, 'epochs.csv'), 'utf8').trim().split('\n').length - 1;
} else {
  ({ model, vocabulary, epochs } = await kind.checkpoint(join(run, 'checkpoint.safetensors')));
}
// A run started with --init from an exported model counts the epochs behind that model too.
let before = 0;
let source = `engram train lm${memnet ? ' --model memnet' : ''}, recipe ${info.recipeName}`;
if (info.init !== undefined) {
  const start = await kind.load(info.init.file);
  before = Number(start.metadata.trainedEpochs ?? 0);
  source += `, continued (--init) from ${start.metadata.trainedEpochs ?? 'unknown'} epochs (sha256 ${info.init.sha256.slice(0, 16)}…)`;
}
epochs += before;
const metadata = { trainedEpochs: epochs.toFixed(1), ...kind.extra, source };
let bytes = kind.toBytes(model, vocabulary, metadata, { dtype: 'F16' });
const valid = kind.perplexity(kind.fromBytes(bytes).model, corpus.valid);
bytes = kind.toBytes(model, vocabulary, { ...metadata, validPerplexity: valid.toFixed(2) }, { dtype: 'F16' });
const out = new URL(`../public/models/${kind.file}`, import.meta.url).pathname;
await writeFile(out, bytes);
console.log(
  `${out}: ${(bytes.length / 2 ** 20).toFixed(2)} MiB, ${epochs.toFixed(1)} epochs, validation perplexity of the float16 weights ${valid.toFixed(2)}`,
);
