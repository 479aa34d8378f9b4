import { type TrainingState, checkTrainingState } from '@engram/ntm';
import {
  EngramError,
  type Optimizer,
  type OptimizerState,
  Random,
  type SafetensorsContents,
  checkpointContents,
  checkpointOptimizer,
  flattenParameters,
  loadSafetensors,
  loadSafetensorsFile,
  metadataJson,
  restoreParameters,
  saveSafetensors,
  saveSafetensorsFile,
  writeFileAtomic,
} from '@engram/tensor';
import { type DncConfig, validateDncConfig } from './config.js';
import { type DncModel, createDnc } from './model.js';

/** Format tag written into every file, checked on load. */
export const DNC_FORMAT = 'engram-dnc/1';

/** The metadata every file carries: the format tag and the config. */
const header = (model: DncModel): Record<string, string> => ({ format: DNC_FORMAT, config: JSON.stringify(model.config) });

function parseConfig(source: string, metadata: Record<string, string>): DncConfig {
  if (metadata.format !== DNC_FORMAT)
    throw new EngramError(`${source}: not an Engram DNC file (format '${metadata.format ?? 'missing'}', expected '${DNC_FORMAT}')`);
  const config = metadataJson(source, metadata, 'config');
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new EngramError(`${source}: the 'config' metadata must be an object`);
  try {
    validateDncConfig(config as DncConfig);
  } catch (error) {
    throw new EngramError(`${source}: ${(error as Error).message}`);
  }
  return config as DncConfig;
}

/** A model whose weights are the file's (every parameter present, with its shape); errors name `source`. */
function restore(source: string, { tensors, metadata }: SafetensorsContents): DncModel {
  const model = createDnc(parseConfig(source, metadata), new Random(0));
  restoreParameters(source, model.params, tensors);
  return model;
}

/** A model read back by {@link loadDnc} or {@link dncFromSafetensors}. */
export interface LoadedDnc {
  /** The model. */
  model: DncModel;
  /** The file's metadata (config, task, anything passed to {@link saveDnc}). */
  metadata: Record<string, string>;
}

/**
 * The bytes of a model file: weights as safetensors, the config as JSON metadata.
 * @param model - the DNC
 * @param metadata - strings stored in the file's header beside the config
 */
export function dncToSafetensors(model: DncModel, metadata: Record<string, string> = {}): Uint8Array {
  return saveSafetensors(flattenParameters(model.params, 'params'), { ...metadata, ...header(model) });
}

/**
 * Saves a trained model for inference. Atomic (a temporary file renamed over the target).
 * @param path - where to write
 * @param model - the DNC
 * @param metadata - strings stored in the file's header beside the config
 */
export async function saveDnc(path: string, model: DncModel, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, dncToSafetensors(model, metadata));
}

/**
 * Reads a model from its bytes (a browser's `fetch`, say). Errors name `source`.
 * @param bytes - the file's contents
 * @param source - names the data in error messages
 */
export function dncFromSafetensors(bytes: Uint8Array, source = 'DNC data'): LoadedDnc {
  const contents = loadSafetensors(bytes, { source });
  return { model: restore(source, contents), metadata: contents.metadata };
}

/**
 * Loads a model saved by {@link saveDnc} (or a checkpoint). Errors name the file.
 * @param path - the file
 */
export async function loadDnc(path: string): Promise<LoadedDnc> {
  const contents = await loadSafetensorsFile(path);
  return { model: restore(path, contents), metadata: contents.metadata };
}

/**
 * Writes a checkpoint (weights, optimizer state, training state) atomically.
 * @param path - where to write
 * @param model - the DNC
 * @param optimizer - the optimizer whose state is saved beside the weights
 * @param training - where training stands (step, data stream, curriculum), as `trainNtm` keeps it
 */
export async function saveDncCheckpoint(path: string, model: DncModel, optimizer: Optimizer, training: TrainingState): Promise<void> {
  const { tensors, metadata } = checkpointContents(model.params, optimizer);
  await saveSafetensorsFile(path, tensors, { ...header(model), ...metadata, training: JSON.stringify(training) });
}

/** A checkpoint read back by {@link loadDncCheckpoint}. */
export interface DncCheckpoint {
  /** The model with its trained weights. */
  model: DncModel;
  /** Pass to `optimizer.loadState` after creating the same optimizer over `parameterList(model.params)`. */
  optimizerState: OptimizerState;
  /** The learning rate in effect when it was written. */
  learningRate: number;
  /** Where training was. */
  training: TrainingState;
}

/**
 * Reads a checkpoint written by {@link saveDncCheckpoint}; every field is checked and named when wrong.
 * @param path - the checkpoint file
 */
export async function loadDncCheckpoint(path: string): Promise<DncCheckpoint> {
  const contents = await loadSafetensorsFile(path);
  const model = restore(path, contents);
  if (!Object.hasOwn(contents.metadata, 'training')) throw new EngramError(`${path}: no 'training' metadata (is this a model file rather than a checkpoint?)`);
  const training = checkTrainingState(path, metadataJson(path, contents.metadata, 'training'));
  const optimizer = checkpointOptimizer(path, contents.tensors, contents.metadata);
  return { model, optimizerState: optimizer.state, learningRate: optimizer.learningRate, training };
}
