/**
 * The primitive ops: each runs one backend kernel, and its gradient is one line of the
 * {@link gradients} table, written with these same primitives (so it works on every backend).
 * Every other op in Engram is composed from these in `ops.ts`.
 */
import { DeferredProduct, isGradEnabled } from './autograd.js';
import { type Backend, type KernelName, type Kernels, type MatmulArgs, OUTPUT_LAYOUTS, layoutLength } from './backend.js';
import { getDefaultBackend } from './default-backend.js';
import { EngramError, ShapeError, formatShape } from './errors.js';
import { type Shape, broadcastShapes, checkShape, normalizeAxis, sameShape, shapeSize } from './shape.js';
import { Tensor } from './tensor.js';

type Storage = unknown;
type AnyKernels = Kernels<Storage>;

/** Elementwise unary primitives. */
export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'tanh' | 'sigmoid' | 'relu' | 'step' | 'softplus';
/** Elementwise binary primitives (with broadcasting). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'greater' | 'equal';

/** What a gradient rule sees: the output's gradient, the inputs, the output and the op's parameters. */
export interface GradContext<P> {
  /** Gradient of the objective with respect to the op's output. */
  grad: Tensor;
  /** The op's inputs, in order. */
  inputs: readonly Tensor[];
  /** The op's output. */
  out: Tensor;
  /** The op's non-tensor parameters (axis, permutation, ...). */
  params: P;
}
/** Maps the output gradient to one gradient per input (null: none). Broadcast is undone by the caller. */
export type GradientRule<P = undefined> = (c: GradContext<P>) => (Tensor | DeferredProduct | null)[];

/** Parameters of the `sum` and `max` reductions. */
export interface ReduceParams {
  /** The reduced axis. */
  axis: number;
  /** The input's shape. */
  shape: Shape;
}
/** Parameters of the `matmul` primitive. */
export interface MatmulParams {
  /** A was used transposed. */
  transA: boolean;
  /** B was used transposed. */
  transB: boolean;
}
/** Parameters of `permute`. */
export interface PermuteParams {
  /** Output axis i is input axis perm[i]. */
  perm: readonly number[];
}
/** Parameters of `slice` and `pad`. */
export interface BoxParams {
  /** Start of the box in the larger tensor. */
  begin: readonly number[];
}
/** Parameters of `concat`. */
export interface ConcatParams {
  /** The joined axis. */
  axis: number;
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

/** Parameters of `gather` and `scatterAdd`. */
export interface GatherParams {
  /** Row indices. */
  indices: Int32Array;
  /** Rows of the table. */
  rows: number;
}

const inv = (perm: readonly number[]): number[] => {
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inverse[p] = i;
  });
  return inverse;
};

/** The name of a primitive op: the backend kernels plus `reshape`, which needs none. */
export type PrimitiveOp = KernelName | 'reshape';

/** An input's gradient, computed only when that input needs one (constants such as masks do not). */
const needed = <T>(input: Tensor | undefined, gradient: () => T): T | null => (input?.requiresGrad ? gradient() : null);

/**
 * The gradient of every primitive, one line each. Inputs are `[a, b]` for binary ops and `[x]`
 * for unary ones; `out` is the primitive's result.
 */
