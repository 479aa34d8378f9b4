import {
  EngramError,
  type Optimizer,
  type OptimizerState,
  type Random,
  type SafetensorsContents,
  type Tensor,
  checkpointContents,
  saveSafetensorsFile,
  writeFileAtomic,
  checkCount,
  checkRngState,
  checkpointOptimizer,
  flattenParameters,
  loadSafetensors,
  loadSafetensorsFile,
  metadataJson,
  restoreParameters,
  saveSafetensors,
} from '@engram/tensor';
import { type NtmConfig, validateConfig } from './config.js';
import { type NtmModel, createNtm } from './model.js';

/** Format tag written into every file, checked on load. */
export const NTM_FORMAT = 'engram-ntm/1';
const FIXED_MEMORY_KEY = 'buffers.fixedMemory';

function modelTensors(model: NtmModel): Record<string, Tensor> {
  const tensors = flattenParameters(model.params, 'params');
  if (model.fixedMemory) tensors[FIXED_MEMORY_KEY] = model.fixedMemory;
  return tensors;
}

/** The metadata every file carries: the format tag and the config. */
const header = (model: NtmModel): Record<string, string> => ({ format: NTM_FORMAT, config: JSON.stringify(model.config) });

function parseConfig(path: string, metadata: Record<string, string>): NtmConfig {
  if (metadata.format !== NTM_FORMAT)
    throw new EngramError(`${path}: not an Engram NTM file (format '${metadata.format ?? 'missing'}', expected '${NTM_FORMAT}')`);
  const config = metadataJson(path, metadata, 'config');
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new EngramError(`${path}: the 'config' metadata must be an object`);
  validateConfig(config as NtmConfig);
  return config as NtmConfig;
}

function restoreModel(path: string, config: NtmConfig, tensors: Record<string, Tensor>, rng: Random): NtmModel {
  const model = createNtm(config, rng);
  restoreParameters(path, model.params, tensors);
  const fixed = Object.hasOwn(tensors, FIXED_MEMORY_KEY) ? tensors[FIXED_MEMORY_KEY] : undefined;
  if (model.fixedMemory) {
    if (fixed === undefined) throw new EngramError(`${path}: missing '${FIXED_MEMORY_KEY}'`);
    model.fixedMemory.assign(fixed.toArray());
  }
  return model;
}

/**
 * Saves a trained model for inference: weights as safetensors, the config as JSON metadata. Atomic.
 * @param path - where to write (atomically)
 * @param model - the NTM
 * @param metadata - strings stored in the file's header beside the config
 */
export async function saveNtm(path: string, model: NtmModel, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, ntmToSafetensors(model, metadata));
}

/**
 * The bytes {@link saveNtm} writes, for places without a file system (a browser download, say).
 * {@link ntmFromSafetensors} and {@link loadNtm} read them back.
 * @param model - the NTM
 * @param metadata - strings stored in the file's header beside the config
 */
export function ntmToSafetensors(model: NtmModel, metadata: Record<string, string> = {}): Uint8Array {
  return saveSafetensors(modelTensors(model), { ...metadata, ...header(model) });
}

/** A model read back by {@link loadNtm}. */
export interface LoadedNtm {
  /** The model. */
  model: NtmModel;
  /** The file's metadata (config, task, anything passed to {@link saveNtm}). */
  metadata: Record<string, string>;
}

/** The model in a file's tensors and metadata; errors name `source`. */
function loaded(source: string, { tensors, metadata }: SafetensorsContents, rng: Random): LoadedNtm {
  return { model: restoreModel(source, parseConfig(source, metadata), tensors, rng), metadata };
}

/**
 * Loads a model saved by {@link saveNtm} (or a checkpoint). Errors name the file.
 * @param path - a model file written by `saveNtm` (or a checkpoint)
 * @param rng - a seeded random source for building the model before its weights are loaded
 */
export async function loadNtm(path: string, rng: Random): Promise<LoadedNtm> {
  return loaded(path, await loadSafetensorsFile(path), rng);
}

/**
 * Reads a model saved by {@link saveNtm} from its bytes, for browsers and other places without a
 * file system (`fetch(url)` → `arrayBuffer()`). Errors name `source`.
 *
 * @param source names the data in error messages (a URL, say)
 * @param bytes - the file's contents
 * @param rng - a seeded random source for building the model before its weights are loaded
 */
export function ntmFromSafetensors(bytes: Uint8Array, rng: Random, source = 'NTM data'): LoadedNtm {
  return loaded(source, loadSafetensors(bytes, { source }), rng);
}

