/**
 * Ops composed from the primitives in `primitives.ts`. They need no kernels and no gradient rules
 * of their own: autodiff flows through the primitives they are built from.
 */
import { EngramError, ShapeError, formatShape } from './errors.js';
import {
  abs,
  add,
  concat,
  div,
  exp,
  full,
  log,
  matmulRaw,
  maximum,
  minimum,
  mul,
  neg,
  permute,
  reduce,
  relu,
  reshape,
  slice,
  softmaxLast,
  softplus as softplusPrimitive,
  sqrt,
  sub,
  where,
} from './primitives.js';
import { softmaxCrossEntropy } from './fused.js';
import { type Shape, normalizeAxis, sameShape } from './shape.js';
import type { Tensor } from './tensor.js';

/** Epsilon guarding divisions by a norm in {@link cosineSimilarity} (the NTM's ε in eq. 6). */
export const COSINE_EPSILON = 1e-8;

function axesOf(op: string, x: Tensor, axes: number | readonly number[] | undefined): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i).reverse();
  const list = typeof axes === 'number' ? [axes] : axes;
  return [...new Set(list.map((a) => normalizeAxis(op, a, x.rank)))].sort((a, b) => b - a);
}

function reduceAxes(op: 'sum' | 'max', x: Tensor, axes: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  const list = axesOf(op, x, axes);
  let out = x;
  for (const axis of list) out = reduce(op, out, axis); // descending, so later axes keep their index
  if (keepDims)
    out = reshape(
      out,
      x.shape.map((d, i) => (list.includes(i) ? 1 : d)),
    );
  return out;
}

/**
 * Σ over `axes` (default: all).
 * @param x - the input tensor
 * @param axes - the axis or axes to reduce (negative counts from the end; default: all)
 * @param keepDims - keep each reduced axis with size 1
 */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduceAxes('sum', x, axes, keepDims);
}

/**
 * Maximum over `axes` (default: all).
 * @param x - the input tensor
 * @param axes - the axis or axes to reduce (negative counts from the end; default: all)
 * @param keepDims - keep each reduced axis with size 1
 */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduceAxes('max', x, axes, keepDims);
}

/**
 * Minimum over `axes` (default: all): −max(−x).
 * @param x - the input tensor
 * @param axes - the axis or axes to reduce (negative counts from the end; default: all)
 * @param keepDims - keep each reduced axis with size 1
 */
export function min(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return neg(max(neg(x), axes, keepDims));
}

/**
 * Arithmetic mean over `axes` (default: all).
 * @param x - the input tensor
 * @param axes - the axis or axes to reduce (negative counts from the end; default: all)
 * @param keepDims - keep each reduced axis with size 1
 */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const list = axesOf('mean', x, axes);
  const count = list.reduce((n, a) => n * (x.shape[a] as number), 1);
  return div(sum(x, list, keepDims), count);
}

/**
 * Undoes broadcasting: sums `grad` over the axes that were stretched to reach its shape, so it
 * matches `shape`. Autodiff calls this for every input gradient, in this one place.
 * @param grad - a gradient of the broadcast shape
 * @param shape - the shape to sum it back to
 */
export function sumToShape(grad: Tensor, shape: Shape): Tensor {
  if (sameShape(grad.shape, shape)) return grad;
  const lead = grad.rank - shape.length;
  const axes: number[] = [];
  grad.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  return reshape(axes.length > 0 ? sum(grad, axes) : grad, shape);
}

/**
 * Matrix product over the last two axes. Shapes: `[m, k] · [k, n]`, `[b, m, k] · [k, n]`
 * (B shared; runs as one `[b·m, k] · [k, n]` product), `[m, k] · [b, k, n]`, `[b, m, k] · [b, k, n]`.
 * Leading batch axes beyond one are flattened.
 * @param a - the left operand, [..., m, k]
 * @param b - the right operand, [..., k, n] (batch axes broadcast)
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError('matmul', 'operands must have at least two axes (use reshape for vectors)', [a.shape, b.shape]);
  }
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.rank - 1] as number;
  if (b.rank === 2) {
    if (a.rank === 2) return matmulRaw(a, b);
    if (k !== b.shape[0]) throw new ShapeError('matmul', `inner dimensions differ (${k} vs ${b.shape[0]})`, [a.shape, b.shape]);
    return reshape(matmulRaw(reshape(a, [-1, k]), b), [...a.shape.slice(0, -1), n]);
  }
  const batchShape = b.shape.slice(0, -2);
  if (a.rank > 2 && !sameShape(a.shape.slice(0, -2), batchShape)) {
    throw new ShapeError('matmul', 'batch dimensions differ', [a.shape, b.shape]);
  }
  const a3 = a.rank === 2 ? a : reshape(a, [-1, m, k]);
  const b3 = reshape(b, [-1, ...b.shape.slice(-2)]);
  return reshape(matmulRaw(a3, b3), [...batchShape, m, n]);
}

/**
 * Swaps the last two axes.
 * @param x - a matrix [m, n]
 */
