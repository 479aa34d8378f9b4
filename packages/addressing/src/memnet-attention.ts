import {
  OUTPUT_LAYOUTS,
  ShapeError,
  type Tensor,
  add,
  attentionRead,
  bagMemoryHops,
  concat,
  expandDims,
  matmul,
  type MemoryBags,
  memoryHops,
  mul,
  ones,
  relu,
  reshape,
  slice,
  softmax,
  splitFlat,
  squeeze,
  sub,
} from '@engram/tensor';
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

/** What {@link memoryHopsAttention} returns. */
export interface MemoryHopsAttention {
  /** u^{K+1}, `[batch, d]`: the controller state after the last hop. */
  output: Tensor;
  /** p^k, `[batch, n]` for each hop k = 1…K: the attention over the memory slots. */
  weights: Tensor[];
}

/** Options for {@link memoryHopsAttention}. */
export interface MemoryHopsOptions extends MemoryAttentionOptions {
  /** `[batch, n]`, 1 for a real slot and 0 for an empty one (default: every slot real). */
  mask?: Tensor;
  /**
   * Units 0…linearUnits − 1 of each hop's output stay linear, the rest go through a ReLU (the
   * language model's layers, §5). Default d: all linear.
   */
  linearUnits?: number;
  /**
   * Use the fused `memoryHops` primitive (default true): the memory is read in once for all hops and
   * its gradient summed in place. False runs the composed ops: {@link memoryAttention} per hop, a
   * matmul and a ReLU (the reference the fused path is tested against).
   */
  fused?: boolean;
}

/**
 * K hops of memory-network attention over one memory, as in End-to-End Memory Networks with
 * layer-wise (RNN-like) tying (§2.2): for k = 1…K, p^k = softmax((u^k)ᵀ m_i), o^k = Σ_i p^k_i c_i,
 * u^{k+1} = H u^k + o^k, with a ReLU on the units from `linearUnits` on (§5's language model).
 *
 * @param query u¹, `[batch, d]`
 * @param inputMemory m, `[batch, n, d]` (A-embedded; the same at every hop)
 * @param outputMemory c, `[batch, n, d]` (C-embedded)
 * @param hop H, `[d, d]`, the linear map between hops (applied as u·H)
 * @param hops K, the number of hops
 * @param options mask, linear units, linear start and whether to use the fused primitive
 * @example
 * ```ts
 * const { output, weights } = memoryHopsAttention(u, m, c, H, 7, { linearUnits: 75 });
 * ```
 */
export function memoryHopsAttention(
  query: Tensor,
  inputMemory: Tensor,
  outputMemory: Tensor,
  hop: Tensor,
  hops: number,
  options: MemoryHopsOptions = {},
): MemoryHopsAttention {
  const op = 'memoryHopsAttention';
  if (inputMemory.rank !== 3) throw new ShapeError(op, 'input memory m must have shape [batch, n, d]', [inputMemory.shape]);
  const [batch, slots, dim] = inputMemory.shape as [number, number, number];
  expectShape(op, 'query u', query, [batch, dim]);
  expectShape(op, 'output memory c', outputMemory, [batch, slots, dim]);
  expectShape(op, 'hop matrix H', hop, [dim, dim]);
  const { mask, softmax: normalize = true } = options;
  if (mask !== undefined) expectShape(op, 'mask', mask, [batch, slots]);
  const linearUnits = options.linearUnits ?? dim;
  if (options.fused ?? true) {
    const flat = memoryHops(inputMemory, outputMemory, query, mask ?? ones([batch, slots], { backend: query.backend }), hop, { hops, linearUnits, normalize });
    return hopsResult(flat, batch, slots, dim, hops);
  }
  let u = query;
  const weights: Tensor[] = [];
  for (let k = 0; k < hops; k++) {
    const read = memoryAttention(u, inputMemory, outputMemory, mask, { softmax: normalize, fused: false });
    weights.push(read.weights);
    const z = add(matmul(u, hop), read.output);
    u =
      linearUnits >= dim
        ? z
        : linearUnits === 0
          ? relu(z)
          : concat([slice(z, [0, 0], [batch, linearUnits]), relu(slice(z, [0, linearUnits], [batch, dim - linearUnits]))], 1);
  }
  return { output: u, weights };
}

