import { COSINE_EPSILON, type Tensor, cosineSimilarity, expandDims, mul, rowCosine, softmax } from '@engram/tensor';
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
 *   `validate`: check β ≥ 0 (default true); `fused`: use the one-pass `rowCosine` kernel
 *   (default true; false composes the same from primitives)
 * @returns w_c, `[batch, N]`
 * @example
 * ```ts
 * const memory = tensor([[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]]]); // [batch 1, N 4, M 3]
 * const w = contentAddressing(memory, tensor([[0, 1, 0]]), tensor([[10]])); // key k, strength β
 * console.log(w.toArray()); // most of the mass on row 2
 * ```
 */
export function contentAddressing(
  memory: Tensor,
  key: Tensor,
  strength: Tensor,
  options: ValidateOptions & { epsilon?: number; fused?: boolean } = {},
): Tensor {
  const op = 'contentAddressing';
  const [batch, , width] = memoryShape(op, memory);
  expectShape(op, 'key k', key, [batch, width]);
  expectShape(op, 'key strength β', strength, [batch, 1]);
  if (options.validate !== false) expectValues(op, 'key strength β', strength, (v) => v >= 0, '≥ 0');
  const epsilon = options.epsilon ?? COSINE_EPSILON;
  // One fused pass over the memory (rowCosine); `fused: false` composes it from primitives.
  const similarity = options.fused === false ? cosineSimilarity(expandDims(key, 1), memory, -1, epsilon) : rowCosine(memory, key, epsilon);
  return softmax(mul(similarity, strength), -1);
}