export const gradients: Readonly<Record<PrimitiveOp, GradientRule<never>>> = {
  neg: ({ grad }) => [neg(grad)],
  exp: ({ grad, out }) => [mul(grad, out)],
  log: ({ grad, inputs: [x] }) => [div(grad, x as Tensor)],
  sqrt: ({ grad, out }) => [div(grad, mul(out, 2))],
  abs: ({ grad, inputs: [x] }) => [mul(grad, sign(x as Tensor))],
  sign: () => [null],
  tanh: ({ grad, out }) => [mul(grad, sub(1, mul(out, out)))],
  sigmoid: ({ grad, out }) => [mul(grad, mul(out, sub(1, out)))],
  relu: ({ grad, inputs: [x] }) => [mul(grad, step(x as Tensor))],
  step: () => [null],
  softplus: ({ grad, inputs: [x] }) => [mul(grad, sigmoid(x as Tensor))],
  softmax: ({ grad, out }) => [mul(out, sub(grad, reduceKeep('sum', mul(grad, out), out.rank - 1)))],
  add: ({ grad }) => [grad, grad],
  sub: ({ grad, inputs: [, b] }) => [grad, needed(b, () => neg(grad))],
  mul: ({ grad, inputs: [a, b] }) => [needed(a, () => mul(grad, b as Tensor)), needed(b, () => mul(grad, a as Tensor))],
  div: ({ grad, inputs: [a, b] }) => [
    needed(a, () => div(grad, b as Tensor)),
    needed(b, () => neg(div(mul(grad, a as Tensor), mul(b as Tensor, b as Tensor)))),
  ],
  pow: ({ grad, inputs: [a, b], out }) => [
    mul(grad, mul(b as Tensor, pow(a as Tensor, sub(b as Tensor, 1)))),
    (b as Tensor).requiresGrad ? mul(grad, mul(out, log(a as Tensor))) : null,
  ],
  maximum: ({ grad, inputs: [a, b] }) => {
    const pickA = greaterEqual(a as Tensor, b as Tensor);
    return [mul(grad, pickA), mul(grad, sub(1, pickA))];
  },
  minimum: ({ grad, inputs: [a, b] }) => {
    const pickA = greaterEqual(b as Tensor, a as Tensor);
    return [mul(grad, pickA), mul(grad, sub(1, pickA))];
  },
  greater: () => [null, null],
  equal: () => [null, null],
  sum: ({ grad, params }: GradContext<ReduceParams>) => [broadcastTo(reshape(grad, keptShape(params.shape, params.axis)), params.shape)],
  max: ({ grad, inputs: [x], out, params }: GradContext<ReduceParams>) => {
    // Ties share the gradient equally, so the gradient is the true subgradient's average.
    const kept = keptShape(params.shape, params.axis);
    const isMax = equal(x as Tensor, reshape(out, kept));
    const count = reduce('sum', isMax, params.axis);
    return [mul(isMax, reshape(div(grad, count), kept))];
  },
  matmul: ({ grad, inputs: [a, b], params: { transA, transB } }: GradContext<MatmulParams>) => [
    needed(a, () => (transA ? matmulRaw(b as Tensor, grad, transB, true) : matmulRaw(grad, b as Tensor, false, !transB))),
    needed(b, () =>
      // A weight (a leaf matrix) used as x·W: defer Aᵀ·G so all its uses are summed by one matmul.
      !transA && !transB && (b as Tensor).node === null && (a as Tensor).rank === 2 && (b as Tensor).rank === 2
        ? new DeferredProduct(a as Tensor, grad)
        : transB
          ? matmulRaw(grad, a as Tensor, true, transA)
          : matmulRaw(a as Tensor, grad, !transA, false),
    ),
  ],
  reshape: ({ grad, inputs: [x] }) => [reshape(grad, (x as Tensor).shape)],
  permute: ({ grad, params }: GradContext<PermuteParams>) => [permute(grad, inv(params.perm))],
  slice: ({ grad, inputs: [x], params }: GradContext<BoxParams>) => [pad(grad, params.begin, (x as Tensor).shape)],
  pad: ({ grad, inputs: [x], params }: GradContext<BoxParams>) => [slice(grad, params.begin, (x as Tensor).shape)],
  broadcastTo: ({ grad }) => [grad],
  concat: ({ grad, inputs, params }: GradContext<ConcatParams>) => {
    let offset = 0;
    return inputs.map((x) => {
      const begin = x.shape.map((_, i) => (i === params.axis ? offset : 0));
      offset += x.shape[params.axis] as number;
      return slice(grad, begin, x.shape);
    });
  },
  where: ({ grad, inputs: [cond, a, b] }) => [null, needed(a, () => where(cond as Tensor, grad, 0)), needed(b, () => where(cond as Tensor, 0, grad))],
  gather: ({ grad, params }: GradContext<GatherParams>) => [scatterAdd(grad, params.indices, params.rows)],
  scatterAdd: ({ grad, params }: GradContext<GatherParams>) => [gather(grad, params.indices)],
  embeddingBag: ({ grad, inputs: [table, weights], params: { indices, weightIndices, words } }: GradContext<EmbeddingBagParams>) => [
    needed(table, () => embeddingBagAdjoint(grad, indices, weights as Tensor, weightIndices, words, (table as Tensor).shape[0] as number)),
    // Weights are usually constants (position encodings); their gradient is the same adjoint with the roles swapped.
    needed(weights, () => embeddingBagAdjoint(grad, weightIndices, table as Tensor, indices, words, (weights as Tensor).shape[0] as number)),
  ],
  embeddingBagBackward: ({ inputs }) => inputs.map(() => null),
  lstmCell: ({ grad, inputs: [z, c], out }) => {
    const both = lstmCellBackward(z as Tensor, c as Tensor, out, grad);
    const [batch, fiveH] = both.shape as [number, number];
    const hidden = fiveH / 5;
    return [slice(both, [0, 0], [batch, 4 * hidden]), slice(both, [0, 4 * hidden], [batch, hidden])];
  },
  // The backward kernel is not differentiated again (no second-order gradients through the cell).
  lstmCellBackward: ({ inputs }) => inputs.map(() => null),
  memoryWrite: ({ grad, inputs: [memory, w, e, a] }) => {
    const [batch, rows, width] = (memory as Tensor).shape as [number, number, number];
    return splitFlat(
      memoryWriteBackward(memory as Tensor, w as Tensor, e as Tensor, a as Tensor, grad),
      OUTPUT_LAYOUTS.memoryWriteBackward(batch, rows, width),
    );
  },
  memoryWriteBackward: ({ inputs }) => inputs.map(() => null),
  attentionRead: ({ grad, inputs: [m, c, u, mask], out, params }: GradContext<AttentionParams>) => {
    const [batch, slots, width] = (m as Tensor).shape as [number, number, number];
    const flat = attentionReadBackward(m as Tensor, c as Tensor, u as Tensor, mask as Tensor, out, grad, params.normalize);
    return [...splitFlat(flat, OUTPUT_LAYOUTS.attentionReadBackward(batch, slots, width)), null];
  },
  attentionReadBackward: ({ inputs }) => inputs.map(() => null),
  softmaxCrossEntropy: ({ grad, inputs: [x], params }: GradContext<CrossEntropyParams>) => [softmaxCrossEntropyBackward(x as Tensor, params.labels, grad)],
  softmaxCrossEntropyBackward: ({ inputs }) => inputs.map(() => null),
  rowCosine: ({ grad, inputs: [memory, key], params }: GradContext<CosineParams>) => {
    const [batch, rows, width] = (memory as Tensor).shape as [number, number, number];
    return splitFlat(rowCosineBackward(memory as Tensor, key as Tensor, grad, params.epsilon), OUTPUT_LAYOUTS.rowCosineBackward(batch, rows, width));
  },
  rowCosineBackward: ({ inputs }) => inputs.map(() => null),
  locationAddress: ({ grad, inputs: [wc, wp, g, s, gamma], params }: GradContext<CosineParams>) => {
    const [batch, slots] = (wc as Tensor).shape as [number, number];
    const shifts = (s as Tensor).shape[1] as number;
    const flat = locationAddressBackward(wc as Tensor, wp as Tensor, g as Tensor, s as Tensor, gamma as Tensor, grad, params.epsilon);
    return splitFlat(flat, OUTPUT_LAYOUTS.locationAddressBackward(batch, slots, shifts));
  },
  locationAddressBackward: ({ inputs }) => inputs.map(() => null),
};