export function transpose(x: Tensor): Tensor {
  if (x.rank < 2) throw new ShapeError('transpose', 'needs at least two axes', [x.shape]);
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return permute(x, perm);
}

/**
 * Inserts an axis of length 1 at `axis`.
 * @param x - the input tensor
 * @param axis - where the new axis of size 1 goes
 */
export function expandDims(x: Tensor, axis: number): Tensor {
  const resolved = normalizeAxis('expandDims', axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(resolved, 0, 1);
  return reshape(x, shape);
}

/**
 * Removes axes of length 1 (all of them, or those in `axes`).
 * @param x - the input tensor
 * @param axes - the axes of size 1 to drop (default: all of them)
 */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const list = axes === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : axesOf('squeeze', x, axes);
  for (const a of list) {
    if (x.shape[a] !== 1) throw new ShapeError('squeeze', `axis ${a} has length ${x.shape[a]}, not 1`, [x.shape]);
  }
  return reshape(
    x,
    x.shape.filter((_, i) => !list.includes(i)),
  );
}

/**
 * Joins tensors of equal shape along a new axis.
 * @param xs - the tensors to stack (same shape)
 * @param axis - where the new axis goes
 */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new EngramError('stack: needs at least one tensor');
  const first = xs[0] as Tensor;
  for (const x of xs) {
    if (!sameShape(x.shape, first.shape))
      throw new ShapeError(
        'stack',
        'all tensors must have the same shape',
        xs.map((t) => t.shape),
      );
  }
  return concat(
    xs.map((x) => expandDims(x, axis)),
    axis,
  );
}

/**
 * Splits along `axis` into pieces of the given sizes (or `count` equal pieces).
 * @param x - the input tensor
 * @param sizes - the size of each piece, or how many equal pieces
 * @param axis - the axis to split along
 */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const resolved = normalizeAxis('split', axis, x.rank);
  const length = x.shape[resolved] as number;
  const list = typeof sizes === 'number' ? new Array<number>(sizes).fill(length / sizes) : [...sizes];
  if (list.some((s) => !Number.isInteger(s) || s < 0) || list.reduce((a, b) => a + b, 0) !== length) {
    throw new ShapeError('split', `sizes ${formatShape(list)} do not add up to axis ${resolved}'s length ${length}`, [x.shape]);
  }
  let offset = 0;
  return list.map((s) => {
    const begin = x.shape.map((_, i) => (i === resolved ? offset : 0));
    const size = x.shape.map((d, i) => (i === resolved ? s : d));
    offset += s;
    return slice(x, begin, size);
  });
}

/**
 * Clamps into [low, high]; the gradient is 1 inside and 0 outside.
 * @param x - the input tensor
 * @param low - the smallest value kept
 * @param high - the largest value kept
 */
export function clamp(x: Tensor, low: number, high: number): Tensor {
  if (!(low <= high)) throw new EngramError(`clamp: low ${low} must not exceed high ${high}`);
  return minimum(maximum(x, low), high);
}

/**
 * softplus(x) = ln(1 + eˣ), computed as max(x, 0) + ln(1 + e^−|x|) so it never overflows.
 * @param x - the input tensor
 */
export function softplus(x: Tensor): Tensor {
  return softplusPrimitive(x);
}

/**
 * A copy that gradients do not flow through.
 * @param x - the tensor whose gradient is cut
 */
export function stopGradient(x: Tensor): Tensor {
  return x.detach();
}

/**
 * softmax(x)_i = e^{x_i} / Σ_j e^{x_j} over `axis`, shifted by the maximum for stability.
 * @param x - the input tensor
 * @param axis - the axis to normalise over (default the last)
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  // The last axis runs as one kernel (the common case); others are composed from primitives.
  if (normalizeAxis('softmax', axis, x.rank) === x.rank - 1) return softmaxLast(x);
  const shifted = sub(x, stopGradient(max(x, axis, true)));
  const e = exp(shifted);
  return div(e, sum(e, axis, true));
}

/**
 * log softmax(x) over `axis`: x − max − ln Σ e^{x − max}.
 * @param x - the input tensor
 * @param axis - the axis to normalise over (default the last)
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const shifted = sub(x, stopGradient(max(x, axis, true)));
  return sub(shifted, log(sum(exp(shifted), axis, true)));
}

/**
 * Cosine similarity K[u, v] = u·v / (‖u‖·‖v‖ + ε) along `axis`, broadcasting u against v (NTM
 * eq. 6: a key `[batch, 1, M]` against a memory `[batch, N, M]` gives `[batch, N]`).
 * @param u - the first tensor
 * @param v - the second tensor (broadcast against u)
 * @param axis - the axis the vectors lie along (default the last)
 * @param epsilon - keeps the norms' product above zero
 */
export function cosineSimilarity(u: Tensor, v: Tensor, axis = -1, epsilon = COSINE_EPSILON): Tensor {
  const dot = sum(mul(u, v), axis);
  const normU = sqrt(sum(mul(u, u), axis));
  const normV = sqrt(sum(mul(v, v), axis));
  return div(dot, add(mul(normU, normV), epsilon));
}

