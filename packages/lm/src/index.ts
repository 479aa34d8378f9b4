/**
 * @engram/lm: language models with external memory. A word-level LSTM language model (embedding,
 * stacked fused LSTM layers, dropout between layers, optional tied embeddings, softmax) trained
 * by truncated BPTT with the recipes of Zaremba et al. 2014, and a neural cache (Grave et al. 2017)
 * that lowers perplexity on long text without retraining.
 *
 * ```ts
 * import { Random } from '@engram/tensor';
 * import { LM_RECIPES, createLm, evaluateLm, loadPtbCorpus, trainLm } from '@engram/lm';
 * const corpus = await loadPtbCorpus('data/ptb');
 * const recipe = LM_RECIPES.small;
 * const model = createLm({ ...recipe.model, vocabularySize: corpus.vocabulary.size }, new Random(1));
 * await trainLm(model, corpus, { recipe, onEpoch: (e) => console.log(e.epoch, e.validPerplexity) });
 * console.log(evaluateLm(model, corpus.test).perplexity);
 * ```
 *
 * @packageDocumentation
 */
export {
  type CacheDistribution,
  type CacheGridPoint,
  type CacheReading,
  type NextWordState,
  type Completion,
  DEFAULT_LAMBDAS,
  DEFAULT_THETAS,
  type ReadOptions,
  type Recalled,
  type TextRun,
  type TopWords,
  type WordProbability,
  bestPerSize,
  cacheDistribution,
  cacheGrid,
  completeText,
  interpolate,
  nextWordState,
  readWithCache,
  runText,
  topWords,
} from './cache.js';
export { LM_LIMITS, type LmConfig, type LmLimits, validateLmConfig } from './config.js';
export { type LmCorpus, type LoadTextCorpusOptions, MAX_TEXT_VOCABULARY, corpusFromTexts, loadPtbCorpus, loadTextCorpus, vocabularyOfText } from './corpus.js';
export { type Streams, type Window, streamRows, toStreams, windowAt, windowCount } from './data.js';
export {
  type LmDropoutMasks,
  type LmForward,
  type LmForwardOptions,
  type LmHidden,
  type LmLayerParameters,
  type LmModel,
  type LmOutputParameters,
  type LmParameters,
  type LmState,
  createLm,
  detachState,
  drawDropoutMasks,
  dropout,
  flatParameters,
  initialLmState,
  lmForward,
  lmHidden,
  type ReadWindow,
  readText,
} from './model.js';
export {
  LM_FORMAT,
  type LmCheckpoint,
  type LmFileKind,
  type LmHeader,
  type SizedVocabulary,
  type LoadedLm,
  checkEpochHistory,
  lmFromSafetensors,
  lmToSafetensors,
  loadLm,
  loadLmCheckpoint,
  readLmHeader,
  saveLm,
  saveLmCheckpoint,
  writeLmHeader,
} from './persistence.js';
export { LM_RECIPES, type LmRecipe, type LmRecipeName, learningRateAt, lmRecipe } from './recipes.js';
export {
  type EvaluateLmOptions,
  type LmEpochRecord,
  type LmEvaluation,
  type LmFinished,
  type LmInterrupted,
  type LmNonFinite,
  type LmStepReport,
  type LmTrainOutcome,
  type LmTrainingSnapshot,
  type LmTrainingState,
  type LmGradients,
  type LmGradientsResult,
  type LmShard,
  type LmShardResult,
  type LmWindowResult,
  type TrainLmOptions,
  carriedStateTensors,
  evaluateLm,
  freshTrainingState,
  lmShard,
  shardGradients,
  trainLm,
  trainWindow,
  trainWindowWith,
} from './train.js';
export { type EncodedText, LmVocabulary, MAX_WORD_LENGTH, UNKNOWN_WORD } from './vocabulary.js';
export {
  type BuildDatastoreOptions,
  type Datastore,
  type DatastoreFile,
  type IndexedDatastore,
  type IvfIndex,
  type KnnRecall,
  type LambdaPerplexity,
  MAX_DATASTORE_ENTRIES,
  type Neighbours,
  buildDatastore,
  buildIvfIndex,
  datastoreFromBytes,
  datastoreToBytes,
  exactNeighbours,
  ivfNeighbours,
  knnPerplexities,
  knnProbabilities,
  knnRecall,
  loadDatastore,
  makeDatastore,
  modelFingerprint,
  neighbourRecall,
  saveDatastore,
} from './knn.js';
export { ptbTokens } from './tokenize.js';
