// How a MemN2N language model does when it sees fewer than N words: docs/results/lm.md's context table.
// Reads the first 20,400 words of the validation text in one pass (every word from up to N words before it,
// so from word N on with a full memory), then ten 400-word pieces of it on their own (their first words see
// only the piece's earlier words), and prints the perplexity of the same words both ways, by how many words
// the piece gave them.
// Usage: node packages/memnet/scripts/lm-context.mjs MODEL [--data DIR]   (after pnpm build; MODEL: a model file, a
//   run's best.safetensors or checkpoint.safetensors; DIR: the PTB folder, default ../shared/data/ptb)
import { parseArgs } from 'node:util';
import { loadPtbCorpus } from '@engram/lm';
import { loadMemnetLm, readMemnetLm } from '@engram/memnet';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { data: { type: 'string' } } });
if (positionals[0] === undefined) {
  console.error('usage: node packages/memnet/scripts/lm-context.mjs MODEL [--data DIR]');
  process.exit(2);
}
const { model } = await loadMemnetLm(positionals[0]);
const corpus = await loadPtbCorpus(values.data ?? new URL('../../../../shared/data/ptb', import.meta.url).pathname);
const PIECE = 400;
const PIECES = 10;
const STRIDE = 2_000;
const n = model.config.memorySize;
if (n >= PIECE) {
  console.error(`the model's memory (${n}) must be shorter than a piece (${PIECE} words)`);
  process.exit(2);
}
const bins = [...[0, 10, 25, 50, 100, 150].filter((b) => b < n), n, PIECE];
const whole = readMemnetLm(model, corpus.valid.subarray(0, PIECE + PIECES * STRIDE));
const truncated = new Float64Array(bins.length);
const full = new Float64Array(bins.length);
const words = new Float64Array(bins.length);
for (let k = 0; k < PIECES; k++) {
  const start = PIECE + k * STRIDE;
  const piece = readMemnetLm(model, corpus.valid.subarray(start, start + PIECE));
  for (let t = 0; t < PIECE - 1; t++) {
    // Position t predicts word t + 1 from the t + 1 words before it in the piece.
    let b = 0;
    while (b + 2 < bins.length && t + 1 >= bins[b + 1]) b++;
    truncated[b] -= Math.log(piece.probability[t]);
    full[b] -= Math.log(whole.probability[start + t]);
    words[b]++;
  }
}
console.log(`${positionals[0]}: memory ${n}, ${PIECES} pieces of ${PIECE} validation words`);
console.log('| words before it in the piece | words | perplexity, piece alone | perplexity, whole text |\n|---|---|---|---|');
for (let b = 0; b + 1 < bins.length; b++) {
  const p = (nats) => Math.exp(nats / words[b]);
  const shown = (x) => (x < 1e6 ? x.toFixed(1) : x.toExponential(1));
  console.log(`| ${Math.max(1, bins[b])}–${bins[b + 1] - 1} | ${words[b]} | ${shown(p(truncated[b]))} | ${shown(p(full[b]))} |`);
}
