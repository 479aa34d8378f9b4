/**
 * The fused ops: each is one forward kernel and one hand-written backward kernel, registered as one op
 * by {@link fused} (as tinygrad's custom gradient functions are). They exist for speed: one pass over the
 * data instead of the dozen primitives they replace, whose composed form stays the readable reference
 * and is tested against them. A backward kernel's flat result is cut by the op's layout in
 * {@link OUTPUT_LAYOUTS}; it is a plain tensor with no tape (no second-order gradients through fused ops).
 */
import { OUTPUT_LAYOUTS, layoutLength } from './backend.js';
import type { Backend } from './backend.js';
import { type GradientRule, backendOf, checkIndices, kernels, recordWithRule, slice, splitFlat } from './primitives.js';
import { ShapeError, formatShape } from './errors.js';
import { sameShape } from './shape.js';
import { Tensor } from './tensor.js';

/** Parameters of `locationAddress`. */
export interface LocationParams {
  /** ε added before sharpening. */
  epsilon: number;
}

/** Parameters of `rowCosine`. */
export interface CosineParams {
  /** ε in the denominator. */
  epsilon: number;
}

/** Parameters of `embeddingBag` and its backward. */
export interface EmbeddingBagParams {
  /** Table row of each item, `[bags·words]`. */
  indices: Int32Array;
  /** Weight row of each item, `[bags·words]`. */
  weightIndices: Int32Array;
  /** Items per bag. */
  words: number;
}

/** Parameters of `attentionRead` and its backward. */
export interface AttentionParams {
  /** Softmax over the real slots (true) or linear start (false). */
  normalize: boolean;
}

/** Parameters of `softmaxCrossEntropy` and its backward. */
export interface CrossEntropyParams {
  /** The class of each row. */
  labels: Int32Array;
}

/**
 * One application of a fused op: the forward kernel's `storage` as a tensor, with `backward` (which calls
 * the op's backward kernel) as its gradient rule when an input needs one.
 */
function fused<P>(
  op: string,
  storage: unknown,
  shape: readonly number[],
  inputs: readonly Tensor[],
  params: P,
  backend: Backend,
  backward: GradientRule<P>,
): Tensor {
  return recordWithRule(op, storage, shape, inputs, params, backward, backend);
}

/** A backward kernel's result: a tensor without a tape. */
function untracked(storage: unknown, shape: readonly number[], backend: Backend): Tensor {
  return new Tensor(storage, shape, backend, false);
}

/**
 * Cross-entropy of each row of `logits` `[rows, classes]` with its integer label, fused:
 * ℓ_r = log Σ_j e^{x_rj} − x_r,label (max-shifted, never overflows) → `[rows]`. Gradient:
 * (softmax(x_r) − onehot(label))·dℓ_r. Labels must be in [0, classes).
 * @param logits - the logits, [batch, classes]
 * @param labels - the correct class of each row
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  const op = 'softmaxCrossEntropy';
  if (logits.rank !== 2) throw new ShapeError(op, 'logits must have shape [rows, classes]', [logits.shape]);
  const [rows, classes] = logits.shape as [number, number];
  if (labels.length !== rows) throw new ShapeError(op, `expected ${rows} labels, got ${labels.length}`, [logits.shape, [labels.length]]);
  checkIndices(op, labels, classes);
  return fused(
    op,
    kernels(logits.backend).softmaxCrossEntropy(logits.storage, labels, rows, classes),
    [rows],
    [logits],
    { labels },
    logits.backend,
    ({ grad }) => [softmaxCrossEntropyBackward(logits, labels, grad)],
  );
}

/**
 * The backward of {@link softmaxCrossEntropy}: `[rows, classes]`.
 * @param logits - the logits
 * @param labels - the correct classes
 * @param grad - the gradient of the loss
 */
export function softmaxCrossEntropyBackward(logits: Tensor, labels: Int32Array, grad: Tensor): Tensor {
  const op = 'softmaxCrossEntropyBackward';
  const [rows, classes] = logits.shape as [number, number];
  const backend = backendOf(op, [logits, grad]);
  return untracked(kernels(backend).softmaxCrossEntropyBackward(logits.storage, labels, grad.storage, rows, classes), [rows, classes], backend);
}

/**
 * The DNC's temporal link matrix update in one pass (Graves et al. 2016, Methods, "Temporal memory linkage"):
 * L_t[i, j] = (1 − w_t[i] − w_t[j])·L_{t−1}[i, j] + w_t[i]·p_{t−1}[j], with L_t[i, i] = 0 — instead of a dozen
 * broadcast ops over N × N. Differentiable in all three inputs.
 * @param link - L_{t−1}, `[batch, N, N]`
 * @param precedence - p_{t−1}, `[batch, N]`
 * @param write - w^w_t, `[batch, N]`
 * @example
 * ```ts
 * const next = temporalLink(zeros([1, 4, 4]), tensor([[1, 0, 0, 0]]), tensor([[0, 0, 1, 0]])); // L[2, 0] = 1
 * ```
 */
