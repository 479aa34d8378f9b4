import {
  EngramError,
  PARAMETERS_PREFIX,
  Random,
  SGD,
  type SafetensorsContents,
  checkRngState,
  checkpointContents,
  checkpointOptimizer,
  flattenParameters,
  loadSafetensors,
  loadSafetensorsFile,
  metadataJson,
  restoreParameters,
  parameterList,
  saveSafetensors,
  tensorsWithPrefix,
  writeFileAtomic,
} from '@engram/tensor';
import { type LmConfig, validateLmConfig } from './config.js';
import { type LmModel, type LmState, createLm } from './model.js';
import { type LmEpochRecord, type LmTrainingSnapshot, type LmTrainingState, carriedStateTensors } from './train.js';
import { LmVocabulary } from './vocabulary.js';

/** Format tag written into every file, checked on load. */
export const LM_FORMAT = 'engram-lm/1';
const STATE = 'state.';
/** A model read back from a file. */
export interface LoadedLm {
  /** The model with its weights. */
  model: LmModel;
  /** Its words (ids 0 … V − 1). */
  vocabulary: LmVocabulary;
  /** The file's metadata (anything passed when saving, plus format, config and vocabulary). */
  metadata: Record<string, string>;
}

/** What every language model's config has: the size of its vocabulary. */
export interface SizedVocabulary {
  /** V, the number of words. */
  vocabularySize: number;
}

/** What {@link readLmHeader} reads. */
export interface LmHeader<C extends SizedVocabulary> {
  /** The model's config, checked. */
  config: C;
  /** Its words, as many as the config says. */
  vocabulary: LmVocabulary;
}

/** A kind of language-model file: its format tag, what it is called in errors, and its config's validator. */
export interface LmFileKind<C extends SizedVocabulary> {
  /** The format tag written into every file and checked on load. */
  format: string;
  /** What the file holds, for errors ("an Engram language model"). */
  what: string;
  /** Checks an untrusted config and names the first bad field (throws an EngramError). */
  validate: (config: unknown, source: string) => void;
  /** The config's type, carried for TypeScript only. */
  readonly config?: C;
}

/** The LSTM language model's files. */
const LSTM_FILE: LmFileKind<LmConfig> = { format: LM_FORMAT, what: 'an Engram language model', validate: validateLmConfig };

/**
 * Reads and checks what every language-model file's header holds, whatever the model: the format tag,
 * the config and the vocabulary, and that the two agree. Errors name `source` and the field.
 * @param source - the file or data named in errors
 * @param metadata - the file's metadata
 * @param kind - which kind of file it must be
 */
export function readLmHeader<C extends SizedVocabulary>(source: string, metadata: Record<string, string>, kind: LmFileKind<C>): LmHeader<C> {
  const format = Object.hasOwn(metadata, 'format') ? metadata.format : undefined;
  if (format !== kind.format) throw new EngramError(`${source}: not ${kind.what} (format '${format ?? 'missing'}', expected '${kind.format}')`);
  const config = metadataJson(source, metadata, 'config');
  kind.validate(config, `${source}: config`);
  const vocabulary = LmVocabulary.fromJson(metadataJson(source, metadata, 'vocabulary'), `${source}: vocabulary`);
  const size = (config as C).vocabularySize;
  if (vocabulary.size !== size) throw new EngramError(`${source}: the vocabulary has ${vocabulary.size} words but the config says ${size}`);
  return { config: config as C, vocabulary };
}

/**
 * The header {@link readLmHeader} reads: format tag, config and words as metadata.
 * @param kind - which kind of file
 * @param config - the model's config
 * @param vocabulary - its words
 * @param saver - the function named when the two disagree
 */
export function writeLmHeader<C extends SizedVocabulary>(kind: LmFileKind<C>, config: C, vocabulary: LmVocabulary, saver: string): Record<string, string> {
  if (vocabulary.size !== config.vocabularySize)
    throw new EngramError(`${saver}: the vocabulary has ${vocabulary.size} words, the model expects ${config.vocabularySize}`);
  return { format: kind.format, config: JSON.stringify(config), vocabulary: JSON.stringify(vocabulary.words) };
}

function restore(source: string, { tensors, metadata }: SafetensorsContents): LoadedLm {
  const { config, vocabulary } = readLmHeader(source, metadata, LSTM_FILE);
  const model = createLm(config, new Random(0));
  restoreParameters(source, model.params, tensors);
  return { model, vocabulary, metadata };
}

function header(model: LmModel, vocabulary: LmVocabulary): Record<string, string> {
  return writeLmHeader(LSTM_FILE, model.config, vocabulary, 'saveLm');
}

/**
 * The bytes of a model file (weights as safetensors; config and words as metadata), for places without a file
 * system. `dtype: 'F16'` halves the file (weights rounded to half precision; they load back as float32).
 * @param model - the language model
 * @param vocabulary - the model's vocabulary, stored in the file
 * @param metadata - strings stored in the file's header
 * @param options - `dtype`: F32 or F16 (half the size)
 */
export function lmToSafetensors(
  model: LmModel,
  vocabulary: LmVocabulary,
  metadata: Record<string, string> = {},
  options: { dtype?: 'F32' | 'F16' } = {},
): Uint8Array {
  return saveSafetensors(flattenParameters(model.params, 'params'), { ...metadata, ...header(model, vocabulary) }, options);
}

/**
 * Reads a model from its bytes (a browser's `fetch`, say). Errors name `source`.
 * @param bytes - the file's contents
 * @param source - named in errors
 */
export function lmFromSafetensors(bytes: Uint8Array, source = 'language model data'): LoadedLm {
  return restore(source, loadSafetensors(bytes, { source }));
}

