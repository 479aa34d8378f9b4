/**
 * @engram/ntm: the Neural Turing Machine (Graves, Wayne & Danihelka 2014) over @engram/tensor —
 * an LSTM or feed-forward controller that reads and writes an N × M memory through the
 * differentiable heads of @engram/addressing.
 *
 * @packageDocumentation
 */
export { type ControllerConfig, type MemoryInit, NTM_LIMITS, type NtmConfig, type NtmLimits, defaultNtmConfig, validateConfig } from './config.js';
export {
  INITIAL_FOCUS_LOGIT,
  type NtmModel,
  type NtmParameters,
  type NtmState,
  type NtmStepOptions,
  type NtmStepResult,
  createNtm,
  headLayouts,
  initialNtmState,
  ntmStep,
  stepSlice,
} from './model.js';
export {
  type Evaluation,
  NonFiniteError,
  type SequenceGradients,
  type SequenceGradientsResult,
  type SequenceLoss,
  type SequenceRun,
  type SequenceShardResult,
  type TrainBatchOptions,
  type TrainBatchResult,
  errorBits,
  evaluateBatch,
  runSequence,
  sequenceLoss,
  shardGradients,
  trainBatch,
  trainBatchWith,
} from './train.js';
export { type RecurrentMemoryModel, type RecurrentStep, type SequenceEvaluation, type SequenceModel, asRecurrent } from './recurrent.js';
export {
  type FusedSequenceOptions,
  type FusedSequenceResult,
  fusedSequenceEvaluation,
  fusedSequenceGradients,
  fusedSequenceSupported,
} from './fused-sequence.js';
/** The plain-array pieces of the tape-free sequence passes (the NTM's, @engram/dnc's): see the module's page. */
export * as arrayPass from './array-pass.js';
export { type StepInspection, type WrongBit, inspectSequence, wrongBits } from './inspect.js';
export {
  NTM_RECIPE,
  type NtmEvaluationPlan,
  type NtmRecipe,
  type NtmStepReport,
  type NtmTrainOutcome,
  type NtmTrainingSnapshot,
  type NewNtm,
  type NewNtmOptions,
  type TrainNtmOptions,
  freshNtmTraining,
  newNtm,
  ntmOptimizer,
  trainNtm,
} from './training-loop.js';
export {
  type Checkpoint,
  type LoadedNtm,
  NTM_FORMAT,
  type TrainingState,
  checkTrainingState,
  loadCheckpoint,
  loadNtm,
  ntmFromSafetensors,
  ntmToSafetensors,
  saveCheckpoint,
  saveNtm,
} from './persistence.js';