export function temporalLink(link: Tensor, precedence: Tensor, write: Tensor): Tensor {
  const op = 'temporalLink';
  if (write.rank !== 2) throw new ShapeError(op, 'the write weighting must have shape [batch, N]', [write.shape]);
  const [batch, slots] = write.shape as [number, number];
  if (!sameShape(precedence.shape, write.shape)) throw new ShapeError(op, `the precedence must have shape ${formatShape([batch, slots])}`, [precedence.shape]);
  if (!sameShape(link.shape, [batch, slots, slots]))
    throw new ShapeError(op, `the link matrix must have shape ${formatShape([batch, slots, slots])}`, [link.shape]);
  const backend = backendOf(op, [link, precedence, write]);
  return fused(
    op,
    kernels(backend).temporalLink(link.storage, precedence.storage, write.storage, batch, slots),
    link.shape,
    [link, precedence, write],
    undefined,
    backend,
    ({ grad }) => splitFlat(temporalLinkBackward(link, precedence, write, grad), OUTPUT_LAYOUTS.temporalLinkBackward(batch, slots)),
  );
}

/**
 * The backward of {@link temporalLink}: flat dL (batch·N·N), dp and dw (batch·N each).
 * @param link - the forward pass's L_{t−1}
 * @param precedence - its p_{t−1}
 * @param write - its w^w_t
 * @param grad - the gradient of L_t
 */
export function temporalLinkBackward(link: Tensor, precedence: Tensor, write: Tensor, grad: Tensor): Tensor {
  const op = 'temporalLinkBackward';
  const backend = backendOf(op, [link, precedence, write, grad]);
  const [batch, slots] = write.shape as [number, number];
  const storage = kernels(backend).temporalLinkBackward(link.storage, precedence.storage, write.storage, grad.storage, batch, slots);
  return untracked(storage, [layoutLength(OUTPUT_LAYOUTS.temporalLinkBackward(batch, slots))], backend);
}

/**
 * Every read head's forward and backward weightings over one temporal link matrix, in one pass (Graves et al.
 * 2016, Methods, "Temporal memory linkage"): f^r_t = L_t w^r_{t−1} and b^r_t = L_tᵀ w^r_{t−1} for each read head r.
 * Returns `[batch, 2, R, N]`: the forward weightings, then the backward ones. The same numbers as 2R matrix-vector
 * products, but L is read once, and backward dL = Σ_r (gf_r w_rᵀ + w_r gb_rᵀ) is written in one pass instead of as
 * 2R outer products summed by the tape (the DNC's link matrices are N × N per write head and time step).
 * Differentiable in both.
 * @param link - L_t, `[batch, N, N]`
 * @param reads - the previous read weightings w^r_{t−1}, `[batch, R, N]`
 * @example
 * ```ts
 * const both = linkWeightings(link, stack(previousReads, 1)); // [batch, 2, R, N]
 * const forwardOfHead0 = slice(both, [0, 0, 0, 0], [batch, 1, 1, N]);
 * ```
 */
export function linkWeightings(link: Tensor, reads: Tensor): Tensor {
  const op = 'linkWeightings';
  if (reads.rank !== 3) throw new ShapeError(op, 'the read weightings must have shape [batch, R, N]', [reads.shape]);
  const [batch, heads, slots] = reads.shape as [number, number, number];
  if (!sameShape(link.shape, [batch, slots, slots]))
    throw new ShapeError(op, `the link matrix must have shape ${formatShape([batch, slots, slots])}`, [link.shape, reads.shape]);
  const backend = backendOf(op, [link, reads]);
  const k = kernels(backend);
  return fused(
    op,
    k.linkWeightings(link.storage, reads.storage, batch, slots, heads),
    [batch, 2, heads, slots],
    [link, reads],
    undefined,
    backend,
    ({ grad }) => {
      const layout = OUTPUT_LAYOUTS.linkWeightingsBackward(batch, slots, heads);
      const back = untracked(k.linkWeightingsBackward(link.storage, reads.storage, grad.storage, batch, slots, heads), [layoutLength(layout)], backend);
      return splitFlat(back, layout);
    },
  );
}

/** Parameters of `cumulativeProduct`. */
export interface CumulativeProductParams {
  /** Leave each element out of its own product (out_i = Π_{j<i} x_j, out_0 = 1). */
  exclusive: boolean;
}

/**
 * Cumulative product along the last axis: out_i = Π_{j≤i} x_j, or with `exclusive` Π_{j<i} x_j
 * (out_0 = 1) — the DNC's allocation weighting, a_t[φ_j] = (1 − u[φ_j]) Π_{i<j} u[φ_i]
 * (Graves et al. 2016, Methods, "Dynamic memory allocation"). Its gradient divides by nothing, so
 * it is exact where some x is 0.
 * @param x - the tensor, products taken along its last axis
 * @param exclusive - leave each element out of its own product (default false)
 * @example
 * ```ts
 * cumulativeProduct(tensor([2, 3, 4]), true).toArray(); // [1, 2, 6]
 * ```
 */
