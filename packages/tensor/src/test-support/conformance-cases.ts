/**
 * The op cases of the conformance suite: each builds one op (or a composition) from tensors on
 * the backend under test. `conformance.ts` checks each case's value against the TypeScript
 * reference backend and its gradient against central finite differences.
 */
import * as t from '../index.js';
import type { Tensor } from '../index.js';

/** How to draw one input. */
export interface InputSpec {
  shape: number[];
  /** Uniform range (default [-2, 2]). */
  low?: number;
  high?: number;
  /** Keep |x| ≥ this (away from kinks at 0). */
  awayFromZero?: number;
}

/** One conformance case. */
export interface OpCase {
  name: string;
  inputs: InputSpec[];
  run: (...xs: Tensor[]) => Tensor;
  /** Inputs that get no gradient check (indices, masks). */
  noGrad?: number[];
}

const positive = (shape: number[]): InputSpec => ({ shape, low: 0.5, high: 2 });
const any = (shape: number[]): InputSpec => ({ shape });
const away = (shape: number[]): InputSpec => ({ shape, awayFromZero: 0.1 });

/** Every primitive, then the composed ops built on them. */
export const opCases: OpCase[] = [
  { name: 'neg', inputs: [any([3, 4])], run: (x) => t.neg(x) },
  { name: 'exp', inputs: [any([3, 4])], run: (x) => t.exp(x) },
  { name: 'log', inputs: [positive([3, 4])], run: (x) => t.log(x) },
  { name: 'sqrt', inputs: [positive([3, 4])], run: (x) => t.sqrt(x) },
  { name: 'abs', inputs: [away([3, 4])], run: (x) => t.abs(x) },
  { name: 'tanh', inputs: [any([3, 4])], run: (x) => t.tanh(x) },
  { name: 'sigmoid', inputs: [{ shape: [3, 4], low: -30, high: 30 }], run: (x) => t.sigmoid(x) },
  { name: 'relu', inputs: [away([3, 4])], run: (x) => t.relu(x) },
  // sign, step and equal have no gradient (their rules return none): values only.
  { name: 'sign', inputs: [away([3, 4])], run: (x) => t.sign(x), noGrad: [0] },
  { name: 'step', inputs: [away([3, 4])], run: (x) => t.step(x), noGrad: [0] },
  { name: 'equal', inputs: [any([3, 4])], run: (x) => t.equal(t.relu(x), 0), noGrad: [0] },
  { name: 'add', inputs: [any([3, 4]), any([3, 4])], run: (a, b) => t.add(a, b) },
  { name: 'add (broadcast row)', inputs: [any([2, 3, 4]), any([4])], run: (a, b) => t.add(a, b) },
  { name: 'add (broadcast both)', inputs: [any([3, 1]), any([1, 4])], run: (a, b) => t.add(a, b) },
  { name: 'sub (broadcast middle)', inputs: [any([2, 3, 4]), any([2, 1, 4])], run: (a, b) => t.sub(a, b) },
  { name: 'mul (scalar)', inputs: [any([3, 4]), any([])], run: (a, b) => t.mul(a, b) },
  { name: 'mul (broadcast column)', inputs: [any([3, 4]), any([3, 1])], run: (a, b) => t.mul(a, b) },
  { name: 'div', inputs: [any([3, 4]), positive([3, 4])], run: (a, b) => t.div(a, b) },
  { name: 'pow', inputs: [positive([3, 4]), any([3, 4])], run: (a, b) => t.pow(a, b) },
  { name: 'pow (constant exponent)', inputs: [positive([5])], run: (a) => t.pow(a, 3) },
  { name: 'maximum', inputs: [away([3, 4])], run: (a) => t.maximum(a, t.mul(a, -0.5)) },
  { name: 'minimum', inputs: [away([3, 4]), any([4])], run: (a, b) => t.minimum(t.add(a, 10), t.add(b, t.mul(a, 0))) },
  { name: 'clamp', inputs: [{ shape: [4, 4], low: -3, high: 3 }], run: (x) => t.clamp(x, -1.3, 1.7) },
  { name: 'softplus', inputs: [{ shape: [3, 4], low: -40, high: 40 }], run: (x) => t.softplus(x) },
  { name: 'sum (all)', inputs: [any([3, 4])], run: (x) => t.sum(x) },
  { name: 'sum (axis 0)', inputs: [any([3, 4, 2])], run: (x) => t.sum(x, 0) },
  { name: 'sum (axes 1, 2, keepDims)', inputs: [any([3, 4, 2])], run: (x) => t.sum(x, [1, 2], true) },
  { name: 'mean (axis -1)', inputs: [any([3, 4])], run: (x) => t.mean(x, -1) },
  { name: 'max (axis 1)', inputs: [any([3, 5, 2])], run: (x) => t.max(x, 1) },
  { name: 'min (all)', inputs: [any([3, 5])], run: (x) => t.min(x) },
  { name: 'matmul', inputs: [any([3, 5]), any([5, 4])], run: (a, b) => t.matmul(a, b) },
  { name: 'matmul (large, SIMD path)', inputs: [any([9, 33]), any([33, 21])], run: (a, b) => t.matmul(a, b) },
  { name: 'matmul (batch-1 row, direct path)', inputs: [any([1, 40]), any([40, 37])], run: (a, b) => t.matmul(a, b) },
  { name: 'matmul (batched)', inputs: [any([2, 3, 5]), any([2, 5, 4])], run: (a, b) => t.matmul(a, b) },
  { name: 'matmul (batch times shared)', inputs: [any([2, 6, 5]), any([5, 4])], run: (a, b) => t.matmul(a, b) },
  { name: 'matmul (shared times batch)', inputs: [any([3, 5]), any([2, 5, 4])], run: (a, b) => t.matmul(a, b) },
  { name: 'matmulRaw (transposed A and B)', inputs: [any([2, 6, 5]), any([2, 7, 6])], run: (a, b) => t.matmulRaw(a, b, true, true) },
  { name: 'reshape', inputs: [any([3, 4])], run: (x) => t.mul(t.reshape(x, [2, -1]), t.reshape(t.arange(12, { backend: x.backend }), [2, 6])) },
  { name: 'permute', inputs: [any([2, 3, 4])], run: (x) => t.permute(x, [2, 0, 1]) },
  { name: 'transpose', inputs: [any([3, 4])], run: (x) => t.transpose(x) },
  { name: 'slice', inputs: [any([4, 5, 3])], run: (x) => t.slice(x, [1, 2, 0], [2, 2, -1]) },
  { name: 'pad', inputs: [any([2, 3])], run: (x) => t.pad(x, [1, 2], [4, 6]) },
  { name: 'broadcastTo', inputs: [any([3, 1])], run: (x) => t.broadcastTo(x, [2, 3, 4]) },
  { name: 'concat (axis 1)', inputs: [any([2, 3]), any([2, 1]), any([2, 2])], run: (a, b, c) => t.concat([a, b, c], 1) },
  { name: 'stack', inputs: [any([2, 3]), any([2, 3])], run: (a, b) => t.stack([a, b], 1) },
  { name: 'split', inputs: [any([2, 6])], run: (x) => t.mul(...(t.split(x, [2, 4], 1).map((p, i) => (i === 0 ? t.sum(p, 1, true) : p)) as [Tensor, Tensor])) },
  { name: 'where', inputs: [any([3, 4]), any([3, 4]), any([3, 4])], run: (c, a, b) => t.where(t.greater(c, 0), a, b), noGrad: [0] },
  { name: 'gather (embedding)', inputs: [any([5, 3])], run: (table) => t.gather(table, [4, 0, 4, 2]) },
  {
    name: 'embeddingBag (fused)',
    inputs: [any([5, 3]), any([3, 3])],
    run: (table, weights) => t.embeddingBag(table, Int32Array.of(4, 0, 4, 2, 1, 1, 3, 0), weights, Int32Array.of(0, 1, 2, 1, 2, 2, 0, 1), 4),
  },
  { name: 'scatterAdd', inputs: [any([4, 3])], run: (src) => t.scatterAdd(src, Int32Array.of(1, 1, 0, 3), 5) },
  {
    name: 'softmaxCrossEntropy (fused)',
    inputs: [{ shape: [3, 5], low: -30, high: 30 }],
    run: (x) => t.softmaxCrossEntropy(x, Int32Array.of(4, 0, 2)),
  },
  { name: 'softmax', inputs: [any([3, 5])], run: (x) => t.softmax(x, -1) },
  { name: 'softmax (axis 0, large logits)', inputs: [{ shape: [4, 3], low: 50, high: 60 }], run: (x) => t.softmax(x, 0) },
  { name: 'logSoftmax', inputs: [any([3, 5])], run: (x) => t.logSoftmax(x) },
  { name: 'cosineSimilarity (key vs memory)', inputs: [any([2, 1, 4]), any([2, 6, 4])], run: (k, m) => t.cosineSimilarity(k, m, -1) },
  { name: 'circularConvolution', inputs: [positive([2, 6]), positive([2, 3])], run: (w, s) => t.circularConvolution(w, s) },
  { name: 'circularConvolution (5 shifts)', inputs: [positive([7]), positive([5])], run: (w, s) => t.circularConvolution(w, s) },
  { name: 'outer', inputs: [any([2, 3]), any([2, 4])], run: (a, b) => t.outer(a, b) },
  {
    name: 'binaryCrossEntropyWithLogits',
    inputs: [
      { shape: [3, 4], low: -20, high: 20 },
      { shape: [3, 4], low: 0, high: 1 },
    ],
    run: (x, z) => t.binaryCrossEntropyWithLogits(x, z),
  },
  { name: 'lstmCell (fused)', inputs: [{ shape: [3, 8], low: -3, high: 3 }, any([3, 2])], run: (z, c) => t.lstmCell(z, c) },
  {
    name: 'memoryWrite (fused) equals erase-then-add composed',
    inputs: [any([2, 5, 3]), { shape: [2, 5], low: 0, high: 1 }, { shape: [2, 3], low: 0, high: 1 }, any([2, 3])],
    run: (m, w, e, a) => t.memoryWrite(m, w, e, a),
  },
  {
    name: 'attentionRead (fused, softmax over real slots)',
    inputs: [any([2, 4, 3]), any([2, 4, 3]), any([2, 3])],
    run: (m, c, u) => t.attentionRead(m, c, u, t.tensor([1, 1, 0, 1, 1, 1, 1, 0], [2, 4], { backend: m.backend })),
  },
  {
    name: 'attentionRead (fused, linear start)',
    inputs: [any([2, 4, 3]), any([2, 4, 3]), any([2, 3])],
    run: (m, c, u) => t.attentionRead(m, c, u, t.tensor([1, 1, 0, 1, 1, 1, 1, 0], [2, 4], { backend: m.backend }), false),
  },
  {
    name: 'memoryHops (fused, 3 hops, half ReLU)',
    inputs: [any([2, 4, 3]), any([2, 4, 3]), any([2, 3]), { shape: [3, 3], low: -0.8, high: 0.8 }],
    run: (m, c, u, hop) =>
      t.memoryHops(m, c, u, t.tensor([1, 1, 0, 1, 1, 1, 1, 0], [2, 4], { backend: m.backend }), hop, { hops: 3, linearUnits: 1, normalize: true }),
  },
  {
    name: 'memoryHops (fused, 2 hops, all linear, linear start)',
    inputs: [any([2, 4, 3]), any([2, 4, 3]), any([2, 3]), { shape: [3, 3], low: -0.8, high: 0.8 }],
    run: (m, c, u, hop) =>
      t.memoryHops(m, c, u, t.tensor([1, 1, 0, 1, 1, 1, 1, 0], [2, 4], { backend: m.backend }), hop, { hops: 2, linearUnits: 3, normalize: false }),
  },
  {
    name: 'memoryHops (fused, 2 hops, all ReLU)',
    inputs: [any([1, 5, 4]), any([1, 5, 4]), any([1, 4]), { shape: [4, 4], low: -0.8, high: 0.8 }],
    run: (m, c, u, hop) => t.memoryHops(m, c, u, t.ones([1, 5], { backend: m.backend }), hop, { hops: 2, linearUnits: 0, normalize: true }),
  },
  {
    // 2 examples × 3 slots × 2 words over a 4-row table: rows repeat within and across examples.
    name: 'bagMemoryHops (fused, 3 hops, half ReLU, two tables)',
    inputs: [any([4, 3]), any([4, 3]), any([2, 3]), { shape: [3, 3], low: -0.8, high: 0.8 }, any([2, 3])],
    run: (input, output, u, hop, weights) =>
      t.bagMemoryHops(
        input,
        output,
        { indices: Int32Array.of(0, 3, 1, 3, 2, 0, 1, 1, 3, 2, 0, 0), weights, weightIndices: Int32Array.of(0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0), words: 2 },
        u,
        t.tensor([1, 1, 0, 1, 0, 1], [2, 3], { backend: input.backend }),
        hop,
        { hops: 3, linearUnits: 1, normalize: true },
      ),
    noGrad: [4],
  },
  {
    name: 'bagMemoryHops (fused, 2 hops, linear start, one table for both memories)',
    inputs: [any([3, 4]), any([1, 4]), { shape: [4, 4], low: -0.8, high: 0.8 }, any([1, 4])],
    run: (table, u, hop, weights) =>
      t.bagMemoryHops(
        table,
        table,
        { indices: Int32Array.of(2, 0, 1, 2), weights, weightIndices: Int32Array.of(0, 0, 0, 0), words: 1 },
        u,
        t.ones([1, 4], { backend: table.backend }),
        hop,
        { hops: 2, linearUnits: 4, normalize: false },
      ),
    noGrad: [3],
  },
  {
    // Adjacent tying: E_0 and E_1…E_3 stacked; hop k reads encodings k and k + 1.
    name: 'bagMemoryHops (fused, adjacent tying, 3 hops, softmax)',
    inputs: [any([4, 3]), any([12, 3]), any([2, 3]), any([2, 3])],
    run: (input, output, u, weights) =>
      t.bagMemoryHops(
        input,
        output,
        { indices: Int32Array.of(0, 3, 1, 3, 2, 0, 1, 1, 3, 2, 0, 0), weights, weightIndices: Int32Array.of(0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0), words: 2 },
        u,
        t.tensor([1, 1, 0, 1, 0, 1], [2, 3], { backend: input.backend }),
        null,
        { hops: 3, linearUnits: 3, normalize: true },
      ),
    noGrad: [3],
  },
  { name: 'cumulativeProduct (exclusive)', inputs: [any([3, 5])], run: (x) => t.cumulativeProduct(x, true) },
  { name: 'cumulativeProduct (inclusive, rank 3)', inputs: [any([2, 2, 4])], run: (x) => t.cumulativeProduct(x) },
  {
    name: 'linkWeightings (fused, three read heads, batch 2)',
    inputs: [any([2, 5, 5]), { shape: [2, 3, 5], low: 0, high: 1 }],
    run: (link, reads) => t.linkWeightings(link, reads),
  },
  {
    name: 'linkWeightings (fused, one read head)',
    inputs: [any([1, 4, 4]), any([1, 1, 4])],
    run: (link, reads) => t.linkWeightings(link, reads),
  },
  {
    name: 'temporalLink (fused)',
    inputs: [any([2, 4, 4]), { shape: [2, 4], low: 0, high: 1 }, { shape: [2, 4], low: 0, high: 0.5 }],
    run: (link, p, w) => t.temporalLink(link, p, w),
  },
  { name: 'rowCosine (fused)', inputs: [any([2, 5, 3]), any([2, 3])], run: (m, k) => t.rowCosine(m, k, 1e-8) },
  {
    name: 'locationAddress (fused)',
    inputs: [positive([2, 6]), positive([2, 6]), { shape: [2, 1], low: 0.1, high: 0.9 }, positive([2, 3]), { shape: [2, 1], low: 1, high: 3 }],
    run: (wc, wp, g, s, gamma) => t.locationAddress(wc, wp, g, s, gamma, 1e-12),
  },
  {
    // Every w̃(i) near 1/128 and γ ≥ 21: each power w̃(i)^γ is below float32's range, so a kernel that does not take
    // them relative to the largest gives 0/0. Only γ's gradient is checked: a finite-difference step of 1e-2 is larger
    // than the weightings themselves.
    name: 'locationAddress (fused; a flat weighting sharpened hard)',
    inputs: [
      { shape: [2, 128], low: 0.0075, high: 0.0082 },
      { shape: [2, 128], low: 0.0075, high: 0.0082 },
      { shape: [2, 1], low: 0.1, high: 0.9 },
      { shape: [2, 3], low: 0.2, high: 0.4 },
      { shape: [2, 1], low: 21, high: 40 },
    ],
    run: (wc, wp, g, s, gamma) => t.locationAddress(wc, wp, g, s, gamma, 1e-12),
    noGrad: [0, 1, 2, 3],
  },
  { name: 'crossEntropy', inputs: [any([4, 5])], run: (x) => t.crossEntropy(x, [0, 4, 2, 2]) },
];
