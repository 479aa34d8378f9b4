import { ShapeError, type Tensor, add, attentionRead, expandDims, matmul, mul, ones, reshape, slice, softmax, squeeze, sub } from '@engram/tensor';
import { expectShape } from './validate.js';

/** Score given to masked (empty) memory slots before the softmax: their weight becomes 0. */
export const MASKED_SCORE = -1e9;

/** What {@link memoryAttention} returns. */
export interface MemoryAttention {
  /** p, `[batch, n]`: attention over the memory slots. */
  weights: Tensor;
  /** o, `[batch, d]`: the attended output memory. */
  output: Tensor;
}

/** Options for {@link memoryAttention}. */
export interface MemoryAttentionOptions {
  /**
   * Normalise the scores with a softmax (default true). False gives the paper's *linear start*
   * (§4.2): p_i = uᵀ m_i with no softmax, masked slots 0, used early in training.
   */
  softmax?: boolean;
  /**
   * Use the fused `attentionRead` primitive (default true): one kernel forward and one backward
   * instead of about a dozen ops. False runs the composed ops (the reference the fused path is
   * tested against).
   */
  fused?: boolean;
}

/**
 * Memory-network attention (End-to-End Memory Networks, Sukhbaatar et al. 2015, eq. 1–2):
 * p_i = softmax(uᵀ m_i), o = Σ_i p_i c_i, with optional masking of empty slots.
 *
 * @param query u, `[batch, d]`
 * @param inputMemory m, `[batch, n, d]` (the A-embedded sentences)
 * @param outputMemory c, `[batch, n, d]` (the C-embedded sentences)
 * @param mask `[batch, n]`, 1 for real sentences and 0 for padding; masked slots get weight 0
 * @param options `softmax: false` for linear start
 */
export function memoryAttention(
  query: Tensor,
  inputMemory: Tensor,
  outputMemory: Tensor,
  mask?: Tensor,
  options: MemoryAttentionOptions = {},
): MemoryAttention {
  const normalise = options.softmax ?? true;
  const op = 'memoryAttention';
  if (inputMemory.rank !== 3) throw new ShapeError(op, 'input memory m must have shape [batch, n, d]', [inputMemory.shape]);
  const [batch, slots, dim] = inputMemory.shape as [number, number, number];
  expectShape(op, 'query u', query, [batch, dim]);
  expectShape(op, 'output memory c', outputMemory, [batch, slots, dim]);
  if (mask !== undefined) expectShape(op, 'mask', mask, [batch, slots]);
  if (options.fused ?? true) {
    // One flat result: o then p, each a contiguous view.
    const both = attentionRead(inputMemory, outputMemory, query, mask ?? ones([batch, slots], { backend: query.backend }), normalise);
    return {
      weights: reshape(slice(both, [batch * dim], [batch * slots]), [batch, slots]),
      output: reshape(slice(both, [0], [batch * dim]), [batch, dim]),
    };
  }
  let scores = squeeze(matmul(inputMemory, expandDims(query, -1)), -1);
  if (mask !== undefined) {
    // An additive bias (0 or MASKED_SCORE) for the softmax, a product for linear start: the mask
    // is a constant, so neither adds work to the backward pass.
    scores = normalise ? add(scores, mul(sub(1, mask), MASKED_SCORE)) : mul(scores, mask);
  }
  const weights = normalise ? softmax(scores, -1) : scores;
  const output = squeeze(matmul(expandDims(weights, 1), outputMemory), 1);
  return { weights, output };
}
