// Error bits per sequence of a repeat-copy run at more repeats than it was trained on: each sequence is built with the
// trained range's normalisation of the repeat count (as the model saw it), then run and scored.
// Usage: node packages/dnc/scripts/repeats.mjs RUN_DIR [REPEATS...]   (after pnpm build; 1,000 sequences per row, seed 7)
import { join } from 'node:path';
import { packSequences, randomBits, repeatCopySequence } from '@engram/datasets';
import { dncRecurrent, loadDnc } from '../dist/index.js';
import { evaluateBatch } from '@engram/ntm';
import { Random } from '@engram/tensor';

const [run, ...rest] = process.argv.slice(2);
if (run === undefined) {
  console.error('usage: node packages/dnc/scripts/repeats.mjs RUN_DIR [REPEATS...]');
  process.exit(2);
}
const { model, metadata } = await loadDnc(join(run, 'model.safetensors'));
const trained = JSON.parse(metadata.taskOptions ?? '{}');
const width = trained.width ?? 8;
const lengths = [trained.minLength ?? 1, trained.maxLength ?? 10];
const counts = (rest.length > 0 ? rest : ['1', '2', '3', '4', '6']).map(Number);
console.log(`${run}: trained on ${JSON.stringify(trained)}; 1,000 fresh sequences per row (seed 7), lengths ${lengths[0]}..${lengths[1]}`);
console.log('| repeats | error bits per sequence |\n|---|---|');
for (const repeats of counts) {
  const rng = new Random(7);
  let bits = 0;
  for (let chunk = 0; chunk < 10; chunk++) {
    const sequences = Array.from({ length: 100 }, () => {
      const length = rng.int(lengths[0], lengths[1]);
      return repeatCopySequence(
        Array.from({ length }, () => randomBits(rng, width)),
        repeats,
        trained,
      );
    });
    bits += evaluateBatch(dncRecurrent(model), packSequences(sequences, width + 2, width + 1)).errorBits * 100;
  }
  console.log(`| ${repeats} | ${(bits / 1000).toFixed(4)} |`);
}
