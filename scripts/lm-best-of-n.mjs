// The best of N memory-network language-model runs by validation perplexity, as the paper picks its Penn Treebank
// figure ("we run each experiment 10 times and picked the one with best validation perplexity", facebook/MemNN's
// MemN2N-lang-model README): docs/results/lm.md's best-of-N line. It never looks at the test text to choose.
// Usage: node scripts/lm-best-of-n.mjs [--test] RUN_DIR...   (default: every runs/lm-memnet* folder with epochs.csv)
// Prints one row per run (seed, epochs trained, whether it still trains, its best epoch and validation) and the run chosen; with
// --test, evaluates the chosen run's best.safetensors with `engram eval` (validation and test perplexity; the built
// CLI, so run `pnpm build` first).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function fail(message) {
  console.error(`lm-best-of-n: ${message}`);
  process.exit(2);
}

const args = process.argv.slice(2);
const test = args.includes('--test');
const unknown = args.find((a) => a.startsWith('--') && a !== '--test');
if (unknown !== undefined) fail(`unknown option ${unknown} (usage: node scripts/lm-best-of-n.mjs [--test] RUN_DIR...)`);
let dirs = args.filter((a) => !a.startsWith('--'));
if (dirs.length === 0) {
  dirs = existsSync('runs')
    ? readdirSync('runs')
        .filter((name) => name.startsWith('lm-memnet') && existsSync(join('runs', name, 'epochs.csv')))
        .map((name) => join('runs', name))
    : [];
  if (dirs.length === 0) fail('no runs/lm-memnet* folder with an epochs.csv; name the run folders');
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    fail(`${file}: cannot read it as JSON (${error.message})`);
  }
}

/** One run: its settings and each finished epoch's validation perplexity (epochs.csv). */
function readRun(dir) {
  const run = readJson(join(dir, 'run.json'));
  if (run.kind !== 'lm' || run.model !== 'memnet') fail(`${dir}: not a memory-network language-model run`);
  const file = join(dir, 'epochs.csv');
  if (!existsSync(file)) fail(`${file}: missing (the run has not finished an epoch)`);
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const columns = header.split(',');
  const valid = columns.indexOf('valid_perplexity');
  if (valid < 0) fail(`${file}: no valid_perplexity column`);
  const epochs = lines.map((line, i) => {
    const cells = line.split(',');
    const value = Number(cells[valid]);
    if (!Number.isFinite(value)) fail(`${file}: line ${i + 2}: valid_perplexity is not a number`);
    return { epoch: i + 1, valid: value };
  });
  if (epochs.length === 0) fail(`${file}: no epochs yet`);
  const best = epochs.reduce((a, b) => (b.valid < a.valid ? b : a));
  const done = existsSync(join(dir, 'results.json'));
  return { dir, run, epochs, best, done };
}

const runs = dirs.map(readRun);
const shape = (r) => `${r.run.sizes.hops} hops, memory ${r.run.sizes.memorySize}, ${r.run.sizes.embeddingSize}-d`;
const shapes = new Set(runs.map(shape));
if (shapes.size > 1) fail(`the runs have different shapes (${[...shapes].join('; ')}): compare like with like`);

console.log(`MemN2N language model, ${[...shapes][0]}: the best of ${runs.length} by validation perplexity`);
console.log('');
console.log('| run | seed | epochs | state | best epoch | validation (best) |');
console.log('| --- | ---- | ------ | ----- | ---------- | ----------------- |');
for (const r of runs) {
  // A continuation (--init) counts its epochs from 1; its seed is that of its own sampling.
  const seed = r.run.init ? `${r.run.seed} (from ${r.run.init.file})` : String(r.run.seed);
  const state = r.done ? 'stopped' : 'training';
  console.log(`| ${r.dir} | ${seed} | ${r.epochs.length} | ${state} | ${r.best.epoch} | ${r.best.valid.toFixed(2)} |`);
}
const chosen = runs.reduce((a, b) => (b.best.valid < a.best.valid ? b : a));
console.log('');
console.log(
  `Chosen: ${chosen.dir} (seed ${chosen.run.seed}), epoch ${chosen.best.epoch}, validation ${chosen.best.valid.toFixed(2)}` +
    (runs.every((r) => r.done) ? '' : ' (some runs still training: the choice may change)'),
);
if (test) {
  const model = join(chosen.dir, 'best.safetensors');
  if (!existsSync(model)) fail(`${model}: missing`);
  console.log('');
  console.log(`node apps/cli/dist/bin.js eval --run ${model} --data ${chosen.run.data}`);
  execFileSync(process.execPath, ['apps/cli/dist/bin.js', 'eval', '--run', model, '--data', chosen.run.data], {
    stdio: 'inherit',
  });
}