/** What a training checkpoint holds besides the weights: enough to continue exactly. */
export interface TrainingState {
  /** Optimisation steps done. */
  step: number;
  /** Training sequences seen. */
  sequences: number;
  /** Wall-clock seconds of training so far. */
  seconds: number;
  /** The data generator's state (see `Random.state`). */
  rngState: [number, number, number, number];
  /** Curriculum level (longest length allowed), if a curriculum is used. */
  curriculumLevel: number | null;
  /** Anything else the trainer wants to keep (its options, say). */
  extra: Record<string, unknown>;
  /** Error bits of the recent batches, which the curriculum averages (absent in older checkpoints). */
  recentBits?: number[];
  /** Held-out evaluations in a row under the goal so far (absent in older checkpoints). */
  passes?: number;
}

/**
 * Writes a checkpoint (weights, optimizer state, training state) atomically: a temporary file
 * renamed over the target, so an interrupted write never leaves a broken checkpoint.
 * @param path - where to write (atomically: a temporary file, then a rename)
 * @param model - the NTM
 * @param optimizer - the optimizer whose state is saved beside the weights
 * @param training - where training stands: step, data stream state, curriculum
 */
export async function saveCheckpoint(path: string, model: NtmModel, optimizer: Optimizer, training: TrainingState): Promise<void> {
  const { tensors, metadata } = checkpointContents(model.params, optimizer, model.fixedMemory ? { [FIXED_MEMORY_KEY]: model.fixedMemory } : {});
  await saveSafetensorsFile(path, tensors, { ...header(model), ...metadata, training: JSON.stringify(training) });
}

/** A checkpoint read back by {@link loadCheckpoint}. */
export interface Checkpoint {
  /** The model with its trained weights. */
  model: NtmModel;
  /** Pass to `optimizer.loadState` after creating the same optimizer over `parameterList(model.params)`. */
  optimizerState: OptimizerState;
  /** The learning rate in effect when it was written. */
  learningRate: number;
  /** Where training was. */
  training: TrainingState;
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}.
 * @param path - the checkpoint file written by `saveCheckpoint`
 * @param rng - a seeded random source for building the model before its weights are loaded
 */
export async function loadCheckpoint(path: string, rng: Random): Promise<Checkpoint> {
  const { tensors, metadata } = await loadSafetensorsFile(path);
  const model = restoreModel(path, parseConfig(path, metadata), tensors, rng);
  if (!Object.hasOwn(metadata, 'training')) throw new EngramError(`${path}: no 'training' metadata (is this a model file rather than a checkpoint?)`);
  const training = checkTrainingState(path, metadataJson(path, metadata, 'training'));
  const optimizer = checkpointOptimizer(path, tensors, metadata);
  return { model, optimizerState: optimizer.state, learningRate: optimizer.learningRate, training };
}

/**
 * A checkpoint's training state, every field checked and named when wrong (for any model trained by
 * `trainNtm`: the NTM's checkpoints and @engram/dnc's).
 * @param source - names the file in errors
 * @param value - the parsed 'training' metadata
 */
export function checkTrainingState(source: string, value: unknown): TrainingState {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EngramError(`${source}: the 'training' metadata must be an object`);
  const t = value as Record<string, unknown>;
  const seconds = t.seconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
    throw new EngramError(`${source}: 'training.seconds' must be a non-negative number`);
  const level = t.curriculumLevel ?? null;
  if (level !== null && (typeof level !== 'number' || !Number.isInteger(level) || level < 1 || level > 10_000))
    throw new EngramError(`${source}: 'training.curriculumLevel' must be null or an integer in 1..10000`);
  const recent = t.recentBits ?? [];
  if (!Array.isArray(recent) || recent.length > 1000 || !recent.every((b) => typeof b === 'number' && Number.isFinite(b) && b >= 0))
    throw new EngramError(`${source}: 'training.recentBits' must be at most 1000 non-negative numbers`);
  const extra = t.extra ?? {};
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new EngramError(`${source}: 'training.extra' must be an object`);
  return {
    step: checkCount(source, 'training.step', t.step),
    sequences: checkCount(source, 'training.sequences', t.sequences),
    seconds,
    rngState: checkRngState(source, 'training.rngState', t.rngState),
    curriculumLevel: level as number | null,
    extra: extra as Record<string, unknown>,
    recentBits: recent as number[],
    passes: checkCount(source, 'training.passes', t.passes ?? 0),
  };
}
