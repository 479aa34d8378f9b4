// Two builds of Engram in one process, NTM training alternating in 250 ms slices, so that the machine's changes of
// speed (other jobs, the clock) fall on both alike: prints each build's sequences per second over all its slices and
// the ratio. Runs to seconds apart on this machine kind vary by up to 40%, which hides a kernel change of a few per cent;
// slices in one process do not.
//   ENGRAM_ROOT_A=/path/to/checkout-before node packages/ntm/bench/ab-builds.mjs   # B: this checkout
// ENGRAM_AB_TASK: copy (default; lengths 1..20, the paper's model) or priority-sort (5 + 5 heads, 2 × 100 LSTM);
// ENGRAM_AB_BATCH: sequences a step (default 1); ENGRAM_AB_SECONDS: seconds in all (default 20). Each checkout's
// packages must be built; the same seed gives both the same model and data.
const here = new URL('../../..', import.meta.url).pathname;
const roots = [process.env.ENGRAM_ROOT_A, process.env.ENGRAM_ROOT_B ?? here];
if (roots[0] === undefined) {
  console.error('ab-builds: set ENGRAM_ROOT_A to the checkout to compare with (B is this one, or ENGRAM_ROOT_B)');
  process.exit(2);
}
const task = process.env.ENGRAM_AB_TASK ?? 'copy';
if (task !== 'copy' && task !== 'priority-sort') {
  console.error(`ab-builds: ENGRAM_AB_TASK must be copy or priority-sort, not '${task}'`);
  process.exit(2);
}
const batch = Number(process.env.ENGRAM_AB_BATCH ?? 1);
const seconds = Number(process.env.ENGRAM_AB_SECONDS ?? 20);
if (!(Number.isInteger(batch) && batch >= 1) || !(seconds > 0)) {
  console.error('ab-builds: ENGRAM_AB_BATCH must be a positive integer and ENGRAM_AB_SECONDS a positive number');
  process.exit(2);
}

/** One build's training step, on its own model, optimizer and data stream. */
async function trainer(root) {
  const datasets = await import(`${root}/packages/datasets/dist/index.js`);
  const tensor = await import(`${root}/packages/tensor/dist/index.js`);
  const ntm = await import(`${root}/packages/ntm/dist/index.js`);
  const rng = new tensor.Random(1);
  const sort = task === 'priority-sort';
  const config = sort
    ? ntm.defaultNtmConfig(10, 8, { readHeads: 5, writeHeads: 5, controller: { kind: 'lstm', hiddenSize: 100, layers: 2 } })
    : ntm.defaultNtmConfig(9, 8);
  const model = ntm.createNtm(config, rng);
  const optimizer = new tensor.RMSProp(tensor.parameterList(model.params), 1e-4, { momentum: 0.9, decay: 0.95 });
  const generator = sort ? datasets.prioritySortTask : datasets.copyTask;
  const lengths = sort ? {} : { minLength: 1, maxLength: 20 };
  return { root, step: () => ntm.trainBatch(model, optimizer, datasets.sampleBatch(generator, rng, batch, lengths), { clipValue: 10 }) };
}

const builds = [await trainer(roots[0]), await trainer(roots[1])];
for (let i = 0; i < 20; i++) for (const b of builds) b.step();
const done = [0, 0];
const spent = [0, 0];
const end = performance.now() + seconds * 1000;
for (let which = 0; performance.now() < end; which = 1 - which) {
  const start = performance.now();
  while (performance.now() - start < 250) {
    builds[which].step();
    done[which] += batch;
  }
  spent[which] += performance.now() - start;
}
const rate = (i) => done[i] / (spent[i] / 1000);
console.log(`${task}, batch ${batch}, ${seconds} s alternating in 250 ms slices`);
console.log(`A ${roots[0]}: ${rate(0).toFixed(1)} sequences/s`);
console.log(`B ${roots[1]}: ${rate(1).toFixed(1)} sequences/s`);
console.log(`B / A: ${(rate(1) / rate(0)).toFixed(3)}`);