/**
 * Rolls the last axis by `shift` places: out[i] = x[(i − shift) mod n].
 * @param x - the input tensor
 * @param shift - how far to rotate the last axis
 */
export function roll(x: Tensor, shift: number): Tensor {
  const n = x.shape[x.rank - 1] as number;
  const s = ((shift % n) + n) % n;
  if (s === 0) return x;
  const last = x.rank - 1;
  const head = slice(
    x,
    x.shape.map((_, i) => (i === last ? n - s : 0)),
    x.shape.map((d, i) => (i === last ? s : d)),
  );
  const tail = slice(
    x,
    x.shape.map(() => 0),
    x.shape.map((d, i) => (i === last ? n - s : d)),
  );
  return concat([head, tail], last);
}

/**
 * Circular convolution over the last axis (the NTM's shift, eq. 8):
 * out[i] = Σ_j s[j] · w[(i − shift_j) mod N], where s has an odd length S and its entries stand
 * for shifts −(S−1)/2 … (S−1)/2.
 * @param w - the weighting, [batch, N]
 * @param s - the shift distribution, [batch, S] with S odd
 */
export function circularConvolution(w: Tensor, s: Tensor): Tensor {
  const width = s.shape[s.rank - 1] as number;
  const n = w.shape[w.rank - 1] as number;
  if (width % 2 !== 1 || width > n || w.rank !== s.rank || !sameShape(w.shape.slice(0, -1), s.shape.slice(0, -1))) {
    throw new ShapeError('circularConvolution', 'shift weighting must have an odd length ≤ N and the same leading axes as the weighting', [w.shape, s.shape]);
  }
  const half = (width - 1) / 2;
  let out: Tensor | null = null;
  for (let j = 0; j < width; j++) {
    const weight = slice(
      s,
      s.shape.map((_, i) => (i === s.rank - 1 ? j : 0)),
      s.shape.map((d, i) => (i === s.rank - 1 ? 1 : d)),
    );
    const term = mul(roll(w, j - half), weight);
    out = out === null ? term : add(out, term);
  }
  return out as Tensor;
}

/**
 * Outer product over the last axis: [..., m] ⊗ [..., n] → [..., m, n].
 * @param a - a vector [m] (or [batch, m])
 * @param b - a vector [n] (or [batch, n])
 */
export function outer(a: Tensor, b: Tensor): Tensor {
  return mul(expandDims(a, -1), expandDims(b, -2));
}

/** How a loss reduces over elements. */
export type Reduction = 'mean' | 'sum' | 'none';

function reduceLoss(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? mean(loss) : reduction === 'sum' ? sum(loss) : loss;
}

/**
 * Binary cross-entropy on logits x with targets z ∈ [0, 1], stable for any x:
 * max(x, 0) − x·z + ln(1 + e^−|x|).
 * @param logits - the logits
 * @param targets - the targets in [0, 1], the shape of logits
 * @param reduction - mean, sum or none
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (!sameShape(logits.shape, targets.shape)) {
    throw new ShapeError('binaryCrossEntropyWithLogits', 'logits and targets must have the same shape', [logits.shape, targets.shape]);
  }
  const loss = add(sub(relu(logits), mul(logits, targets)), log(add(exp(neg(abs(logits))), 1)));
  return reduceLoss(loss, reduction);
}

/**
 * Cross-entropy between class logits `[..., C]` and integer labels (one per row):
 * −ln softmax(x)[label].
 * @param logits - the logits, [batch, classes]
 * @param labels - the correct class of each row
 * @param reduction - mean, sum or none
 */
export function crossEntropy(logits: Tensor, labels: Int32Array | readonly number[], reduction: Reduction = 'mean'): Tensor {
  const classes = logits.shape[logits.rank - 1] as number;
  const rows = logits.size / Math.max(classes, 1);
  if (labels.length !== rows) {
    throw new ShapeError('crossEntropy', `expected ${rows} labels, got ${labels.length}`, [logits.shape, [labels.length]]);
  }
  const picks = Int32Array.from(labels, (label, i) => {
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new EngramError(`crossEntropy: label ${label} at position ${i} is outside [0, ${classes})`);
    }
    return label;
  });
  // One fused kernel forward and one backward (log-sum-exp minus the picked logit).
  const loss = reshape(softmaxCrossEntropy(reshape(logits, [rows, classes]), picks), logits.shape.slice(0, -1));
  return reduceLoss(loss, reduction);
}

/**
 * `where` with a boolean-like mask: keeps x where mask ≠ 0, else `fill`.
 * @param x - the input tensor
 * @param mask - 1 where x is kept, 0 where it is replaced
 * @param fill - the value put where the mask is 0
 */
export function masked(x: Tensor, mask: Tensor, fill = 0): Tensor {
  return where(mask, x, full([], fill, x.backend));
}