export function cumulativeProduct(x: Tensor, exclusive = false): Tensor {
  const op = 'cumulativeProduct';
  if (x.rank < 1) throw new ShapeError(op, 'x needs at least one axis', [x.shape]);
  const cols = x.shape[x.rank - 1] as number;
  const rows = cols === 0 ? 0 : x.size / cols;
  const backend = x.backend;
  return fused(op, kernels(backend).cumulativeProduct(x.storage, rows, cols, exclusive), x.shape, [x], { exclusive }, backend, ({ grad }) => [
    cumulativeProductBackward(x, grad, exclusive),
  ]);
}

/**
 * The backward of {@link cumulativeProduct}: the gradient of x, its shape.
 * @param x - the forward pass's input
 * @param grad - the gradient of the products
 * @param exclusive - whether the forward pass was exclusive
 */
export function cumulativeProductBackward(x: Tensor, grad: Tensor, exclusive: boolean): Tensor {
  const op = 'cumulativeProductBackward';
  const backend = backendOf(op, [x, grad]);
  const cols = x.shape[x.rank - 1] as number;
  const rows = cols === 0 ? 0 : x.size / cols;
  return untracked(kernels(backend).cumulativeProductBackward(x.storage, grad.storage, rows, cols, exclusive), x.shape, backend);
}

/**
 * Fused LSTM cell (gate order i, f, g, o, as in PyTorch): from the gate pre-activations z
 * `[batch, 4H]` and the cell state c `[batch, H]`, returns `[batch, 2H]` holding h then c':
 * i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o), c' = f·c + i·g, h = o·tanh(c').
 * One kernel forward and one backward, instead of about a dozen of each.
 * @param z - the four gates' pre-activations, [batch, 4H]
 * @param c - the previous cell state, [batch, H]
 */
export function lstmCell(z: Tensor, c: Tensor): Tensor {
  const backend = backendOf('lstmCell', [z, c]);
  const [batch, hidden] = c.shape as [number, number];
  if (c.rank !== 2 || z.rank !== 2 || z.shape[0] !== batch || z.shape[1] !== 4 * hidden) {
    throw new ShapeError('lstmCell', 'expected z [batch, 4H] and c [batch, H]', [z.shape, c.shape]);
  }
  return fused('lstmCell', kernels(backend).lstmCell(z.storage, c.storage, batch, hidden), [batch, 2 * hidden], [z, c], undefined, backend, ({ grad, out }) => {
    const both = lstmCellBackward(z, c, out, grad);
    return [slice(both, [0, 0], [batch, 4 * hidden]), slice(both, [0, 4 * hidden], [batch, hidden])];
  });
}

/**
 * The fused LSTM cell's backward: `[batch, 5H]` = dz then dc (used by {@link lstmCell}'s gradient).
 * @param z - the gates' pre-activations
 * @param c - the previous cell state
 * @param out - the forward pass's output (h and c)
 * @param grad - the gradient of that output
 */
export function lstmCellBackward(z: Tensor, c: Tensor, out: Tensor, grad: Tensor): Tensor {
  const backend = backendOf('lstmCellBackward', [z, c, out, grad]);
  const [batch, hidden] = c.shape as [number, number];
  const storage = kernels(backend).lstmCellBackward(z.storage, c.storage, out.storage, grad.storage, batch, hidden);
  return untracked(storage, [batch, 5 * hidden], backend);
}

function memoryShapeOf(op: string, memory: Tensor, vectors: readonly [string, Tensor, 'row' | 'column'][]): [number, number, number] {
  if (memory.rank !== 3) throw new ShapeError(op, 'memory must be [batch, rows, width]', [memory.shape]);
  const [batch, rows, width] = memory.shape as [number, number, number];
  for (const [name, t, kind] of vectors) {
    const expected = kind === 'row' ? [batch, rows] : [batch, width];
    if (t.rank !== 2 || t.shape[0] !== expected[0] || t.shape[1] !== expected[1]) {
      throw new ShapeError(op, `${name} must be [${expected.join(', ')}]`, [memory.shape, t.shape]);
    }
  }
  return [batch, rows, width];
}

/**
 * One write head's erase-then-add in a single pass (NTM eq. 3–4):
 * M'(i, j) = M(i, j)·(1 − w(i)·e(j)) + w(i)·a(j), for memory `[batch, N, M]`, weighting w
 * `[batch, N]`, erase e and add a `[batch, M]`. Its gradient is one fused kernel too.
 * @param memory - the memory, [batch, N, M]
 * @param w - the write weighting, [batch, N]
 * @param e - the erase vector, [batch, M]
 * @param a - the add vector, [batch, M]
 */
export function memoryWrite(memory: Tensor, w: Tensor, e: Tensor, a: Tensor): Tensor {
  const backend = backendOf('memoryWrite', [memory, w, e, a]);
  const [batch, rows, width] = memoryShapeOf('memoryWrite', memory, [
    ['weighting w', w, 'row'],
    ['erase e', e, 'column'],
    ['add a', a, 'column'],
  ]);
  const storage = kernels(backend).memoryWrite(memory.storage, w.storage, e.storage, a.storage, batch, rows, width);
  return fused('memoryWrite', storage, memory.shape, [memory, w, e, a], undefined, backend, ({ grad }) =>
    splitFlat(memoryWriteBackward(memory, w, e, a, grad), OUTPUT_LAYOUTS.memoryWriteBackward(batch, rows, width)),
  );
}