/**
 * Saves a model with its vocabulary, atomically. Node only.
 * @param path - where to write (atomically)
 * @param model - the language model
 * @param vocabulary - the model's vocabulary, stored in the file
 * @param metadata - strings stored in the file's header
 * @param options - `dtype`: F32 or F16 (half the size)
 */
export async function saveLm(
  path: string,
  model: LmModel,
  vocabulary: LmVocabulary,
  metadata: Record<string, string> = {},
  options: { dtype?: 'F32' | 'F16' } = {},
): Promise<void> {
  await writeFileAtomic(path, lmToSafetensors(model, vocabulary, metadata, options));
}

/**
 * Loads a model (or the model in a checkpoint). Errors name the file. Node only.
 * @param path - a model file written by `saveLm` (or a checkpoint)
 */
export async function loadLm(path: string): Promise<LoadedLm> {
  return restore(path, await loadSafetensorsFile(path));
}

/**
 * Saves a training checkpoint (weights, vocabulary, optimizer, carried state, training state) atomically. Node only.
 * @param path - where to write (atomically)
 * @param model - the language model
 * @param vocabulary - the model's vocabulary
 * @param snapshot - the training state, optimizer and carried state from `onCheckpoint`
 * @param metadata - strings stored in the file's header
 */
export async function saveLmCheckpoint(
  path: string,
  model: LmModel,
  vocabulary: LmVocabulary,
  snapshot: LmTrainingSnapshot,
  metadata: Record<string, string> = {},
): Promise<void> {
  const contents = checkpointContents(model.params, snapshot.optimizer, carriedStateTensors(snapshot.carried));
  await writeFileAtomic(
    path,
    saveSafetensors(contents.tensors, { ...metadata, ...header(model, vocabulary), ...contents.metadata, training: JSON.stringify(snapshot.training) }),
  );
}

/** A checkpoint read back: the model, its words, and the snapshot to pass to `trainLm` as `resume`. */
export interface LmCheckpoint extends LoadedLm {
  /** Where training stood. */
  snapshot: LmTrainingSnapshot;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Checks a checkpoint's list of finished epochs (every language model's training state keeps one).
 * @param source - the file named in errors
 * @param history - the untrusted value of `training.history`
 */
export function checkEpochHistory(source: string, history: unknown): asserts history is LmEpochRecord[] {
  if (!Array.isArray(history) || history.length > 10_000) throw new EngramError(`${source}: training 'history' must be a list of epochs`);
  history.forEach((r, i) => {
    const record = r as Record<string, unknown>;
    const ok =
      typeof r === 'object' &&
      r !== null &&
      ['epoch', 'learningRate', 'trainPerplexity', 'validPerplexity', 'seconds'].every((k) => typeof record[k] === 'number');
    if (!ok) throw new EngramError(`${source}: training 'history' entry ${i} must have epoch, learningRate, trainPerplexity, validPerplexity and seconds`);
  });
}

function validateTrainingState(source: string, value: unknown): LmTrainingState {
  if (typeof value !== 'object' || value === null) throw new EngramError(`${source}: 'training' must be an object`);
  const t = value as Record<string, unknown>;
  for (const key of ['step', 'epoch', 'window', 'tokens'] as const)
    if (!isCount(t[key])) throw new EngramError(`${source}: training '${key}' must be a non-negative integer`);
  for (const key of ['seconds', 'epochNats', 'epochTokens'] as const) {
    if (typeof t[key] !== 'number' || !Number.isFinite(t[key]) || (t[key] as number) < 0)
      throw new EngramError(`${source}: training '${key}' must be a non-negative number`);
  }
  checkRngState(source, 'training.rngState', t.rngState);
  checkEpochHistory(source, t.history);
  return t as unknown as LmTrainingState;
}

/**
 * Reads a checkpoint written by {@link saveLmCheckpoint}; every field is checked and named when wrong. Node only.
 * @param path - a checkpoint written by `saveLmCheckpoint`
 * @param batch - the recipe's batch, which the carried state must match
 */
export async function loadLmCheckpoint(path: string, batch: number): Promise<LmCheckpoint> {
  const contents = await loadSafetensorsFile(path);
  const params = Object.fromEntries(Object.entries(contents.tensors).filter(([k]) => k.startsWith(PARAMETERS_PREFIX)));
  const loaded = restore(path, { tensors: params, metadata: contents.metadata });
  const { metadata, tensors } = contents;
  if (!Object.hasOwn(metadata, 'training')) throw new EngramError(`${path}: no 'training' metadata (a model file rather than a checkpoint?)`);
  const training = validateTrainingState(path, metadataJson(path, metadata, 'training'));
  const config: LmConfig = loaded.model.config;
  const carriedTensors = tensorsWithPrefix(path, tensors, STATE);
  const carried: LmState = { h: [], c: [] };
  for (const part of ['h', 'c'] as const) {
    for (let l = 0; l < config.layers; l++) {
      const t = carriedTensors[`${part}.${l}`];
      if (t === undefined || t.rank !== 2 || t.shape[0] !== batch || t.shape[1] !== config.hiddenSize) {
        throw new EngramError(`${path}: tensor 'state.${part}.${l}' must be [${batch}, ${config.hiddenSize}]`);
      }
      carried[part].push(t);
    }
  }
  const saved = checkpointOptimizer(path, tensors, metadata);
  if (!(saved.learningRate > 0 && Number.isFinite(saved.learningRate))) throw new EngramError(`${path}: 'optimizerLearningRate' must be a positive number`);
  const optimizer = new SGD(parameterList(loaded.model.params), saved.learningRate);
  optimizer.loadState(saved.state);
  return { ...loaded, snapshot: { training, carried, optimizer } };
}
