/**
 * @engram/datasets: seeded data for memory-augmented networks. This release has the NTM's
 * algorithmic tasks (Graves et al. 2014, §4): copy, repeat copy, associative recall and priority
 * sort, each with the paper's defaults and every size configurable, batched with masks, and an
 * optional curriculum over lengths.
 *
 * ```ts
 * import { Random } from '@engram/tensor';
 * import { copyTask, sampleBatch } from '@engram/datasets';
 * const batch = sampleBatch(copyTask, new Random(1), 32, { maxLength: 20 });
 * // batch.inputs: [steps, 32, 9], batch.targets: [steps, 32, 8], batch.mask: [steps, 32]
 * ```
 *
 * @packageDocumentation
 */
export {
  DEFAULT_CURRICULUM,
  type LengthCurriculum,
  advanceCurriculum,
  algorithmicTask,
  curriculumCeiling,
  curriculumOptions,
  sampleBatch,
} from './batches.js';
export { type SequenceBatch, type SequenceTask, type TaskSequence, packSequences, randomBits } from './sequence-batch.js';
export {
  ALGORITHMIC_TASKS,
  type AlgorithmicTaskName,
  type AssociativeRecallOptions,
  type CopyOptions,
  type PrioritySortOptions,
  type RepeatCopyOptions,
  associativeRecallTask,
  copyTask,
  prioritySortTask,
  repeatCopyTask,
} from './tasks.js';
export { BABI_TASKS, type BabiExample, Vocabulary, answerToken, loadBabiTask, parseBabi, tokenize } from './babi.js';