/** Cuts a flat tensor into consecutive pieces of the given shapes. */
function splitFlat(flat: Tensor, shapes: readonly (readonly number[])[]): Tensor[] {
  let offset = 0;
  return shapes.map((shape) => {
    const size = shapeSize(shape);
    const piece = reshape(slice(flat, [offset], [size]), shape);
    offset += size;
    return piece;
  });
}

function keptShape(shape: Shape, axis: number): number[] {
  return shape.map((d, i) => (i === axis ? 1 : d));
}

/** Wraps a kernel result, recording the gradient rule when any input needs a gradient. */
function record<P>(op: PrimitiveOp, storage: Storage, shape: Shape, inputs: readonly Tensor[], params: P, backend: Backend): Tensor {
  let needsGrad = false;
  if (isGradEnabled()) for (const input of inputs) needsGrad ||= input.requiresGrad;
  const out = new Tensor(storage, shape, backend, needsGrad);
  if (needsGrad) {
    const rule = gradients[op] as unknown as GradientRule<P>;
    out.node = { op, inputs, backward: (grad) => rule({ grad, inputs, out, params }) };
  }
  return out;
}

function backendOf(op: string, tensors: readonly Tensor[]): Backend {
  const backend = (tensors[0] as Tensor).backend;
  for (const t of tensors) {
    if (t.backend !== backend) {
      throw new EngramError(`${op}: operands live on different backends ('${backend.name}' and '${t.backend.name}'); move one with tensor.to(backend)`);
    }
  }
  return backend;
}

function kernels(backend: Backend): AnyKernels {
  return backend.kernels as AnyKernels;
}

