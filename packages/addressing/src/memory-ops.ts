import { type Tensor, add, expandDims, matmul, memoryWrite, mul, outer, squeeze, sub, zeros } from '@engram/tensor';
import { expectShape, memoryShape } from './validate.js';

/**
 * Reading (NTM eq. 2): the read vector is the weighted sum of memory rows, r = Σ_i w(i) · M(i).
 *
 * @param memory M, `[batch, N, M]`
 * @param weighting w, `[batch, N]`
 * @returns r, `[batch, M]`
 */
export function read(memory: Tensor, weighting: Tensor): Tensor {
  const [batch, slots] = memoryShape('read', memory);
  expectShape('read', 'read weighting w', weighting, [batch, slots]);
  return squeeze(matmul(expandDims(weighting, 1), memory), 1);
}

/** One write head's parameters for {@link write}. */
export interface WriteHead {
  /** w, `[batch, N]`. */
  weighting: Tensor;
  /** e ∈ [0, 1], `[batch, M]`. */
  erase: Tensor;
  /** a, `[batch, M]`. */
  add: Tensor;
}

/**
 * Writing (NTM eq. 3–4), for any number of write heads, in the paper's order: every head erases
 * first, M̃(i) = M(i) ∘ Π_h (1 − w_h(i) e_h), then every head adds, M(i) = M̃(i) + Σ_h w_h(i) a_h.
 * Erasures multiply and additions sum, so the heads' order does not matter.
 *
 * @param memory M_{t−1}, `[batch, N, M]`
 * @param options `fused` (default true): run the fused `memoryWrite` kernel (one pass with one head, 2H
 *   passes with H heads); false composes the write from elementwise ops (the reference the fused path is tested against)
 * @param heads - the write heads, applied in order: each a weighting w [batch, N], erase vector e [batch, M] and add vector a [batch, M]
 * @returns M_t, `[batch, N, M]`
 */
export function write(memory: Tensor, heads: readonly WriteHead[], options: { fused?: boolean } = {}): Tensor {
  const [batch, slots, width] = memoryShape('write', memory);
  for (const [h, head] of heads.entries()) {
    expectShape('write', `write head ${h} weighting w`, head.weighting, [batch, slots]);
    expectShape('write', `write head ${h} erase vector e`, head.erase, [batch, width]);
    expectShape('write', `write head ${h} add vector a`, head.add, [batch, width]);
  }
  const only = heads[0];
  if (options.fused !== false) {
    // One head: a single fused pass (memoryWrite), forward and backward.
    if (heads.length === 1 && only !== undefined) return memoryWrite(memory, only.weighting, only.erase, only.add);
    // Several heads: 2H fused passes instead of 5H elementwise ops, the same arithmetic in the same
    // order as the composed path: every head erases (its add vector zero: M∘(1 − w eᵀ) + w·0), then
    // every head adds (its erase vector zero: M∘(1 − w·0) + w aᵀ).
    const none = zeros([batch, width], { backend: memory.backend });
    let result = memory;
    for (const head of heads) result = memoryWrite(result, head.weighting, head.erase, none);
    for (const head of heads) result = memoryWrite(result, head.weighting, none, head.add);
    return result;
  }
  let result = memory;
  for (const head of heads) result = mul(result, sub(1, outer(head.weighting, head.erase)));
  for (const head of heads) result = add(result, outer(head.weighting, head.add));
  return result;
}
