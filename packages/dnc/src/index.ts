/**
 * @engram/dnc: the Differentiable Neural Computer (Graves et al. 2016, "Hybrid computing using a
 * neural network with dynamic external memory") over @engram/tensor — a controller that writes where
 * memory is free (dynamic allocation from a usage vector), remembers the order of its writes
 * (temporal link matrices) and reads forward, backward or by content. It trains through
 * @engram/ntm's sequence loop (`trainNtm`, `trainBatch`) as a `RecurrentMemoryModel`.
 *
 * ```ts
 * import { Random } from '@engram/tensor';
 * import { trainNtm } from '@engram/ntm';
 * import { DNC_RECIPE, createDnc, defaultDncConfig, dncRecurrent } from '@engram/dnc';
 * const model = createDnc(defaultDncConfig(6, 5), new Random(1));
 * await trainNtm(dncRecurrent(model), 'repeat-copy', { recipe: DNC_RECIPE, maxSequences: 10_000 });
 * ```
 *
 * @packageDocumentation
 */
export { DNC_LIMITS, type DncConfig, type DncControllerConfig, type DncLimits, defaultDncConfig, validateDncConfig } from './config.js';
export {
  ALLOCATION_EPSILON,
  type DncInterfaceName,
  type DncInterfaceSizes,
  allocationWeighting,
  backwardWeighting,
  dncInterfaceTable,
  forwardWeighting,
  type LinkReadWeightings,
  linkReadWeightings,
  freeList,
  headPart,
  linkMatrix,
  oneplus,
  precedenceWeighting,
  readWeighting,
  retentionVector,
  usageVector,
  writeAllocationWeightings,
  writeWeighting,
} from './memory-access.js';
export {
  type DncModel,
  type DncParameters,
  type DncState,
  type DncStepOptions,
  type DncStepResult,
  createDnc,
  dncRecurrent,
  dncStep,
  initialDncState,
} from './model.js';
export {
  type DncKernelBatch,
  type DncKernelResult,
  type DncSequenceOptions,
  dncKernelSequence,
  dncSequenceEvaluation,
  dncSequenceGradients,
  dncSequenceSupported,
} from './fused-sequence.js';
export { DNC_RECIPE, type NewDnc, type NewDncOptions, newDnc } from './recipe.js';
export {
  DNC_FORMAT,
  type DncCheckpoint,
  type LoadedDnc,
  dncFromSafetensors,
  dncToSafetensors,
  loadDnc,
  loadDncCheckpoint,
  saveDnc,
  saveDncCheckpoint,
} from './persistence.js';
export { type DncInspection, type DncStepInspection, inspectDnc } from './inspect.js';
export {
  BABI_SYMBOLS,
  type BabiLoss,
  type BabiSequence,
  type BabiSymbols,
  DNC_BABI_RECIPE,
  DNC_BABI_SIZES,
  type BabiScore,
  babiGradients,
  babiLoss,
  babiScore,
  babiVocabulary,
  encodeBabiEpisode,
  encodeBabiTasks,
} from './babi.js';
export {
  type DncBabiBatchResult,
  type DncBabiEvaluation,
  type DncBabiTaskError,
  type DncBabiGradients,
  type DncBabiOutcome,
  type DncBabiProgress,
  type DncBabiStepReport,
  type TrainDncBabiOptions,
  babiProgress,
  batchByLength,
  evaluateDncBabi,
  trainDncBabi,
} from './babi-train.js';