/** A tensor of `shape` filled with `value`, without a tape. */
export function full(shape: Shape, value: number, backend: Backend = getDefaultBackend()): Tensor {
  checkShape('full', shape);
  const data = new Float32Array(shapeSize(shape));
  if (value !== 0) data.fill(value);
  return new Tensor(backend.fromArray(data), [...shape], backend);
}

/** Turns a number operand into a scalar tensor on `backend`. */
export function asTensor(value: Tensor | number, backend: Backend): Tensor {
  return value instanceof Tensor ? value : full([], value, backend);
}

function unary(op: UnaryOp, x: Tensor): Tensor {
  return record(op, kernels(x.backend)[op](x.storage, x.size), x.shape, [x], undefined, x.backend);
}

function binary(op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  const backend = a instanceof Tensor ? a.backend : b instanceof Tensor ? b.backend : getDefaultBackend();
  const ta = asTensor(a, backend);
  const tb = asTensor(b, backend);
  backendOf(op, [ta, tb]);
  const shape = sameShape(ta.shape, tb.shape) ? ta.shape : broadcastShapes(op, ta.shape, tb.shape);
  return record(op, kernels(backend)[op](ta.storage, ta.shape, tb.storage, tb.shape, shape), shape, [ta, tb], undefined, backend);
}

/** −x */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/** eˣ */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** ln x */
export const log = (x: Tensor): Tensor => unary('log', x);
/** √x */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/** |x| */
export const abs = (x: Tensor): Tensor => unary('abs', x);
/** sign(x) ∈ {−1, 0, 1}; no gradient. */
export const sign = (x: Tensor): Tensor => unary('sign', x);
/** tanh x */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** σ(x) = 1 / (1 + e⁻ˣ) */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** max(x, 0) */
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** 1 where x > 0, else 0; no gradient. */
export const step = (x: Tensor): Tensor => unary('step', x);
/** softplus(x) = ln(1 + eˣ), overflow-free; its gradient is σ(x). */
export const softplus = (x: Tensor): Tensor => unary('softplus', x);

/**
 * Softmax over the last axis, one kernel: y_i = e^{x_i − max} / Σ_j e^{x_j − max}. Gradient:
 * dx = y ∘ (dy − Σ_j dy_j y_j).
 */
export function softmaxLast(x: Tensor): Tensor {
  if (x.rank === 0) throw new ShapeError('softmax', 'needs at least one axis', [x.shape]);
  const cols = x.shape[x.rank - 1] as number;
  const rows = cols === 0 ? 0 : x.size / cols;
  return record('softmax', kernels(x.backend).softmax(x.storage, rows, cols), x.shape, [x], undefined, x.backend);
}

/**
 * Cross-entropy of each row of `logits` `[rows, classes]` with its integer label, fused:
 * ℓ_r = log Σ_j e^{x_rj} − x_r,label (max-shifted, never overflows) → `[rows]`. Gradient:
 * (softmax(x_r) − onehot(label))·dℓ_r. Labels must be in [0, classes).
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  const op = 'softmaxCrossEntropy';
  if (logits.rank !== 2) throw new ShapeError(op, 'logits must have shape [rows, classes]', [logits.shape]);
  const [rows, classes] = logits.shape as [number, number];
  if (labels.length !== rows) throw new ShapeError(op, `expected ${rows} labels, got ${labels.length}`, [logits.shape, [labels.length]]);
  checkIndices(op, labels, classes);
  return record(op, kernels(logits.backend).softmaxCrossEntropy(logits.storage, labels, rows, classes), [rows], [logits], { labels }, logits.backend);
}

/** The backward of {@link softmaxCrossEntropy}: `[rows, classes]`. */
export function softmaxCrossEntropyBackward(logits: Tensor, labels: Int32Array, grad: Tensor): Tensor {
  const op = 'softmaxCrossEntropyBackward';
  const [rows, classes] = logits.shape as [number, number];
  const backend = backendOf(op, [logits, grad]);
  return record(
    op,
    kernels(backend).softmaxCrossEntropyBackward(logits.storage, labels, grad.storage, rows, classes),
    [rows, classes],
    [logits, grad],
    { labels },
    backend,
  );
}

/** A reduction that keeps the reduced axis with length 1. */
function reduceKeep(op: 'sum' | 'max', x: Tensor, axis: number): Tensor {
  return reshape(reduce(op, x, axis), keptShape(x.shape, axis));
}

