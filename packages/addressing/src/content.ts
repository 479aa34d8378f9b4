import { COSINE_EPSILON, type Tensor, cosineSimilarity, expandDims, mul, softmax } from '@engram/tensor';
import { type ValidateOptions, expectShape, expectValues, memoryShape } from './validate.js';

/**
 * Content addressing (NTM eq. 5–6): each memory row's cosine similarity to the key, sharpened by
 * the key strength and normalised over rows:
 *
 *   w_c(i) = exp(β · K(k, M(i))) / Σ_j exp(β · K(k, M(j))),   K(u, v) = u·v / (‖u‖·‖v‖ + ε)
 *
 * @param memory M, `[batch, N, M]`
 * @param key k, `[batch, M]`
 * @param strength β ≥ 0, `[batch, 1]`
 * @param options `epsilon`: ε guarding zero-norm rows (a memory initialised to zeros, say);
 *   `validate`: check β ≥ 0 (default true)
 * @returns w_c, `[batch, N]`
 */
export function contentAddressing(memory: Tensor, key: Tensor, strength: Tensor, options: ValidateOptions & { epsilon?: number } = {}): Tensor {
  const op = 'contentAddressing';
  const [batch, , width] = memoryShape(op, memory);
  expectShape(op, 'key k', key, [batch, width]);
  expectShape(op, 'key strength β', strength, [batch, 1]);
  if (options.validate !== false) expectValues(op, 'key strength β', strength, (v) => v >= 0, '≥ 0');
  const similarity = cosineSimilarity(expandDims(key, 1), memory, -1, options.epsilon ?? COSINE_EPSILON);
  return softmax(mul(similarity, strength), -1);
}
