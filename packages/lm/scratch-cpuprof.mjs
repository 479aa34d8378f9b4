import { Random, SGD, parameterList } from '@engram/tensor';
import { LM_RECIPES, createLm, initialLmState, loadPtbCorpus, toStreams, trainWindow, windowAt } from './dist/index.js';
const recipe = LM_RECIPES.small;
const corpus = await loadPtbCorpus('/work/shared/data/ptb');
const model = createLm({ ...recipe.model, vocabularySize: 10000 }, new Random(1));
const opt = new SGD(parameterList(model.params), 1);
const streams = toStreams(corpus.train.subarray(0, 100000), 20);
let state = initialLmState(model, 20);
for (let i = 0; i < 25; i++) {
  const w = windowAt(streams, i * 20, 20);
  state = trainWindow(model, opt, state, w.inputs, w.targets, 20, { maxGradNorm: 5, step: i + 1 }).state;
}
