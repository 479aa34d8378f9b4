/**
 * The primitive ops: each runs one backend kernel, and its gradient is one line of the
 * {@link gradients} table, written with these same primitives (so it works on every backend).
 * Composed ops are built from these in `ops.ts`; fused ops (one forward and one backward kernel
 * registered as one op) are in `fused.ts`.
 */
import { DeferredProduct, isGradEnabled } from './autograd.js';
import type { Backend, Kernels, MatmulArgs, PrimitiveKernelName } from './backend.js';
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

/** The name of a primitive op: the primitive kernels plus `reshape`, which needs none. Fused ops are in `fused.ts`. */
export type PrimitiveOp = PrimitiveKernelName | 'reshape';

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
};

/**
 * Cuts a flat tensor into consecutive pieces of the given shapes (a fused op's result, with its
 * layout from `OUTPUT_LAYOUTS`). Each piece is a differentiable slice.
 * @param flat - a one-dimensional tensor at least as long as the pieces together
 * @param shapes - the pieces' shapes, in order
 */
export function splitFlat(flat: Tensor, shapes: readonly (readonly number[])[]): Tensor[] {
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
  return recordWithRule(op, storage, shape, inputs, params, gradients[op] as unknown as GradientRule<P>, backend);
}

/**
 * Wraps a kernel result and, when any input needs a gradient, records `rule` as its backward. The
 * primitives pass their row of {@link gradients}; fused ops (`fused.ts`) pass their own rule.
 * @internal
 */
export function recordWithRule<P>(
  op: string,
  storage: Storage,
  shape: Shape,
  inputs: readonly Tensor[],
  params: P,
  rule: GradientRule<P>,
  backend: Backend,
): Tensor {
  let needsGrad = false;
  if (isGradEnabled()) for (const input of inputs) needsGrad ||= input.requiresGrad;
  const out = new Tensor(storage, shape, backend, needsGrad);
  if (needsGrad) out.node = { op, inputs, backward: (grad) => rule({ grad, inputs, out, params }) };
  return out;
}

/** The one backend all `tensors` live on (an error naming `op` otherwise). @internal */
export function backendOf(op: string, tensors: readonly Tensor[]): Backend {
  const backend = (tensors[0] as Tensor).backend;
  for (const t of tensors) {
    if (t.backend !== backend) {
      throw new EngramError(`${op}: operands live on different backends ('${backend.name}' and '${t.backend.name}'); move one with tensor.to(backend)`);
    }
  }
  return backend;
}

/** A backend's kernels, untyped in their storage. @internal */
export function kernels(backend: Backend): AnyKernels {
  return backend.kernels as AnyKernels;
}

/**
 * A tensor of `shape` filled with `value`, without a tape.
 * @param shape - the shape
 * @param value - the value of every element
 * @param backend - the backend to create on
 */
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

/**
 * −x
 * @param x - the input tensor
 */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/**
 * eˣ
 * @param x - the input tensor
 */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/**
 * ln x
 * @param x - the input tensor
 */
export const log = (x: Tensor): Tensor => unary('log', x);
/**
 * √x
 * @param x - the input tensor
 */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/**
 * |x|
 * @param x - the input tensor
 */
export const abs = (x: Tensor): Tensor => unary('abs', x);
/**
 * sign(x) ∈ {−1, 0, 1}; no gradient.
 * @param x - the input tensor
 */
export const sign = (x: Tensor): Tensor => unary('sign', x);
/**
 * tanh x
 * @param x - the input tensor
 */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/**
 * σ(x) = 1 / (1 + e⁻ˣ)
 * @param x - the input tensor
 */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/**
 * max(x, 0)
 * @param x - the input tensor
 */
export const relu = (x: Tensor): Tensor => unary('relu', x);
/**
 * 1 where x > 0, else 0; no gradient.
 * @param x - the input tensor
 */
export const step = (x: Tensor): Tensor => unary('step', x);
/** softplus(x) = ln(1 + eˣ), overflow-free; its gradient is σ(x). */
export const softplus = (x: Tensor): Tensor => unary('softplus', x);

/**
 * Softmax over the last axis, one kernel: y_i = e^{x_i − max} / Σ_j e^{x_j − max}. Gradient:
 * dx = y ∘ (dy − Σ_j dy_j y_j).
 * @param x - the input tensor (normalised over its last axis)
 */
export function softmaxLast(x: Tensor): Tensor {
  if (x.rank === 0) throw new ShapeError('softmax', 'needs at least one axis', [x.shape]);
  const cols = x.shape[x.rank - 1] as number;
  const rows = cols === 0 ? 0 : x.size / cols;
  return record('softmax', kernels(x.backend).softmax(x.storage, rows, cols), x.shape, [x], undefined, x.backend);
}

/** A reduction that keeps the reduced axis with length 1. */
function reduceKeep(op: 'sum' | 'max', x: Tensor, axis: number): Tensor {
  return reshape(reduce(op, x, axis), keptShape(x.shape, axis));
}

/**
 * a + b, broadcasting.
 * @param a - the first operand
 * @param b - the second operand (broadcast against a)
 */
