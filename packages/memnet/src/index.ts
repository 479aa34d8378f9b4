/**
 * @engram/memnet: End-to-End Memory Networks (Sukhbaatar, Szlam, Weston & Fergus 2015). A question
 * attends over a memory of embedded sentences for K hops, then answers with one word. Position
 * and temporal encoding, adjacent or layer-wise weight tying, linear start and random time noise,
 * the paper's training recipe, per-hop attention for inspection, and save / load.
 *
 * ```ts
 * import { Vocabulary, loadBabiTask } from '@engram/datasets';
 * import { answerQuestions, createMemnet, defaultMemnetConfig, trainMemnet } from '@engram/memnet';
 * import { Random } from '@engram/tensor';
 *
 * const train = await loadBabiTask('data/en', 1, 'train');
 * const vocabulary = Vocabulary.fromExamples(train);
 * const model = createMemnet(defaultMemnetConfig(vocabulary.size), new Random(1));
 * await trainMemnet(model, train, vocabulary, { seed: 1 });
 * const [reply] = answerQuestions(model, vocabulary, [{ story: [['mary', 'went', 'to', 'the', 'garden']], question: ['where', 'is', 'mary'] }]);
 * // reply.answer === 'garden'; reply.attention[hop][sentence]
 * ```
 *
 * @packageDocumentation
 */
export {
  type EmptySlots,
  MEMNET_LIMITS,
  type MemnetConfig,
  type MemnetLimits,
  type SentenceEncoding,
  type WeightTying,
  defaultMemnetConfig,
  validateMemnetConfig,
} from './config.js';
export {
  type EncodeOptions,
  type MemnetBatch,
  PADDING_WEIGHT_ROW,
  UNIT_WEIGHT_ROW,
  encodeBatch,
  PAPER_MEMORY_SIZE,
  longestSentence,
  memnetConfigFor,
  officialPositionWeight,
  positionWeight,
  sentenceAges,
  unknownWords,
} from './encoding.js';
export { type MemnetAnswer, type MemnetQuestion, answerQuestions } from './inference.js';
export {
  type ForwardOptions,
  type MemnetModel,
  type MemnetOutput,
  type MemnetParams,
  createMemnet,
  embeddingRows,
  memnetForward,
} from './model.js';
export {
  type LoadedMemnet,
  MEMNET_FORMAT,
  type MemnetCheckpoint,
  loadMemnet,
  loadMemnetCheckpoint,
  memnetFromSafetensors,
  saveMemnet,
  saveMemnetCheckpoint,
} from './persistence.js';
export {
  type BatchLoss,
  type EpochPlan,
  type EpochReport,
  JOINT_SCHEDULE,
  type MemnetEvaluation,
  type MemnetSchedule,
  type MemnetStepResult,
  type MemnetTrainingState,
  PER_TASK_SCHEDULE,
  type TrainMemnetOptions,
  type TrainMemnetResult,
  type ValidationSplit,
  batchLoss,
  epochPlan,
  evaluateMemnet,
  splitValidation,
  totalEpochs,
  trainMemnet,
  trainStep,
} from './train.js';
export {
  type EvaluateMemnetLmOptions,
  type LoadedMemnetLm,
  MEMNET_LM_FORMAT,
  MEMNET_LM_RECIPE,
  MEMNET_LM_SIZES,
  type MemnetLmCheckpoint,
  type MemnetLmEvaluation,
  type MemnetLmHop,
  type MemnetLmInspection,
  type MemnetLmReading,
  type MemnetLmScore,
  type MemnetLmRecipe,
  type MemnetLmSizes,
  type MemnetLmSnapshot,
  type MemnetLmTrainOutcome,
  type MemnetLmTrainingState,
  type TrainMemnetLmOptions,
  type MemnetLmGradients,
  type MemnetLmStep,
  type MemnetLmStepOutcome,
  createMemnetLmStep,
  memnetLmLoss,
  memnetLmLossAndGradients,
  encodeTextPositions,
  evaluateMemnetLm,
  freshMemnetLmTraining,
  inspectMemnetLm,
  isMemnetLm,
  loadMemnetLm,
  loadMemnetLmCheckpoint,
  memnetLmConfig,
  memnetLmFromSafetensors,
  memnetLmToSafetensors,
  readMemnetLm,
  saveMemnetLm,
  saveMemnetLmCheckpoint,
  trainMemnetLm,
} from './language-model.js';
