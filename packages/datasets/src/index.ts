/**
 * @engram/datasets: seeded data for memory-augmented networks: the NTM's algorithmic tasks (Graves
 * et al. 2014, §4: copy, repeat copy, associative recall, priority sort) with the paper's defaults,
 * batched with masks and an optional curriculum; the bAbI question-answering tasks (a checked
 * reader, tokenisation, vocabularies); the Penn Treebank LM text and other texts laid out like it (plain
 * `train.txt` names, WikiText's); and download helpers that verify
 * every file against pinned checksums (`downloadBabi`, `downloadPtb`, Node only).
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
  TASK_OPTION_LIMITS,
  type LengthCurriculum,
  advanceCurriculum,
  algorithmicTask,
  checkTaskOptions,
  curriculumCeiling,
  curriculumOptions,
  sampleBatch,
} from './batches.js';
export { type SequenceBatch, type SequenceTask, type TaskSequence, packSequences, randomBits, sliceSequences } from './sequence-batch.js';
export {
  ALGORITHMIC_TASKS,
  type AlgorithmicTaskName,
  type AssociativeRecallOptions,
  type CopyOptions,
  type PrioritySortOptions,
  type RepeatCopyOptions,
  associativeRecallSequence,
  associativeRecallTask,
  copySequence,
  copyTask,
  prioritySortTask,
  repeatCopySequence,
  repeatCopyTask,
} from './tasks.js';
export {
  BABI_TASKS,
  type BabiEpisode,
  type BabiEpisodeLine,
  type BabiQuestionLine,
  type BabiSentenceLine,
  type BabiExample,
  Vocabulary,
  answerToken,
  babiEpisodes,
  loadBabiTask,
  parseBabi,
  tokenize,
} from './babi.js';
export { BABI_GIT_BLOB_SHA1, BABI_SHA256, PTB_SHA256 } from './checksums.js';
export {
  BABI_URL,
  type DownloadOptions,
  type DownloadReport,
  MAX_UNPACKED_BYTES,
  PTB_URL,
  type PinnedFile,
  type TarEntry,
  babiFiles,
  downloadBabi,
  downloadPinned,
  downloadPtb,
  fetchBytes,
  readTar,
  verifyFile,
} from './download.js';
export { END_OF_SENTENCE, type TextCorpus, loadPtb, parsePtb, toIds, vocabularyOf } from './ptb.js';
export { MAX_DATA_FILE_BYTES } from './files.js';
export {
  TEXT_CORPUS_NAMINGS,
  type TextCorpusFiles,
  type TextCorpusNaming,
  type TextSplit,
  readTextCorpus,
  textCorpusNaming,
} from './text-corpus.js';
