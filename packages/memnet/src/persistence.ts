import { Vocabulary } from '@engram/datasets';
import {
  EngramError,
  type Optimizer,
  type OptimizerState,
  Random,
  type Tensor,
  checkpointContents,
  checkpointOptimizer,
  checkCount,
  checkRngState,
  flattenParameters,
  loadSafetensors,
  loadSafetensorsFile,
  metadataJson,
  restoreParameters,
  saveSafetensorsFile,
} from '@engram/tensor';
import { type MemnetConfig, validateMemnetConfig } from './config.js';
import { type MemnetModel, createMemnet } from './model.js';
import type { MemnetTrainingState } from './train.js';

/** Format tag written into every file, checked on load. */
export const MEMNET_FORMAT = 'engram-memnet/1';

function parseJson<T>(path: string, metadata: Record<string, string>, key: string): T {
  return metadataJson(path, metadata, key) as T;
}

function restore(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string>): { model: MemnetModel; vocabulary: Vocabulary } {
  if (metadata.format !== MEMNET_FORMAT)
    throw new EngramError(`${path}: not an Engram MemN2N file (format '${metadata.format ?? 'missing'}', expected '${MEMNET_FORMAT}')`);
  const config = parseJson<MemnetConfig>(path, metadata, 'config');
  validateMemnetConfig(config);
  const words = parseJson<string[]>(path, metadata, 'vocabulary');
  if (!Array.isArray(words) || words.some((w) => typeof w !== 'string')) throw new EngramError(`${path}: 'vocabulary' must be a list of words`);
  const vocabulary = Vocabulary.fromWords(words);
  if (vocabulary.size !== config.vocabularySize)
    throw new EngramError(`${path}: the vocabulary has ${vocabulary.size} words but the config says ${config.vocabularySize}`);
  const model = createMemnet(config, new Random(0));
  restoreParameters(path, model.params, tensors);
  return { model, vocabulary };
}

function header(model: MemnetModel, vocabulary: Vocabulary): Record<string, string> {
  if (vocabulary.size !== model.config.vocabularySize)
    throw new EngramError(`saveMemnet: the vocabulary has ${vocabulary.size} words, the model expects ${model.config.vocabularySize}`);
  return { format: MEMNET_FORMAT, config: JSON.stringify(model.config), vocabulary: JSON.stringify(vocabulary.words) };
}

/** A model read back by {@link loadMemnet}. */
export interface LoadedMemnet {
  /** The model. */
  model: MemnetModel;
  /** Its vocabulary (words ↔ ids, answers included). */
  vocabulary: Vocabulary;
  /** The file's metadata (config, vocabulary, anything passed to {@link saveMemnet}). */
  metadata: Record<string, string>;
}

/**
 * Saves a trained model with its vocabulary: weights as safetensors, config and words as JSON metadata. Atomic.
 * @param path - where to write (atomically)
 * @param model - the memory network
 * @param vocabulary - the model's vocabulary, stored in the file
 * @param metadata - strings stored in the file's header
 */
export async function saveMemnet(path: string, model: MemnetModel, vocabulary: Vocabulary, metadata: Record<string, string> = {}): Promise<void> {
  await saveSafetensorsFile(path, flattenParameters(model.params, 'params'), { ...metadata, ...header(model, vocabulary) });
}

/**
 * Loads a model saved by {@link saveMemnet} (or a checkpoint). Errors name the file.
 * @param path - a model file written by `saveMemnet`
 */
export async function loadMemnet(path: string): Promise<LoadedMemnet> {
  const { tensors, metadata } = await loadSafetensorsFile(path);
  return { ...restore(path, tensors, metadata), metadata };
}

/**
 * Reads a model saved by {@link saveMemnet} from its bytes, for browsers and other places without a
 * file system (`fetch(url)` → `arrayBuffer()`). Errors name `source`.
 *
 * @param source names the data in error messages (a URL, say)
 * @param bytes - the file's contents
 */
export function memnetFromSafetensors(bytes: Uint8Array, source = 'MemN2N data'): LoadedMemnet {
  const { tensors, metadata } = loadSafetensors(bytes, { source });
  return { ...restore(source, tensors, metadata), metadata };
}

/** A checkpoint read back by {@link loadMemnetCheckpoint}. */
export interface MemnetCheckpoint extends LoadedMemnet {
  /** Pass to `optimizer.loadState` after creating the same optimizer over `parameterList(model.params)`. */
  optimizerState: OptimizerState;
  /** Where training was; pass as `resume` to `trainMemnet`. */
  training: MemnetTrainingState;
}

/**
 * Writes a checkpoint (weights, vocabulary, optimiser state, training state, and any extra
 * metadata such as the run's options) atomically: a temporary file renamed over the target.
 * @param path - where to write (atomically)
 * @param model - the memory network
 * @param vocabulary - the model's vocabulary
 * @param optimizer - the optimizer whose state is saved
 * @param training - where training stands: epoch, order, random state
 * @param metadata - strings stored in the file's header
 */
export async function saveMemnetCheckpoint(
  path: string,
  model: MemnetModel,
  vocabulary: Vocabulary,
  optimizer: Optimizer,
  training: MemnetTrainingState,
  metadata: Record<string, string> = {},
): Promise<void> {
  const contents = checkpointContents(model.params, optimizer);
  await saveSafetensorsFile(path, contents.tensors, { ...metadata, ...header(model, vocabulary), ...contents.metadata, training: JSON.stringify(training) });
}

/**
 * Reads a checkpoint written by {@link saveMemnetCheckpoint}.
 * @param path - a checkpoint written by `saveMemnetCheckpoint`
 */
export async function loadMemnetCheckpoint(path: string): Promise<MemnetCheckpoint> {
  const { tensors, metadata } = await loadSafetensorsFile(path);
  const loaded = restore(path, tensors, metadata);
  const raw = parseJson<Record<string, unknown> | null>(path, metadata, 'training');
  if (typeof raw !== 'object' || raw === null) throw new EngramError(`${path}: the 'training' metadata must be an object`);
  const training: MemnetTrainingState = {
    epoch: checkCount(path, 'training.epoch', raw.epoch),
    steps: checkCount(path, 'training.steps', raw.steps),
    rngState: checkRngState(path, 'training.rngState', raw.rngState),
  };
  return { ...loaded, metadata, optimizerState: checkpointOptimizer(path, tensors, metadata).state, training };
}