/** u^{K+1} and p¹…p^K out of the fused hops' flat output. */
function hopsResult(flat: Tensor, batch: number, slots: number, dim: number, hops: number): MemoryHopsAttention {
  const [us, ps] = splitFlat(flat, OUTPUT_LAYOUTS.memoryHops(batch, slots, dim, hops)) as [Tensor, Tensor];
  return {
    output: reshape(slice(us, [hops, 0, 0], [1, batch, dim]), [batch, dim]),
    weights: Array.from({ length: hops }, (_, k) => reshape(slice(ps, [k, 0, 0], [1, batch, slots]), [batch, slots])),
  };
}

/** Options for {@link bagMemoryHopsAttention}. */
export interface BagMemoryHopsOptions {
  /** `[batch, n]`, 1 for a real slot and 0 for an empty one (default: every slot real). */
  mask?: Tensor;
  /** Softmax over the slots (default true); false is the paper's linear start. */
  softmax?: boolean;
  /** Units 0…linearUnits − 1 of each hop's output stay linear, the rest go through a ReLU (default d: all linear). */
  linearUnits?: number;
}

/**
 * {@link memoryHopsAttention} with the memories given as the embedding tables and the words of each
 * slot instead of as `[batch, n, d]` arrays: m_i = Σ_j l_j ⊙ A x_ij and c_i = Σ_j l_j ⊙ C x_ij
 * (Sukhbaatar et al. 2015, §4.1), then the K hops. The same numbers as embedding the memories first and
 * calling {@link memoryHopsAttention} (or {@link memoryAttention} per hop); the fused kernel builds each
 * example's memories in place and adds their gradients straight into the tables', which saves the
 * memory traffic of the `[batch, n, d]` arrays (the MemN2N language model's are 15 MB each at batch 128)
 * and, with adjacent tying, the per-hop ops of a small model.
 *
 * Layer-wise tying (§2.2, `hop` = H): the same A and C at every hop, u^{k+1} = H u^k + o^k. Adjacent
 * tying (`hop` null): `tables` are E_0…E_K, hop k reads m from E_{k−1} and c from E_k, u^{k+1} = u^k + o^k.
 *
 * @param query u¹, `[batch, d]`
 * @param tables the embedding tables, `[rows, d]` each: [A, C] with H, or E_0…E_K (K + 1) without
 * @param bags the rows of each slot: `indices` (batch·n·words), their weight rows and the weight vectors l_j
 * @param hop H, `[d, d]`, the linear map between hops (applied as u·H); null for adjacent tying
 * @param hops K, the number of hops
 * @param options mask, linear units and linear start
 * @example
 * ```ts
 * // A language model's memory: slot i holds one word and the time row of its age.
 * const { output, weights } = bagMemoryHopsAttention(u, [A, C], { indices, weights: ones, weightIndices, words: 2 }, H, 7, { mask, linearUnits: 75 });
 * ```
 */
export function bagMemoryHopsAttention(
  query: Tensor,
  tables: readonly Tensor[],
  bags: MemoryBags,
  hop: Tensor | null,
  hops: number,
  options: BagMemoryHopsOptions = {},
): MemoryHopsAttention {
  const op = 'bagMemoryHopsAttention';
  if (query.rank !== 2) throw new ShapeError(op, 'query u must have shape [batch, d]', [query.shape]);
  const expected = hop === null ? hops + 1 : 2;
  if (tables.length !== expected)
    throw new ShapeError(op, `expected ${expected} tables (${hop === null ? 'E_0…E_K for adjacent tying' : 'A and C with H'}), got ${tables.length}`, [
      query.shape,
    ]);
  const [batch, dim] = query.shape as [number, number];
  if (!(Number.isInteger(bags.words) && bags.words > 0) || bags.indices.length % (batch * bags.words) !== 0)
    throw new ShapeError(op, `expected batch·n·words indices (batch ${batch}, words ${bags.words}), got ${bags.indices.length}`, [query.shape]);
  const slots = bags.indices.length / (batch * bags.words);
  const { mask, softmax: normalize = true } = options;
  if (mask !== undefined) expectShape(op, 'mask', mask, [batch, slots]);
  const [input, ...rest] = tables as [Tensor, ...Tensor[]];
  // Adjacent: the kernel takes E_1…E_K as one stacked table (its gradient splits back through concat).
  const output = rest.length === 1 ? (rest[0] as Tensor) : concat(rest, 0);
  const flat = bagMemoryHops(input, output, bags, query, mask ?? ones([batch, slots], { backend: query.backend }), hop, {
    hops,
    linearUnits: options.linearUnits ?? dim,
    normalize,
  });
  return hopsResult(flat, batch, slots, dim, hops);
}