/**
 * The fused write's backward (flat dM, dw, de, da); used by {@link memoryWrite}'s gradient.
 * @param memory - the memory before the write
 * @param w - the write weighting
 * @param e - the erase vector
 * @param a - the add vector
 * @param grad - the gradient of the written memory
 */
export function memoryWriteBackward(memory: Tensor, w: Tensor, e: Tensor, a: Tensor, grad: Tensor): Tensor {
  const backend = backendOf('memoryWriteBackward', [memory, w, e, a, grad]);
  const [batch, rows, width] = memory.shape as [number, number, number];
  const storage = kernels(backend).memoryWriteBackward(memory.storage, w.storage, e.storage, a.storage, grad.storage, batch, rows, width);
  return untracked(storage, [layoutLength(OUTPUT_LAYOUTS.memoryWriteBackward(batch, rows, width))], backend);
}

/**
 * The sizes [batch, slots, width] of a memory-network memory m, after checking m and every other
 * operand given (c like m, u `[batch, width]`, mask `[batch, slots]`, hop `[width, width]`); errors name the operand.
 */
function memorySizes(op: string, m: Tensor, others: { c: Tensor; u: Tensor; mask: Tensor; hop?: Tensor }): [number, number, number] {
  if (m.rank !== 3) throw new ShapeError(op, 'm must have shape [batch, slots, width]', [m.shape, others.c.shape]);
  const [batch, slots, width] = m.shape as [number, number, number];
  const expected: [string, Tensor | undefined, number[]][] = [
    ['c', others.c, [batch, slots, width]],
    ['u', others.u, [batch, width]],
    ['mask', others.mask, [batch, slots]],
    ['hop', others.hop, [width, width]],
  ];
  for (const [name, x, shape] of expected) {
    if (x !== undefined && (x.rank !== shape.length || x.shape.some((d, i) => d !== shape[i])))
      throw new ShapeError(op, `${name} must have shape ${formatShape(shape)}`, [m.shape, x.shape]);
  }
  return [batch, slots, width];
}

/**
 * Memory-network attention and read in one pass (End-to-End Memory Networks, eq. 1–2):
 * p_i = softmax(uᵀ m_i) over the slots where `mask` is 1 (0 elsewhere), o = Σ_i p_i c_i.
 * With `normalize` false (the paper's linear start), p_i = (uᵀ m_i)·mask_i. Returns a flat
 * `[batch·width + batch·slots]`: o (`[batch, width]`), then p (`[batch, slots]`), so that both are
 * contiguous views. Differentiable in m, c and u (not in the mask).
 *
 * @param m `[batch, slots, width]`, the input memory
 * @param c `[batch, slots, width]`, the output memory
 * @param u `[batch, width]`, the query
 * @param mask `[batch, slots]`, 1 for a real slot and 0 for an empty one
 * @param normalize - apply the softmax (false: linear start, the scores are used as they are)
 */
export function attentionRead(m: Tensor, c: Tensor, u: Tensor, mask: Tensor, normalize = true): Tensor {
  const op = 'attentionRead';
  const [batch, slots, width] = memorySizes(op, m, { c, u, mask });
  const backend = backendOf(op, [m, c, u, mask]);
  const storage = kernels(backend).attentionRead(m.storage, c.storage, u.storage, mask.storage, batch, slots, width, normalize);
  return fused(op, storage, [layoutLength(OUTPUT_LAYOUTS.attentionRead(batch, slots, width))], [m, c, u, mask], { normalize }, backend, ({ grad, out }) => [
    ...splitFlat(attentionReadBackward(m, c, u, mask, out, grad, normalize), OUTPUT_LAYOUTS.attentionReadBackward(batch, slots, width)),
    null,
  ]);
}

/**
 * The fused attention's backward (flat dm, dc, du); used by {@link attentionRead}'s gradient.
 * @param m - the input memories, [batch, slots, width]
 * @param c - the output memories, [batch, slots, width]
 * @param u - the queries, [batch, width]
 * @param mask - which slots count, [batch, slots]
 * @param out - the forward pass's output
 * @param grad - the gradient of the output
 * @param normalize - whether the forward pass applied the softmax
 */
export function attentionReadBackward(m: Tensor, c: Tensor, u: Tensor, mask: Tensor, out: Tensor, grad: Tensor, normalize: boolean): Tensor {
  const op = 'attentionReadBackward';
  const backend = backendOf(op, [m, c, u, mask, out, grad]);
  const [batch, slots, width] = m.shape as [number, number, number];
  const storage = kernels(backend).attentionReadBackward(
    m.storage,
    c.storage,
    u.storage,
    mask.storage,
    out.storage,
    grad.storage,
    batch,
    slots,
    width,
    normalize,
  );
  return untracked(storage, [layoutLength(OUTPUT_LAYOUTS.attentionReadBackward(batch, slots, width))], backend);
}

/** Parameters of `memoryHops`. */
export interface MemoryHopsParams {
  /** K, the number of hops. */
  hops: number;
  /** Units 0…linearUnits − 1 of each hop's output stay linear; the rest go through a ReLU (the width: all linear). */
  linearUnits: number;
  /** Softmax over the real slots (true) or linear start (false). */
  normalize: boolean;
}