/** a + b, broadcasting. */
export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary('add', a, b);
/** a − b, broadcasting. */
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary('sub', a, b);
/** a · b elementwise, broadcasting. */
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary('mul', a, b);
/** a / b elementwise, broadcasting. */
export const div = (a: Tensor | number, b: Tensor | number): Tensor => binary('div', a, b);
/** aᵇ elementwise, broadcasting (gradient w.r.t. b needs a > 0). */
export const pow = (a: Tensor | number, b: Tensor | number): Tensor => binary('pow', a, b);
/** Elementwise maximum; the gradient goes to `a` on ties. */
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary('maximum', a, b);
/** Elementwise minimum; the gradient goes to `a` on ties. */
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor => binary('minimum', a, b);
/** 1 where a > b, else 0; no gradient. */
export const greater = (a: Tensor | number, b: Tensor | number): Tensor => binary('greater', a, b);
/** 1 where a = b, else 0; no gradient. */
export const equal = (a: Tensor | number, b: Tensor | number): Tensor => binary('equal', a, b);
/** 1 where a ≥ b, else 0; no gradient. */
export const greaterEqual = (a: Tensor | number, b: Tensor | number): Tensor => sub(1, greater(b, a));

/** Reduces one axis with the `sum` or `max` kernel, dropping that axis. */
export function reduce(op: 'sum' | 'max', x: Tensor, axis: number): Tensor {
  const resolved = normalizeAxis(op, axis, x.rank);
  const outer = shapeSize(x.shape.slice(0, resolved));
  const n = x.shape[resolved] as number;
  const inner = shapeSize(x.shape.slice(resolved + 1));
  if (op === 'max' && n === 0) throw new ShapeError('max', `cannot reduce an empty axis ${resolved}`, [x.shape]);
  const shape = x.shape.filter((_, i) => i !== resolved);
  const params: ReduceParams = { axis: resolved, shape: x.shape };
  return record(op, kernels(x.backend)[op](x.storage, outer, n, inner), shape, [x], params, x.backend);
}

/**
 * The matmul primitive: C = op(A) · op(B), where op transposes the last two axes when asked.
 * A and B are rank 2 (one matrix) or rank 3 (a batch); a rank-2 operand is shared by the batch.
 */
export function matmulRaw(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  const backend = backendOf('matmul', [a, b]);
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3) {
    throw new ShapeError('matmul', 'operands must be matrices (rank 2) or batches of matrices (rank 3)', [a.shape, b.shape]);
  }
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [kb, n] = transB ? [bc, br] : [br, bc];
  if (k !== kb) throw new ShapeError('matmul', `inner dimensions differ (${k} vs ${kb})`, [a.shape, b.shape]);
  const batchA = a.rank === 3 ? (a.shape[0] as number) : null;
  const batchB = b.rank === 3 ? (b.shape[0] as number) : null;
  if (batchA !== null && batchB !== null && batchA !== batchB) {
    throw new ShapeError('matmul', `batch sizes differ (${batchA} vs ${batchB})`, [a.shape, b.shape]);
  }
  const batch = batchA ?? batchB ?? 1;
  const args: MatmulArgs = { batch, m, k, n, transA, transB, batchedA: batchA !== null, batchedB: batchB !== null };
  const shape = batchA === null && batchB === null ? [m, n] : [batch, m, n];
  return record('matmul', kernels(backend).matmul(a.storage, b.storage, args), shape, [a, b], { transA, transB }, backend);
}

/** The same data with a new shape of the same size; one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const inferred = shape.indexOf(-1);
  let resolved = shape;
  if (inferred >= 0) {
    const known = shapeSize(shape.filter((_, i) => i !== inferred));
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError('reshape', `cannot infer the -1 dimension of ${formatShape(shape)}`, [x.shape]);
    }
    resolved = shape.map((d, i) => (i === inferred ? x.size / known : d));
  }
  checkShape('reshape', resolved);
  if (shapeSize(resolved) !== x.size) {
    throw new ShapeError('reshape', `cannot reshape ${x.size} elements to ${formatShape(resolved)}`, [x.shape, resolved]);
  }
  if (sameShape(resolved, x.shape)) return x;
  return record('reshape', x.storage, [...resolved], [x], undefined, x.backend);
}

/** Reorders axes: output axis i is input axis perm[i]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const sorted = [...perm].sort((p, q) => p - q);
  if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
    throw new ShapeError('permute', `${formatShape(perm)} is not a permutation of ${x.rank} axes`, [x.shape]);
  }
  if (perm.every((p, i) => p === i)) return x;
  const shape = perm.map((p) => x.shape[p] as number);
  return record('permute', kernels(x.backend).permute(x.storage, x.shape, perm), shape, [x], { perm: [...perm] }, x.backend);
}

/**
 * The box of `x` starting at `begin` with extent `size` (default: to the end; -1 also means to
 * the end).
 */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  if (begin.length !== x.rank || (size !== undefined && size.length !== x.rank)) {
    throw new ShapeError('slice', `begin ${formatShape(begin)} and size ${formatShape(size ?? [])} must have one entry per axis`, [x.shape]);
  }
  const shape = begin.map((b, i) => {
    const dim = x.shape[i] as number;
    const extent = size === undefined || size[i] === -1 ? dim - b : (size[i] as number);
    if (!Number.isInteger(b) || b < 0 || extent < 0 || b + extent > dim) {
      throw new ShapeError('slice', `box begin ${formatShape(begin)} size ${formatShape(size ?? [])} is outside the tensor on axis ${i}`, [x.shape]);
    }
    return extent;
  });
  if (sameShape(shape, x.shape)) return x;
  return record('slice', kernels(x.backend).slice(x.storage, x.shape, begin, shape), shape, [x], { begin: [...begin] }, x.backend);
}

