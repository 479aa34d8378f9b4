// The DNC's bAbI training step at the paper's sizes (LSTM 256, memory 256 × 64, four read heads): forward and backward
// of the same six task-1 stories, one at a time, one thread; prints ms per word. ENGRAM_ROOT points at another
// checkout's built packages (default this one), so two builds can be compared in turn on the same machine:
//   node packages/dnc/bench/babi-step.mjs; ENGRAM_ROOT=/path/to/other/checkout node packages/dnc/bench/babi-step.mjs
// The step is the one training takes (babiGradients: the whole-sequence kernel; ENGRAM_NTM_TAPE=1 forces the tape;
// a build without babiGradients runs babiLoss on the tape).
// Set ENGRAM_BABI to the folder with the 10k tasks (default ../shared/data/babi/en-10k).
const ROOT = process.env.ENGRAM_ROOT ?? new URL('../../..', import.meta.url).pathname;
const DATA = process.env.ENGRAM_BABI ?? new URL('../../../../shared/data/babi/en-10k', import.meta.url).pathname;
const { loadBabiTask } = await import(`${ROOT}/packages/datasets/dist/index.js`);
const { Random, parameterList } = await import(`${ROOT}/packages/tensor/dist/index.js`);
const { DNC_BABI_SIZES, babiGradients, babiLoss, babiVocabulary, createDnc, defaultDncConfig, encodeBabiTasks } = await import(
  `${ROOT}/packages/dnc/dist/index.js`
);

const train = await loadBabiTask(DATA, 1, 'train');
const vocabulary = babiVocabulary(train);
const stories = encodeBabiTasks(new Map([[1, train.slice(0, 6)]]), vocabulary);
const config = defaultDncConfig(vocabulary.size, vocabulary.size, {
  ...DNC_BABI_SIZES,
  controller: { kind: 'lstm', hiddenSize: 256, layers: 1 },
  memorySlots: 256,
  memoryWidth: 64,
  readHeads: 4,
});
const model = createDnc(config, new Random(1));
const params = parameterList(model.params);
const step = (story) => {
  for (const p of params) p.grad = null;
  if (babiGradients) babiGradients(model, [story]);
  else babiLoss(model, [story]).loss.backward();
};
step(stories[0]);
const words = stories.reduce((total, s) => total + s.inputs.length, 0);
const start = performance.now();
for (const story of stories) step(story);
console.log(
  `${ROOT}${process.env.ENGRAM_NTM_TAPE === '1' ? ' (tape)' : ''}: ${((performance.now() - start) / words).toFixed(2)} ms per word (forward and backward, ${words} words of 6 task-1 stories)`,
);