/**
 * K hops of memory-network attention over one memory in one pass (End-to-End Memory Networks with
 * layer-wise tying, §2.2, and the language model's half-ReLU layers, §5): for k = 1…K,
 * p^k = softmax((u^k)ᵀ m_i) over the real slots, o^k = Σ_i p^k_i c_i, u^{k+1} = act(u^k H + o^k) with
 * act the identity on units below `linearUnits` and a ReLU on the rest. Returns a flat tensor laid out
 * as `OUTPUT_LAYOUTS.memoryHops`: u¹…u^{K+1} (`[K + 1, batch, width]`), p¹…p^K (`[K, batch, slots]`),
 * o¹…o^K (`[K, batch, width]`). Differentiable in m, c, u¹ and H (not in the mask); the gradients of m
 * and c are summed over the hops inside the kernel, and the memory is read in once, not once per hop.
 * The composed form (a loop of {@link attentionRead}, a matmul and a ReLU) is its reference in the tests.
 *
 * @param m - `[batch, slots, width]`, the input memory (the same at every hop)
 * @param c - `[batch, slots, width]`, the output memory
 * @param u - `[batch, width]`, the first query u¹
 * @param mask - `[batch, slots]`, 1 for a real slot and 0 for an empty one
 * @param hop - `[width, width]`, H, the map between hops
 * @param params - the number of hops, how many units stay linear, and whether to apply the softmax
 * @example
 * ```ts
 * const flat = memoryHops(m, c, u, mask, H, { hops: 7, linearUnits: 75, normalize: true });
 * const [us, ps] = splitFlat(flat, OUTPUT_LAYOUTS.memoryHops(batch, slots, 150, 7));
 * ```
 */
export function memoryHops(m: Tensor, c: Tensor, u: Tensor, mask: Tensor, hop: Tensor, params: MemoryHopsParams): Tensor {
  const op = 'memoryHops';
  const [batch, slots, width] = memorySizes(op, m, { c, u, mask, hop });
  const { hops, linearUnits, normalize } = params;
  if (!Number.isInteger(hops) || hops < 1) throw new ShapeError(op, `hops must be a positive integer, got ${hops}`, [m.shape]);
  if (!Number.isInteger(linearUnits) || linearUnits < 0 || linearUnits > width)
    throw new ShapeError(op, `linearUnits must be an integer in [0, ${width}], got ${linearUnits}`, [m.shape]);
  const backend = backendOf(op, [m, c, u, mask, hop]);
  const storage = kernels(backend).memoryHops(m.storage, c.storage, u.storage, mask.storage, hop.storage, batch, slots, width, hops, linearUnits, normalize);
  return fused(op, storage, [layoutLength(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops))], [m, c, u, mask, hop], params, backend, ({ grad, out }) => {
    const [dm, dc, du, dH] = splitFlat(memoryHopsBackward(m, c, u, mask, hop, out, grad, params), OUTPUT_LAYOUTS.memoryHopsBackward(batch, slots, width));
    return [dm as Tensor, dc as Tensor, du as Tensor, null, dH as Tensor];
  });
}

/**
 * The fused hops' backward (flat dm, dc, du¹, dH); used by {@link memoryHops}'s gradient.
 * @param m - the input memory, [batch, slots, width]
 * @param c - the output memory, [batch, slots, width]
 * @param u - the first query, [batch, width]
 * @param mask - which slots count, [batch, slots]
 * @param hop - H, [width, width]
 * @param out - the forward pass's output
 * @param grad - the gradient of the output (the same layout)
 * @param params - the forward pass's parameters
 */
export function memoryHopsBackward(m: Tensor, c: Tensor, u: Tensor, mask: Tensor, hop: Tensor, out: Tensor, grad: Tensor, params: MemoryHopsParams): Tensor {
  const op = 'memoryHopsBackward';
  const backend = backendOf(op, [m, c, u, mask, hop, out, grad]);
  const [batch, slots, width] = m.shape as [number, number, number];
  const { hops, linearUnits, normalize } = params;
  const storage = kernels(backend).memoryHopsBackward(
    m.storage,
    c.storage,
    u.storage,
    mask.storage,
    hop.storage,
    out.storage,
    grad.storage,
    batch,
    slots,
    width,
    hops,
    linearUnits,
    normalize,
  );
  return untracked(storage, [layoutLength(OUTPUT_LAYOUTS.memoryHopsBackward(batch, slots, width))], backend);
}

/** The memories of {@link bagMemoryHops} as bags of table rows (the {@link embeddingBag} encoding). */
export interface MemoryBags {
  /** Table rows, `batch × slots × words`: item (b·slots + s)·words + l is word l of slot s of example b. */
  indices: Int32Array;
  /** The weight vectors l_j, `[weightRows, width]` (constants: no gradient flows to them). */
  weights: Tensor;
  /** The weight row of each item, as many as `indices`. */
  weightIndices: Int32Array;
  /** Items per slot. */
  words: number;
}