/** Places `x` at `begin` inside a zero tensor of `shape` (the adjoint of {@link slice}). */
export function pad(x: Tensor, begin: readonly number[], shape: Shape): Tensor {
  if (
    begin.length !== x.rank ||
    shape.length !== x.rank ||
    x.shape.some((d, i) => (begin[i] as number) + d > (shape[i] as number) || (begin[i] as number) < 0)
  ) {
    throw new ShapeError('pad', `cannot place the tensor at ${formatShape(begin)} inside ${formatShape(shape)}`, [x.shape, shape]);
  }
  if (sameShape(shape, x.shape)) return x;
  return record('pad', kernels(x.backend).pad(x.storage, x.shape, begin, shape), [...shape], [x], { begin: [...begin] }, x.backend);
}

/** Repeats `x` along broadcast dimensions to `shape` (NumPy rules). */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(target, shape)) {
    throw new ShapeError('broadcastTo', `cannot broadcast to ${formatShape(shape)}`, [x.shape, shape]);
  }
  if (sameShape(x.shape, shape)) return x;
  return record('broadcastTo', kernels(x.backend).broadcastTo(x.storage, x.shape, shape), [...shape], [x], undefined, x.backend);
}

/** Joins tensors along `axis`; all other dimensions must agree. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new EngramError('concat: needs at least one tensor');
  const backend = backendOf('concat', xs);
  const first = xs[0] as Tensor;
  const resolved = normalizeAxis('concat', axis, first.rank);
  let total = 0;
  for (const x of xs) {
    if (x.rank !== first.rank || x.shape.some((d, i) => i !== resolved && d !== first.shape[i])) {
      throw new ShapeError(
        'concat',
        `shapes differ outside axis ${resolved}`,
        xs.map((t) => t.shape),
      );
    }
    total += x.shape[resolved] as number;
  }
  if (xs.length === 1) return first;
  const shape = first.shape.map((d, i) => (i === resolved ? total : d));
  const storage = kernels(backend).concat(
    xs.map((x) => x.storage),
    xs.map((x) => x.shape),
    resolved,
    shape,
  );
  return record('concat', storage, shape, xs, { axis: resolved }, backend);
}

/** Picks `a` where `cond` ≠ 0 and `b` elsewhere; all three broadcast together. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const backend = cond.backend;
  const ta = asTensor(a, backend);
  const tb = asTensor(b, backend);
  backendOf('where', [cond, ta, tb]);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const [c, x, y] = [cond, ta, tb].map((t) => (sameShape(t.shape, shape) ? t : broadcastTo(t, shape))) as [Tensor, Tensor, Tensor];
  const storage = kernels(backend).where(c.storage, x.storage, y.storage, shapeSize(shape));
  return record('where', storage, shape, [c, x, y], undefined, backend);
}

function checkIndices(op: string, indices: Int32Array, rows: number): void {
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i] as number;
    if (index < 0 || index >= rows) throw new EngramError(`${op}: index ${index} at position ${i} is out of range [0, ${rows})`);
  }
}

/**
 * Row lookup (embedding): `out[i, ...] = table[indices[i], ...]`. The result's shape is
 * `[indices.length, ...table.shape.slice(1)]`. Its gradient scatter-adds into the table.
 */