export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary('add', a, b);
/**
 * a − b, broadcasting.
 * @param a - the first operand
 * @param b - the second operand (broadcast against a)
 */
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary('sub', a, b);
/**
 * a · b elementwise, broadcasting.
 * @param a - the first operand
 * @param b - the second operand (broadcast against a)
 */
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary('mul', a, b);
/**
 * a / b elementwise, broadcasting.
 * @param a - the first operand
 * @param b - the second operand (broadcast against a)
 */
export const div = (a: Tensor | number, b: Tensor | number): Tensor => binary('div', a, b);
/**
 * aᵇ elementwise, broadcasting (gradient w.r.t. b needs a > 0).
 * @param a - the base
 * @param b - the exponent (broadcast against a)
 */
export const pow = (a: Tensor | number, b: Tensor | number): Tensor => binary('pow', a, b);
/**
 * Elementwise maximum; the gradient goes to `a` on ties.
 * @param a - the first operand
 * @param b - the second operand (broadcast against a)
 */
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary('maximum', a, b);
/**
 * Elementwise minimum; the gradient goes to `a` on ties.
 * @param a - the first operand
 * @param b - the second operand (broadcast against a)
 */
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor => binary('minimum', a, b);
/**
 * 1 where a > b, else 0; no gradient.
 * @param a - the first operand
 * @param b - the second operand (broadcast against a)
 */
export const greater = (a: Tensor | number, b: Tensor | number): Tensor => binary('greater', a, b);
/**
 * 1 where a = b, else 0; no gradient.
 * @param a - the first operand
 * @param b - the second operand (broadcast against a)
 */
export const equal = (a: Tensor | number, b: Tensor | number): Tensor => binary('equal', a, b);
/**
 * 1 where a ≥ b, else 0; no gradient.
 * @param a - the first operand
 * @param b - the second operand (broadcast against a)
 */
export const greaterEqual = (a: Tensor | number, b: Tensor | number): Tensor => sub(1, greater(b, a));

/**
 * Reduces one axis with the `sum` or `max` kernel, dropping that axis.
 * @param op - sum or max
 * @param x - the input tensor
 * @param axis - the axis to reduce
 */
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
 * @param a - the left matrix
 * @param b - the right matrix
 * @param transA - use a transposed
 * @param transB - use b transposed
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

/**
 * The same data with a new shape of the same size; one dimension may be -1 (inferred).
 * @param x - the input tensor
 * @param shape - the new shape (one −1 is inferred)
 */
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

/**
 * Reorders axes: output axis i is input axis perm[i].
 * @param x - the input tensor
 * @param perm - the new order of the axes
 */
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
 * @param x - the input tensor
 * @param begin - the first index along each axis
 * @param size - how many along each axis (default: to the end)
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

/**
 * Places `x` at `begin` inside a zero tensor of `shape` (the adjoint of {@link slice}).
 * @param x - the input tensor
 * @param begin - where x starts in the result, per axis
 * @param shape - the result's shape
 */
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

/**
 * Repeats `x` along broadcast dimensions to `shape` (NumPy rules).
 * @param x - the input tensor
 * @param shape - the shape to broadcast to
 */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(target, shape)) {
    throw new ShapeError('broadcastTo', `cannot broadcast to ${formatShape(shape)}`, [x.shape, shape]);
  }
  if (sameShape(x.shape, shape)) return x;
  return record('broadcastTo', kernels(x.backend).broadcastTo(x.storage, x.shape, shape), [...shape], [x], undefined, x.backend);
}

/**
 * Joins tensors along `axis`; all other dimensions must agree.
 * @param xs - the tensors to join (same shape but along axis)
 * @param axis - the axis to join along
 */
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

/**
 * Picks `a` where `cond` ≠ 0 and `b` elsewhere; all three broadcast together.
 * @param cond - 1 where a is taken, 0 where b is
 * @param a - taken where cond is 1
 * @param b - taken where cond is 0
 */
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

/** Every index an integer in [0, rows) (an error naming `op` otherwise). @internal */
export function checkIndices(op: string, indices: Int32Array, rows: number): void {
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i] as number;
    if (index < 0 || index >= rows) throw new EngramError(`${op}: index ${index} at position ${i} is out of range [0, ${rows})`);
  }
}

/**
 * Row lookup (embedding): `out[i, ...] = table[indices[i], ...]`. The result's shape is
 * `[indices.length, ...table.shape.slice(1)]`. Its gradient scatter-adds into the table.
 * @param table - the rows to pick from, [rows, width]
 * @param indices - the rows to pick
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
 * Adjoint of {@link gather}: a `[rows, ...]` zero tensor with `src[i]` added at row `indices[i]`.
 * @param src - the rows to add, [n, width]
 * @param indices - the row each is added to
 * @param rows - the result's rows
 */
export function scatterAdd(src: Tensor, indices: Int32Array, rows: number): Tensor {
  if (src.rank < 1 || src.shape[0] !== indices.length) {
    throw new ShapeError('scatterAdd', `expected ${indices.length} rows, one per index`, [src.shape]);
  }
  checkIndices('scatterAdd', indices, rows);
  const shape = [rows, ...src.shape.slice(1)];
  const storage = kernels(src.backend).scatterAdd(src.storage, indices, rows, shapeSize(src.shape.slice(1)));
  return record('scatterAdd', storage, shape, [src], { indices, rows }, src.backend);
}