/**
 * {@link memoryHops} with the memories given as bags of embedding rows instead of as arrays:
 * m_{b,s} = Σ_l weights[weightIndices[i]] ⊙ A[indices[i]] (i = (b·slots + s)·words + l; Sukhbaatar et al.
 * 2015 §4.1, m_i = Σ_j l_j ⊙ A x_ij, c_i likewise with C). The same numbers as embedding the memories
 * with {@link embeddingBag} and running the hops, but the WebAssembly kernel builds each example's
 * memories in scratch memory and adds their gradients straight into the tables' gradients, so the
 * `[batch, slots, width]` memories and their gradients are never made (a language model's are 15 MB each).
 *
 * Layer-wise tying (`hop` given): m from `input` (A), c from `output` (C) at every hop, u^{k+1} =
 * act(u^k H + o^k), as {@link memoryHops}. Adjacent tying (`hop` null): `input` is E_0 and `output` the
 * tables E_1…E_K stacked (`[K·rows, width]`); hop k reads m from E_{k−1} and c from E_k, each encoding
 * built once for its two uses, and u^{k+1} = act(u^k + o^k). Differentiable in the tables, u¹ and H.
 * @param input - A (layer-wise) or E_0 (adjacent), `[rows, width]`
 * @param output - C, `[rows, width]` (may be `input` itself), or E_1…E_K stacked, `[K·rows, width]`
 * @param bags - which rows (and weight rows) make each slot
 * @param u - `[batch, width]`, the first query u¹
 * @param mask - `[batch, slots]`, 1 for a real slot and 0 for an empty one
 * @param hop - `[width, width]`, H, the map between hops; null for adjacent tying
 * @param params - the number of hops, how many units stay linear, and whether to apply the softmax
 * @example
 * ```ts
 * const flat = bagMemoryHops(A, C, { indices, weights, weightIndices, words: 2 }, u, mask, H, { hops: 7, linearUnits: 75, normalize: true });
 * const [us, ps] = splitFlat(flat, OUTPUT_LAYOUTS.memoryHops(batch, slots, 150, 7));
 * ```
 */
export function bagMemoryHops(input: Tensor, output: Tensor, bags: MemoryBags, u: Tensor, mask: Tensor, hop: Tensor | null, params: MemoryHopsParams): Tensor {
  const op = 'bagMemoryHops';
  const { indices, weights, weightIndices, words } = bags;
  const { hops, linearUnits, normalize } = params;
  if (!Number.isInteger(hops) || hops < 1) throw new ShapeError(op, `hops must be a positive integer, got ${hops}`, [input.shape]);
  const adjacent = hop === null;
  const outputTables = adjacent ? hops : 1;
  if (input.rank !== 2 || output.rank !== 2 || output.shape[0] !== outputTables * (input.shape[0] as number) || output.shape[1] !== input.shape[1])
    throw new ShapeError(
      op,
      adjacent
        ? `the output tables must be the ${hops} tables E_1…E_K stacked, [${hops}·rows, width]`
        : 'the input and output tables must both have shape [rows, width]',
      [input.shape, output.shape],
    );
  const [rows, width] = input.shape as [number, number];
  if (u.rank !== 2 || u.shape[1] !== width) throw new ShapeError(op, `u must have shape [batch, ${width}]`, [input.shape, u.shape]);
  const batch = u.shape[0] as number;
  if (mask.rank !== 2 || mask.shape[0] !== batch) throw new ShapeError(op, `mask must have shape [${batch}, slots]`, [u.shape, mask.shape]);
  const slots = mask.shape[1] as number;
  if (hop !== null && (hop.rank !== 2 || hop.shape[0] !== width || hop.shape[1] !== width))
    throw new ShapeError(op, `hop must have shape [${width}, ${width}]`, [input.shape, hop.shape]);
  if (weights.rank !== 2 || weights.shape[1] !== width)
    throw new ShapeError(op, `the weights must have shape [weightRows, ${width}]`, [input.shape, weights.shape]);
  if (weights.requiresGrad) throw new ShapeError(op, 'the word weights are constants here (use embeddingBag and memoryHops to train them)', [weights.shape]);
  if (!(Number.isInteger(words) && words > 0) || indices.length !== batch * slots * words || weightIndices.length !== indices.length)
    throw new ShapeError(
      op,
      `expected ${batch * slots * words} indices and weight indices (batch·slots·words), got ${indices.length} and ${weightIndices.length}`,
      [u.shape, mask.shape],
    );
  if (!Number.isInteger(linearUnits) || linearUnits < 0 || linearUnits > width)
    throw new ShapeError(op, `linearUnits must be an integer in [0, ${width}], got ${linearUnits}`, [input.shape]);
  checkIndices(op, indices, rows);
  checkIndices(op, weightIndices, weights.shape[0] as number);
  const tensors = hop === null ? [input, output, weights, u, mask] : [input, output, weights, u, mask, hop];
  const backend = backendOf(op, tensors);
  const k = kernels(backend);
  // Adjacent tying has no H: the kernels take u's storage in its place and do not read it.
  const hopStorage = (hop ?? u).storage;
  const args = [input.storage, output.storage, indices, weights.storage, weightIndices, u.storage, mask.storage, hopStorage] as const;
  const scalars = [rows, batch, slots, words, width, hops, linearUnits, normalize, adjacent] as const;
  const storage = k.bagMemoryHops(...args, ...scalars);
  return fused(op, storage, [layoutLength(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops))], tensors, { ...params, words }, backend, ({ grad, out }) => {
    const layout = OUTPUT_LAYOUTS.bagMemoryHopsBackward(rows, batch, width, hops, adjacent);
    const back = k.bagMemoryHopsBackward(...args, out.storage, grad.storage, ...scalars);
    const [dInput, dOutput, du, dH] = splitFlat(untracked(back, [layoutLength(layout)], backend), layout);
    return [dInput as Tensor, dOutput as Tensor, null, du as Tensor, null, ...(hop === null ? [] : [dH as Tensor])];
  });
}

