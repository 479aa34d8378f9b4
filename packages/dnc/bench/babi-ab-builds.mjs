// Two builds of Engram in one process, the DNC's bAbI training step (babiGradients: forward and backward of one
// story, the paper's sizes: LSTM 256, memory 256 × 64, four read heads) alternating story by story, so that the
// machine's changes of speed fall on both alike: prints each build's ms per word and the ratio. The stories: those of
// the first eight training examples of tasks 1, 2 and 6 (six stories, 585 words), each build on its own model with the
// same seed.
//   ENGRAM_ROOT_A=/path/to/checkout-before node [--experimental-wasm-relaxed-simd] packages/dnc/bench/babi-ab-builds.mjs
// B is this checkout (or ENGRAM_ROOT_B); ENGRAM_AB_ROUNDS: passes over the stories (default 3); ENGRAM_BABI: the folder
// with the 10k tasks (default ../shared/data/babi/en-10k). Each checkout's packages must be built.
const here = new URL('../../..', import.meta.url).pathname;
const roots = [process.env.ENGRAM_ROOT_A, process.env.ENGRAM_ROOT_B ?? here];
if (roots[0] === undefined) {
  console.error('babi-ab-builds: set ENGRAM_ROOT_A to the checkout to compare with (B is this one, or ENGRAM_ROOT_B)');
  process.exit(2);
}
const rounds = Number(process.env.ENGRAM_AB_ROUNDS ?? 3);
if (!(Number.isInteger(rounds) && rounds >= 1)) {
  console.error('babi-ab-builds: ENGRAM_AB_ROUNDS must be a positive integer');
  process.exit(2);
}
const data = process.env.ENGRAM_BABI ?? new URL('../../../../shared/data/babi/en-10k', import.meta.url).pathname;

/** One build's step over its own copy of the stories. */
async function trainer(root) {
  const { loadBabiTask } = await import(`${root}/packages/datasets/dist/index.js`);
  const { Random, parameterList } = await import(`${root}/packages/tensor/dist/index.js`);
  const dnc = await import(`${root}/packages/dnc/dist/index.js`);
  const tasks = new Map();
  for (const task of [1, 2, 6]) tasks.set(task, (await loadBabiTask(data, task, 'train')).slice(0, 8));
  const vocabulary = dnc.babiVocabulary([...tasks.values()].flat());
  const stories = dnc.encodeBabiTasks(tasks, vocabulary);
  const config = dnc.defaultDncConfig(vocabulary.size, vocabulary.size, {
    ...dnc.DNC_BABI_SIZES,
    controller: { kind: 'lstm', hiddenSize: 256, layers: 1 },
    memorySlots: 256,
    memoryWidth: 64,
    readHeads: 4,
  });
  const model = dnc.createDnc(config, new Random(1));
  const params = parameterList(model.params);
  const step = (story) => {
    for (const p of params) p.grad = null;
    dnc.babiGradients(model, [story]);
  };
  return { stories, step };
}

const builds = [];
for (const root of roots) builds.push(await trainer(root));
const stories = builds[0].stories.length;
const words = builds[0].stories.reduce((total, s) => total + s.inputs.length, 0);
for (const b of builds) b.step(b.stories[0]);
const time = [0, 0];
for (let round = 0; round < rounds; round++)
  for (let i = 0; i < stories; i++)
    for (const w of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const start = performance.now();
      builds[w].step(builds[w].stories[i]);
      time[w] += performance.now() - start;
    }
console.log(`DNC bAbI step, ${stories} stories (${words} words), ${rounds} rounds alternating story by story`);
for (const [w, root] of roots.entries()) console.log(`${w === 0 ? 'A' : 'B'} ${root}: ${((time[w] ?? 0) / words / rounds).toFixed(3)} ms per word`);
console.log(`B / A: ${((time[0] ?? 0) / (time[1] ?? 1)).toFixed(3)} (speed)`);
