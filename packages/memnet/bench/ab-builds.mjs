// Two builds of Engram in one process, MemN2N language-model training steps alternating one for one (the paper's
// model: d = 150, 7 hops, memory 200, batch 128, SGD with the gradient norm clipped to 50), so that the machine's changes
// of speed fall on both alike: prints each build's words per second and the ratio, then whether the two models' weights
// are the same bits after the same steps on the same positions.
//   ENGRAM_ROOT_A=/path/to/checkout-before node packages/memnet/bench/ab-builds.mjs   # B: this checkout
// ENGRAM_AB_STEPS: steps each (default 40); ENGRAM_AB_THREADS: threads each build trains on (default 1; more: its
// createMemnetLmWorkers, the norm and step from the workers where the build has them, as trainMemnetLm does);
// ENGRAM_PTB: the folder with ptb.*.txt (default ../shared/data/ptb). Each checkout's packages must be built.
const here = new URL('../../..', import.meta.url).pathname;
const roots = [process.env.ENGRAM_ROOT_A, process.env.ENGRAM_ROOT_B ?? here];
if (roots[0] === undefined) {
  console.error('ab-builds: set ENGRAM_ROOT_A to the checkout to compare with (B is this one, or ENGRAM_ROOT_B)');
  process.exit(2);
}
const steps = Number(process.env.ENGRAM_AB_STEPS ?? 40);
if (!(Number.isInteger(steps) && steps >= 1)) {
  console.error('ab-builds: ENGRAM_AB_STEPS must be a positive integer');
  process.exit(2);
}
const threads = Number(process.env.ENGRAM_AB_THREADS ?? 1);
if (!(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
  console.error('ab-builds: ENGRAM_AB_THREADS must be an integer in 1..64');
  process.exit(2);
}
const data = process.env.ENGRAM_PTB ?? new URL('../../../../shared/data/ptb', import.meta.url).pathname;

/** One build's training step, on its own model and optimizer, over the positions given. */
async function trainer(root) {
  const tensor = await import(`${root}/packages/tensor/dist/index.js`);
  const memnet = await import(`${root}/packages/memnet/dist/index.js`);
  const lm = await import(`${root}/packages/lm/dist/index.js`);
  const corpus = await lm.loadPtbCorpus(data);
  const config = memnet.memnetLmConfig(corpus.vocabulary.size);
  const model = memnet.createMemnet(config, new tensor.Random(1));
  const params = tensor.parameterList(model.params);
  const optimizer = new tensor.SGD(params, memnet.MEMNET_LM_RECIPE.learningRate);
  const workers = threads > 1 ? await (await import(`${root}/packages/memnet/dist/workers.js`)).createMemnetLmWorkers(model, corpus.train, threads) : null;
  const scale = (norm) => ({ gradientScale: tensor.normClipScale(norm, memnet.MEMNET_LM_RECIPE.maxGradNorm) });
  // One thread: the build's own training step where it has one (createMemnetLmStep, the whole-step kernel where the
  // backend has it), else the composed ops.
  const local = workers === null && memnet.createMemnetLmStep ? memnet.createMemnetLmStep(model, optimizer) : null;
  const step = async (positions) => {
    if (local !== null) {
      local(corpus.train, positions);
      return;
    }
    optimizer.zeroGrad();
    if (workers === null) {
      const batch = memnet.encodeTextPositions(corpus.train, positions, config);
      tensor.crossEntropy(memnet.memnetForward(model, batch).logits, batch.answers, 'sum').backward();
      optimizer.step(scale(tensor.gradientNorm(params)));
      return;
    }
    await workers.compute(model, corpus.train, positions);
    if (workers.step) await workers.step(optimizer, scale(workers.gradientNorm()));
    else optimizer.step(scale(tensor.gradientNorm(params)));
  };
  return { step, params, corpus, config, Random: tensor.Random, close: () => workers?.close() };
}

const builds = [await trainer(roots[0]), await trainer(roots[1])];
const { corpus, config, Random } = builds[1];
const batch = 128;
const rng = new Random(5);
const positions = Int32Array.from({ length: (steps + 2) * batch }, () => rng.int(config.memorySize, corpus.train.length - 1));
const spent = [0, 0];
for (let i = 0; i < steps + 2; i++) {
  const at = positions.subarray(i * batch, (i + 1) * batch);
  for (const which of i % 2 ? [1, 0] : [0, 1]) {
    const start = performance.now();
    await builds[which].step(at);
    if (i >= 2) spent[which] += performance.now() - start;
  }
}
const rate = (i) => (steps * batch) / (spent[i] / 1000);
const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const same = builds[0].params.every((p, i) => bytes(p.dataSync()).equals(bytes(builds[1].params[i].dataSync())));
for (const build of builds) await build.close();
console.log(`MemN2N LM, batch ${batch}, ${threads} thread${threads > 1 ? 's' : ''} each, ${steps} steps each, alternating step by step`);
console.log(`A ${roots[0]}: ${rate(0).toFixed(1)} words/s`);
console.log(`B ${roots[1]}: ${rate(1).toFixed(1)} words/s`);
console.log(`B / A: ${(rate(1) / rate(0)).toFixed(3)}; weights after ${steps + 2} steps: ${same ? 'the same bits' : 'DIFFERENT'}`);