/**
 * Cosine similarity of a key `[batch, M]` with every row of a memory `[batch, N, M]` in one pass
 * (NTM eq. 6): K(k, M(i)) = k·M(i) / (‖k‖·‖M(i)‖ + ε) → `[batch, N]`. A zero row or key gives 0
 * with a finite gradient.
 * @param memory - the memory, [batch, N, M]
 * @param key - the key, [batch, M]
 * @param epsilon - keeps the norms' product above zero
 */
export function rowCosine(memory: Tensor, key: Tensor, epsilon: number): Tensor {
  const backend = backendOf('rowCosine', [memory, key]);
  const [batch, rows, width] = memoryShapeOf('rowCosine', memory, [['key', key, 'column']]);
  const storage = kernels(backend).rowCosine(memory.storage, key.storage, batch, rows, width, epsilon);
  return fused('rowCosine', storage, [batch, rows], [memory, key], { epsilon }, backend, ({ grad }) =>
    splitFlat(rowCosineBackward(memory, key, grad, epsilon), OUTPUT_LAYOUTS.rowCosineBackward(batch, rows, width)),
  );
}

/**
 * The fused cosine's backward (flat dM then dk); used by {@link rowCosine}'s gradient.
 * @param memory - the memory
 * @param key - the key
 * @param grad - the gradient of the similarities
 * @param epsilon - as in the forward pass
 */
export function rowCosineBackward(memory: Tensor, key: Tensor, grad: Tensor, epsilon: number): Tensor {
  const backend = backendOf('rowCosineBackward', [memory, key, grad]);
  const [batch, rows, width] = memory.shape as [number, number, number];
  const storage = kernels(backend).rowCosineBackward(memory.storage, key.storage, grad.storage, batch, rows, width, epsilon);
  return untracked(storage, [layoutLength(OUTPUT_LAYOUTS.rowCosineBackward(batch, rows, width))], backend);
}

/**
 * NTM location addressing in one pass (eq. 7–9): interpolation w_g = g·w_c + (1 − g)·w_{t−1},
 * circular shift w̃(i) = Σ_k s(k)·w_g(i − k + (S−1)/2), sharpening w(i) = (w̃(i) + ε)^γ / Σ_j (w̃(j) + ε)^γ.
 * Shapes: wc, wp `[batch, N]`; g, γ `[batch, 1]`; s `[batch, S]`, S odd ≤ N.
 * @param wc - the content weighting w_c, [batch, N]
 * @param wp - the previous weighting w_{t−1}
 * @param g - the gate g, [batch, 1]
 * @param s - the shift distribution s, [batch, S]
 * @param gamma - the sharpening γ ≥ 1, [batch, 1]
 * @param epsilon - keeps the normalising sum above zero
 */
export function locationAddress(wc: Tensor, wp: Tensor, g: Tensor, s: Tensor, gamma: Tensor, epsilon: number): Tensor {
  const backend = backendOf('locationAddress', [wc, wp, g, s, gamma]);
  const [batch, slots] = wc.shape as [number, number];
  const shifts = s.shape[1] as number;
  const ok =
    wc.rank === 2 &&
    sameShape(wp.shape, wc.shape) &&
    sameShape(g.shape, [batch, 1]) &&
    sameShape(gamma.shape, [batch, 1]) &&
    s.rank === 2 &&
    s.shape[0] === batch &&
    shifts % 2 === 1 &&
    shifts <= slots;
  if (!ok)
    throw new ShapeError('locationAddress', 'expected wc, wp [batch, N], g, γ [batch, 1], s [batch, S] with S odd ≤ N', [
      wc.shape,
      wp.shape,
      g.shape,
      s.shape,
      gamma.shape,
    ]);
  const storage = kernels(backend).locationAddress(wc.storage, wp.storage, g.storage, s.storage, gamma.storage, batch, slots, shifts, epsilon);
  return fused('locationAddress', storage, [batch, slots], [wc, wp, g, s, gamma], { epsilon }, backend, ({ grad }) =>
    splitFlat(locationAddressBackward(wc, wp, g, s, gamma, grad, epsilon), OUTPUT_LAYOUTS.locationAddressBackward(batch, slots, shifts)),
  );
}

/**
 * The fused location addressing's backward (flat dwc, dwp, dg, ds, dγ).
 * @param wc - the content weighting
 * @param wp - the previous weighting
 * @param g - the gate
 * @param s - the shift distribution
 * @param gamma - the sharpening
 * @param grad - the gradient of the output weighting
 * @param epsilon - as in the forward pass
 */
