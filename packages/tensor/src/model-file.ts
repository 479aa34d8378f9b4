/**
 * What every model file and checkpoint of Engram shares, written once: prototype-safe access to its
 * tensors by prefix, checked JSON metadata, and the optimizer's part of a checkpoint. Each model package
 * (ntm, memnet, lm) adds only its own format tag and config on top.
 */
import { EngramError } from './errors.js';
import { OPTIMIZER_TENSOR_PREFIX, type Optimizer, type OptimizerState, optimizerStateFromTensors, optimizerStateTensors } from './optim.js';
import { type ParameterTree, flattenParameters, loadParameters } from './parameters.js';
import type { Tensor } from './tensor.js';

/** The prefix of a model's parameters in every file (`params.controller.layers.0.weight`). */
export const PARAMETERS_PREFIX = 'params.';

/** Path segments that could reach an object's prototype; a tensor name holding one is rejected. */
const UNSAFE_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * The tensors whose names start with `prefix`, keyed without it, in a map with no prototype. A name
 * with a segment that could reach an object's prototype (`__proto__`, `constructor`, `prototype`) is an
 * error naming `source`, whatever its prefix.
 * @param source - the file or data named in errors
 * @param tensors - the file's tensors
 * @param prefix - the names' common prefix
 */
export function tensorsWithPrefix(source: string, tensors: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = Object.create(null);
  for (const [key, value] of Object.entries(tensors)) {
    if (key.split('.').some((segment) => UNSAFE_SEGMENTS.has(segment))) throw new EngramError(`${source}: tensor name '${key}' is not allowed`);
    if (key.startsWith(prefix)) out[key.slice(prefix.length)] = value;
  }
  return out;
}

/**
 * The JSON held in `metadata[key]`, parsed; a missing or malformed value is an error naming `source` and the key.
 * @param source - the file or data named in errors
 * @param metadata - the file's metadata
 * @param key - the field to parse
 */
export function metadataJson(source: string, metadata: Record<string, string>, key: string): unknown {
  const text = Object.hasOwn(metadata, key) ? metadata[key] : undefined;
  if (text === undefined) throw new EngramError(`${source}: the '${key}' metadata is missing`);
  try {
    return JSON.parse(text);
  } catch {
    throw new EngramError(`${source}: the '${key}' metadata is not valid JSON`);
  }
}

/** What {@link checkpointContents} returns: what to write with `saveSafetensors`. */
export interface CheckpointContents {
  /** The parameters under `params.`, the optimizer's slots under `optimizer.`, and the extra tensors. */
  tensors: Record<string, Tensor>;
  /** `optimizerStep` and `optimizerLearningRate`. */
  metadata: Record<string, string>;
}

/**
 * A checkpoint's tensors and optimizer metadata: the parameters under `params.`, the optimizer's slots, and `extra`.
 * @param params - the model's parameter tree
 * @param optimizer - the optimizer whose state is saved
 * @param extra - more tensors to store (a carried state, say)
 */
export function checkpointContents(params: ParameterTree, optimizer: Optimizer, extra: Record<string, Tensor> = {}): CheckpointContents {
  const state = optimizer.state();
  const tensors = { ...flattenParameters(params, 'params'), ...optimizerStateTensors(state), ...extra };
  return { tensors, metadata: { optimizerStep: String(state.step), optimizerLearningRate: String(optimizer.learningRate) } };
}

/** What {@link checkpointOptimizer} reads back. */
export interface SavedOptimizer {
  /** Pass to `optimizer.loadState` after creating the same optimizer over the same parameters. */
  state: OptimizerState;
  /** The learning rate in effect when it was written (NaN when the file does not say). */
  learningRate: number;
}

/**
 * The optimizer's part of a checkpoint, checked: its slots (safely keyed), its step and its learning rate.
 * @param source - the file or data named in errors
 * @param tensors - the file's tensors
 * @param metadata - the file's metadata
 */
export function checkpointOptimizer(source: string, tensors: Record<string, Tensor>, metadata: Record<string, string>): SavedOptimizer {
  const step = Number(Object.hasOwn(metadata, 'optimizerStep') ? metadata.optimizerStep : 0);
  if (!Number.isSafeInteger(step) || step < 0) throw new EngramError(`${source}: 'optimizerStep' must be a non-negative integer`);
  const slots = tensorsWithPrefix(source, tensors, OPTIMIZER_TENSOR_PREFIX);
  for (const key of Object.keys(slots)) {
    if (!/^[A-Za-z]\w*\.\d{1,6}$/.test(key)) throw new EngramError(`${source}: optimizer tensor '${OPTIMIZER_TENSOR_PREFIX}${key}' is not <slot>.<index>`);
  }
  const prefixed: Record<string, Tensor> = Object.create(null);
  for (const [key, value] of Object.entries(slots)) prefixed[OPTIMIZER_TENSOR_PREFIX + key] = value;
  const rate = Object.hasOwn(metadata, 'optimizerLearningRate') ? Number(metadata.optimizerLearningRate) : Number.NaN;
  return { state: optimizerStateFromTensors(prefixed, step), learningRate: rate };
}

/**
 * Copies a file's parameters (the tensors under `params.`) into a model's parameter tree: every
 * parameter present with its shape, no extra one, no name that could reach a prototype. Errors name `source`.
 * @param source - the file or data named in errors
 * @param params - the model's parameter tree, filled in place
 * @param tensors - the file's tensors
 */
export function restoreParameters(source: string, params: ParameterTree, tensors: Record<string, Tensor>): void {
  loadParameters(params, tensorsWithPrefix(source, tensors, PARAMETERS_PREFIX), source);
}

/**
 * A non-negative integer read from a file, or an error naming `source` and the field.
 * @param source - the file or data named in errors
 * @param field - the field named in errors
 * @param value - the untrusted value
 */
export function checkCount(source: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new EngramError(`${source}: '${field}' must be a non-negative integer, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * A random generator's state read from a file (four 32-bit integers, not all zero), or an error naming `source` and the field.
 * @param source - the file or data named in errors
 * @param field - the field named in errors
 * @param value - the untrusted value
 */
export function checkRngState(source: string, field: string, value: unknown): [number, number, number, number] {
  if (!Array.isArray(value) || value.length !== 4 || !value.every((x) => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 32) || value.every((x) => x === 0))
    throw new EngramError(`${source}: '${field}' must be four 32-bit integers, not all zero`);
  return value as [number, number, number, number];
}
