/**
 * @engram/addressing: the Neural Turing Machine's memory addressing (Graves et al. 2014, §3.3) —
 * content addressing, interpolation, convolutional shift and sharpening — its read and write
 * (§3.1–3.2), and the End-to-End Memory Network's attention (Sukhbaatar et al. 2015, §2.1), as
 * small pure differentiable functions over @engram/tensor. Memory state is passed in and returned.
 *
 * ```ts
 * import { address, constrainHeadParameters, read } from '@engram/addressing';
 * const params = constrainHeadParameters(controllerSlice, { kind: 'read', memoryWidth: 20 });
 * const weighting = address(memory, previousWeighting, params);
 * const readVector = read(memory, weighting);
 * ```
 *
 * @packageDocumentation
 */
export { contentAddressing } from './content.js';
export {
  DEFAULT_SHIFT_WIDTH,
  HEAD_PARAMETERS,
  type HeadLayout,
  type HeadParameter,
  type HeadParameters,
  address,
  constrainHeadParameters,
  constrainInterface,
  headParameterLengths,
  headParameterTable,
  type InterfaceParameter,
  headParameterSize,
} from './head-parameters.js';
export { SHARPEN_EPSILON, convolutionalShift, interpolate, sharpen } from './location.js';
export {
  type BagMemoryHopsOptions,
  bagMemoryHopsAttention,
  MASKED_SCORE,
  type MemoryAttention,
  type MemoryAttentionOptions,
  memoryAttention,
  type MemoryHopsAttention,
  type MemoryHopsOptions,
  memoryHopsAttention,
} from './memnet-attention.js';
export { type WriteHead, read, write } from './memory-ops.js';
export type { ValidateOptions } from './validate.js';