export function gather(table: Tensor, indices: Int32Array | readonly number[]): Tensor {
  if (table.rank < 1) throw new ShapeError('gather', 'the table must have at least one axis', [table.shape]);
  const ids = indices instanceof Int32Array ? indices : Int32Array.from(indices);
  const rows = table.shape[0] as number;
  checkIndices('gather', ids, rows);
  const cols = table.size / Math.max(rows, 1);
  const shape = [ids.length, ...table.shape.slice(1)];
  return record('gather', kernels(table.backend).gather(table.storage, rows, cols, ids), shape, [table], { indices: ids, rows }, table.backend);
}

/**
 * Fused LSTM cell (gate order i, f, g, o, as in PyTorch): from the gate pre-activations z
 * `[batch, 4H]` and the cell state c `[batch, H]`, returns `[batch, 2H]` holding h then c':
 * i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o), c' = f·c + i·g, h = o·tanh(c').
 * One kernel forward and one backward, instead of about a dozen of each.
 */
export function lstmCell(z: Tensor, c: Tensor): Tensor {
  const backend = backendOf('lstmCell', [z, c]);
  const [batch, hidden] = c.shape as [number, number];
  if (c.rank !== 2 || z.rank !== 2 || z.shape[0] !== batch || z.shape[1] !== 4 * hidden) {
    throw new ShapeError('lstmCell', 'expected z [batch, 4H] and c [batch, H]', [z.shape, c.shape]);
  }
  return record('lstmCell', kernels(backend).lstmCell(z.storage, c.storage, batch, hidden), [batch, 2 * hidden], [z, c], undefined, backend);
}

/** The fused LSTM cell's backward: `[batch, 5H]` = dz then dc (used by {@link lstmCell}'s gradient). */
export function lstmCellBackward(z: Tensor, c: Tensor, out: Tensor, grad: Tensor): Tensor {
  const backend = backendOf('lstmCellBackward', [z, c, out, grad]);
  const [batch, hidden] = c.shape as [number, number];
  const storage = kernels(backend).lstmCellBackward(z.storage, c.storage, out.storage, grad.storage, batch, hidden);
  return record('lstmCellBackward', storage, [batch, 5 * hidden], [z, c, out, grad], undefined, backend);
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
 */
export function memoryWrite(memory: Tensor, w: Tensor, e: Tensor, a: Tensor): Tensor {
  const backend = backendOf('memoryWrite', [memory, w, e, a]);
  const [batch, rows, width] = memoryShapeOf('memoryWrite', memory, [
    ['weighting w', w, 'row'],
    ['erase e', e, 'column'],
    ['add a', a, 'column'],
  ]);
  const storage = kernels(backend).memoryWrite(memory.storage, w.storage, e.storage, a.storage, batch, rows, width);
  return record('memoryWrite', storage, memory.shape, [memory, w, e, a], undefined, backend);
}

/** The fused write's backward (flat dM, dw, de, da); used by {@link memoryWrite}'s gradient. */
export function memoryWriteBackward(memory: Tensor, w: Tensor, e: Tensor, a: Tensor, grad: Tensor): Tensor {
  const backend = backendOf('memoryWriteBackward', [memory, w, e, a, grad]);
  const [batch, rows, width] = memory.shape as [number, number, number];
  const storage = kernels(backend).memoryWriteBackward(memory.storage, w.storage, e.storage, a.storage, grad.storage, batch, rows, width);
  return record(
    'memoryWriteBackward',
    storage,
    [layoutLength(OUTPUT_LAYOUTS.memoryWriteBackward(batch, rows, width))],
    [memory, w, e, a, grad],
    undefined,
    backend,
  );
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
 */
export function attentionRead(m: Tensor, c: Tensor, u: Tensor, mask: Tensor, normalize = true): Tensor {
  const op = 'attentionRead';
  if (m.rank !== 3) throw new ShapeError(op, 'm must have shape [batch, slots, width]', [m.shape, c.shape]);
  const [batch, slots, width] = m.shape as [number, number, number];
  const expect = (name: string, x: Tensor, shape: number[]): void => {
    if (x.rank !== shape.length || x.shape.some((d, i) => d !== shape[i]))
      throw new ShapeError(op, `${name} must have shape ${formatShape(shape)}`, [m.shape, x.shape]);
  };
  expect('c', c, [batch, slots, width]);
  expect('u', u, [batch, width]);
  expect('mask', mask, [batch, slots]);
  const backend = backendOf(op, [m, c, u, mask]);
  const storage = kernels(backend).attentionRead(m.storage, c.storage, u.storage, mask.storage, batch, slots, width, normalize);
  return record(op, storage, [batch * width + batch * slots], [m, c, u, mask], { normalize }, backend);
}

/** The fused attention's backward (flat dm, dc, du); used by {@link attentionRead}'s gradient. */
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
  return record(op, storage, [layoutLength(OUTPUT_LAYOUTS.attentionReadBackward(batch, slots, width))], [m, c, u, mask, out, grad], { normalize }, backend);
}

/**
 * Cosine similarity of a key `[batch, M]` with every row of a memory `[batch, N, M]` in one pass
 * (NTM eq. 6): K(k, M(i)) = k·M(i) / (‖k‖·‖M(i)‖ + ε) → `[batch, N]`. A zero row or key gives 0
 * with a finite gradient.
 */
export function rowCosine(memory: Tensor, key: Tensor, epsilon: number): Tensor {
  const backend = backendOf('rowCosine', [memory, key]);
  const [batch, rows, width] = memoryShapeOf('rowCosine', memory, [['key', key, 'column']]);
  const storage = kernels(backend).rowCosine(memory.storage, key.storage, batch, rows, width, epsilon);
  return record('rowCosine', storage, [batch, rows], [memory, key], { epsilon }, backend);
}

/** The fused cosine's backward (flat dM then dk); used by {@link rowCosine}'s gradient. */
export function rowCosineBackward(memory: Tensor, key: Tensor, grad: Tensor, epsilon: number): Tensor {
  const backend = backendOf('rowCosineBackward', [memory, key, grad]);
  const [batch, rows, width] = memory.shape as [number, number, number];
  const storage = kernels(backend).rowCosineBackward(memory.storage, key.storage, grad.storage, batch, rows, width, epsilon);
  return record('rowCosineBackward', storage, [layoutLength(OUTPUT_LAYOUTS.rowCosineBackward(batch, rows, width))], [memory, key, grad], { epsilon }, backend);
}

/**
 * NTM location addressing in one pass (eq. 7–9): interpolation w_g = g·w_c + (1 − g)·w_{t−1},
 * circular shift w̃(i) = Σ_k s(k)·w_g(i − k + (S−1)/2), sharpening w(i) = (w̃(i) + ε)^γ / Σ_j (w̃(j) + ε)^γ.
 * Shapes: wc, wp `[batch, N]`; g, γ `[batch, 1]`; s `[batch, S]`, S odd ≤ N.
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
  return record('locationAddress', storage, [batch, slots], [wc, wp, g, s, gamma], { epsilon }, backend);
}

/** The fused location addressing's backward (flat dwc, dwp, dg, ds, dγ). */
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
  return record(
    'locationAddressBackward',
    storage,
    [layoutLength(OUTPUT_LAYOUTS.locationAddressBackward(batch, slots, shifts))],
    [wc, wp, g, s, gamma, grad],
    { epsilon },
    backend,
  );
}

