// DNC training throughput (trainBatch, sequences/s) at two settings: associative recall with the NTM's settings
// (LSTM 100, memory 128 × 20, one read head, batch 1) and the bench's repeat copy (deepmind/dnc's sizes, batch 16).
// Usage (after pnpm build):
//   node packages/dnc/bench/train-step.mjs                     the whole-sequence pass (WebAssembly kernel)
//   ENGRAM_NTM_TAPE=1 node packages/dnc/bench/train-step.mjs   the autodiff tape, for comparison
//   ENGRAM_ROOT=/other/checkout node …                         another build's packages
// ENGRAM_BENCH_SECONDS sets the seconds per setting (default 5).
const root = process.env.ENGRAM_ROOT ?? new URL('../../..', import.meta.url).pathname.replace(/\/$/, '');
const { algorithmicTask, sampleBatch } = await import(`${root}/packages/datasets/dist/index.js`);
const { RMSProp, Random, parameterList } = await import(`${root}/packages/tensor/dist/index.js`);
const { trainBatch } = await import(`${root}/packages/ntm/dist/index.js`);
const { createDnc, defaultDncConfig, dncRecurrent } = await import(`${root}/packages/dnc/dist/index.js`);
const S = Number(process.env.ENGRAM_BENCH_SECONDS ?? 5);
const settings = [
  [
    'recall b1',
    'associative-recall',
    {},
    1,
    defaultDncConfig(8, 6, { memorySlots: 128, memoryWidth: 20, readHeads: 1, controller: { kind: 'lstm', hiddenSize: 100, layers: 1 } }),
  ],
  ['repeat-copy b16', 'repeat-copy', { width: 4, minLength: 1, maxLength: 2, minRepeats: 1, maxRepeats: 2 }, 16, defaultDncConfig(6, 5)],
];
for (const [name, task, options, batch, config] of settings) {
  const rng = new Random(1);
  const model = dncRecurrent(createDnc(config, rng));
  const optimizer = new RMSProp(parameterList(model.params), 1e-4);
  const t = algorithmicTask(task);
  const step = () => trainBatch(model, optimizer, sampleBatch(t, rng, batch, options), { clipValue: 10 });
  for (let i = 0; i < 3; i++) step();
  let done = 0;
  const start = performance.now();
  while (performance.now() - start < S * 1000) {
    step();
    done += batch;
  }
  console.log(
    `${process.env.ENGRAM_NTM_TAPE === '1' ? 'tape' : 'whole-sequence pass'}, ${name}: ${(done / ((performance.now() - start) / 1000)).toFixed(1)} seq/s`,
  );
}