export function locationAddressBackward(wc: Tensor, wp: Tensor, g: Tensor, s: Tensor, gamma: Tensor, grad: Tensor, epsilon: number): Tensor {
  const backend = backendOf('locationAddressBackward', [wc, wp, g, s, gamma, grad]);
  const [batch, slots] = wc.shape as [number, number];
  const shifts = s.shape[1] as number;
  const storage = kernels(backend).locationAddressBackward(
    wc.storage,
    wp.storage,
    g.storage,
    s.storage,
    gamma.storage,
    grad.storage,
    batch,
    slots,
    shifts,
    epsilon,
  );
  return untracked(storage, [layoutLength(OUTPUT_LAYOUTS.locationAddressBackward(batch, slots, shifts))], backend);
}

/**
 * Weighted bags of embedding rows, fused (a memory network's sentence encoding, Sukhbaatar et al.
 * 2015 §4.1: m_i = Σ_j l_j ⊙ A x_ij). `table` `[rows, width]`; `weights` `[weightRows, width]`, a
 * small table of weight vectors (one per word position, say); item i = n·words + l of bag n uses
 * table row `indices[i]` and weight row `weightIndices[i]`:
 * out[n, k] = Σ_l weights[weightIndices[i], k]·table[indices[i], k], shape `[bags, width]`.
 * One pass instead of gather, multiply and sum; differentiable in the table and the weights.
 * @param table - the embedding table, [rows, width]
 * @param indices - the word ids, `bags × words`
 * @param weights - the weight table (position encoding), [weightRows, width]
 * @param weightIndices - the weight row of each word
 * @param words - words per bag
 */
export function embeddingBag(table: Tensor, indices: Int32Array, weights: Tensor, weightIndices: Int32Array, words: number): Tensor {
  const op = 'embeddingBag';
  if (table.rank !== 2 || weights.rank !== 2 || weights.shape[1] !== table.shape[1])
    throw new ShapeError(op, 'the table and the weights must have shapes [rows, width] and [weightRows, width]', [table.shape, weights.shape]);
  const [rows, width] = table.shape as [number, number];
  if (!(Number.isInteger(words) && words > 0) || indices.length % words !== 0 || weightIndices.length !== indices.length)
    throw new ShapeError(op, `expected as many weight indices (${weightIndices.length}) as indices (${indices.length}), a multiple of words (${words})`, [
      table.shape,
      weights.shape,
    ]);
  checkIndices(op, indices, rows);
  checkIndices(op, weightIndices, weights.shape[0] as number);
  const backend = backendOf(op, [table, weights]);
  const bags = indices.length / words;
  const storage = kernels(backend).embeddingBag(table.storage, indices, weights.storage, weightIndices, bags, words, width);
  return fused(op, storage, [bags, width], [table, weights], { indices, weightIndices, words }, backend, ({ grad }) => [
    table.requiresGrad ? embeddingBagAdjoint(grad, indices, weights, weightIndices, words, rows) : null,
    // Weights are usually constants (position encodings); their gradient is the same adjoint with the roles swapped.
    weights.requiresGrad ? embeddingBagAdjoint(grad, weightIndices, table, indices, words, weights.shape[0] as number) : null,
  ]);
}

/**
 * The adjoint of {@link embeddingBag} for its table: `[rows, width]`, with grad[n, k]·weights[weightIndices[i], k]
 * added at row indices[i]. Swapping (indices, table) with (weightIndices, weights) gives the weights' adjoint.
 * @param grad - the gradient of the output, [bags, width]
 * @param indices - the word ids
 * @param weights - the weight table
 * @param weightIndices - the weight row of each word
 * @param words - words per bag
 * @param rows - the embedding table's rows
 */
export function embeddingBagBackward(grad: Tensor, indices: Int32Array, weights: Tensor, weightIndices: Int32Array, words: number, rows: number): Tensor {
  const op = 'embeddingBagBackward';
  const bags = indices.length / words;
  const width = weights.shape[1] as number;
  if (grad.rank !== 2 || grad.shape[0] !== bags || grad.shape[1] !== width)
    throw new ShapeError(op, `the gradient must have shape [${bags}, ${width}]`, [grad.shape, weights.shape]);
  checkIndices(op, indices, rows);
  checkIndices(op, weightIndices, weights.shape[0] as number);
  return embeddingBagAdjoint(grad, indices, weights, weightIndices, words, rows);
}

/** {@link embeddingBagBackward} without the index checks: the gradient rule's indices were checked by the forward pass. */
function embeddingBagAdjoint(grad: Tensor, indices: Int32Array, weights: Tensor, weightIndices: Int32Array, words: number, rows: number): Tensor {
  const backend = backendOf('embeddingBagBackward', [grad, weights]);
  const bags = indices.length / words;
  const width = weights.shape[1] as number;
  const storage = kernels(backend).embeddingBagBackward(grad.storage, indices, weights.storage, weightIndices, rows, bags, words, width);
  return untracked(storage, [rows, width], backend);
}