/**
 * Weighted bags of embedding rows, fused (a memory network's sentence encoding, Sukhbaatar et al.
 * 2015 §4.1: m_i = Σ_j l_j ⊙ A x_ij). `table` `[rows, width]`; `weights` `[weightRows, width]`, a
 * small table of weight vectors (one per word position, say); item i = n·words + l of bag n uses
 * table row `indices[i]` and weight row `weightIndices[i]`:
 * out[n, k] = Σ_l weights[weightIndices[i], k]·table[indices[i], k], shape `[bags, width]`.
 * One pass instead of gather, multiply and sum; differentiable in the table and the weights.
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
  return record(op, storage, [bags, width], [table, weights], { indices, weightIndices, words }, backend);
}

/**
 * The adjoint of {@link embeddingBag} for its table: `[rows, width]`, with grad[n, k]·weights[weightIndices[i], k]
 * added at row indices[i]. Swapping (indices, table) with (weightIndices, weights) gives the weights' adjoint.
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
  return record('embeddingBagBackward', storage, [rows, width], [grad, weights], { indices, weightIndices, words }, backend);
}

/** Adjoint of {@link gather}: a `[rows, ...]` zero tensor with `src[i]` added at row `indices[i]`. */
export function scatterAdd(src: Tensor, indices: Int32Array, rows: number): Tensor {
  if (src.rank < 1 || src.shape[0] !== indices.length) {
    throw new ShapeError('scatterAdd', `expected ${indices.length} rows, one per index`, [src.shape]);
  }
  checkIndices('scatterAdd', indices, rows);
  const shape = [rows, ...src.shape.slice(1)];
  const storage = kernels(src.backend).scatterAdd(src.storage, indices, rows, shapeSize(src.shape.slice(1)));
  return record('scatterAdd', storage, shape, [src], { indices, rows }, src.backend);
}
