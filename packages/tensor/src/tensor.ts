import { type BackwardOptions, type DeferredProduct, type GradNode, backward as runBackward } from './autograd.js';
import type { Backend } from './backend.js';
import { EngramError, formatShape } from './errors.js';
import * as ops from './ops.js';
import * as prim from './primitives.js';
import { type Shape, shapeSize } from './shape.js';

/** A nested array of numbers, as accepted by {@link tensor} and returned by {@link Tensor.toNested}. */
export type NestedArray = number | NestedArray[];

/**
 * An immutable float32 array of any rank that records how it was computed, so gradients can flow
 * back through it.
 *
 * Tensors are created by the functions in `create.ts` ({@link tensor}, {@link zeros},
 * {@link randomNormal}...) and combined with the ops, also available as methods:
 * `x.matmul(w).add(b).tanh()`.
 */
export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: Shape;
  /** Number of elements. */
  readonly size: number;
  /** The backend that holds the data and runs the kernels. */
  readonly backend: Backend;
  /** Backend-specific data. Replaced (never mutated) by {@link Tensor.assign}. */
  storage: unknown;
  /** Whether gradients flow to (or through) this tensor. */
  requiresGrad: boolean;
  /** For a leaf with `requiresGrad`: the accumulated gradient after {@link Tensor.backward}. */
  grad: Tensor | null = null;
  /** How this tensor was computed; null for leaves and for tensors computed without a tape. */
  node: GradNode | null;

  /**
   * Tensors are made by the creation functions (`tensor`, `zeros`, …) and by ops; this is the raw form.
   * @param storage - the backend's storage for the values
   * @param shape - the tensor's shape
   * @param backend - the backend that owns the storage
   * @param requiresGrad - whether gradients flow to this tensor
   * @param node - the tape node that made it (null for a leaf)
   */
  constructor(storage: unknown, shape: Shape, backend: Backend, requiresGrad = false, node: GradNode | null = null) {
    this.storage = storage;
    this.shape = shape;
    this.size = shapeSize(shape);
    this.backend = backend;
    this.requiresGrad = requiresGrad;
    this.node = node;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** The data, read back from the backend. Shared with the tensor on the cpu backend: do not mutate. */
  dataSync(): Float32Array {
    return this.backend.toArray(this.storage, this.size);
  }

  /** A copy of the data in row-major order. */
  toArray(): Float32Array {
    return this.dataSync().slice();
  }

  /** The data as nested arrays of numbers (a number for a scalar). */
  toNested(): NestedArray {
    const data = this.dataSync();
    const build = (axis: number, offset: number): NestedArray => {
      if (axis === this.shape.length) return data[offset] as number;
      const inner = shapeSize(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis] as number }, (_, i) => build(axis + 1, offset + i * inner));
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new EngramError(`item: expected a tensor with one element, got shape ${formatShape(this.shape)}`);
    return this.dataSync()[0] as number;
  }

  /**
   * Replaces this tensor's data in place (optimizers update parameters this way). The data must
   * have the same number of elements; the tape is unaffected.
   * @param data - the new values (as many as the tensor has), or a tensor of the same shape
   */
  assign(data: Float32Array | Tensor): void {
    const size = data instanceof Tensor ? data.size : data.length;
    if (size !== this.size) {
      throw new EngramError(`assign: expected ${this.size} values for shape ${formatShape(this.shape)}, got ${size}`);
    }
    if (data instanceof Tensor) {
      if (data.backend !== this.backend) throw new EngramError(`assign: tensor lives on backend '${data.backend.name}', expected '${this.backend.name}'`);
      this.storage = data.storage;
    } else {
      this.storage = this.backend.fromArray(data);
    }
  }

  /**
   * Backpropagates from this tensor. A scalar needs no `seed`; otherwise `seed` is the gradient of
   * the final objective with respect to this tensor.
   * @param seed - the gradient of the output (default: ones; the output must then be a scalar)
   * @param options - whether to keep the tape for another backward pass
   */
  backward(seed?: Tensor, options?: BackwardOptions): void {
    let start = seed;
    if (start === undefined) {
      if (this.size !== 1) {
        throw new EngramError(
          `backward: called on a tensor of shape ${formatShape(this.shape)} without a seed; reduce it to a scalar first or pass the seed gradient`,
        );
      }
      start = prim.full(this.shape, 1, this.backend);
    } else if (start.size !== this.size) {
      throw new EngramError(`backward: seed shape ${formatShape(start.shape)} does not match tensor shape ${formatShape(this.shape)}`);
    }
    runBackward(this, start, ops.sumToShape, accumulateGradient, options, materializeProducts);
  }

  /** A tensor with the same data that is cut from the tape (gradients stop here). */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.backend);
  }

  /**
   * The same data on another backend.
   * @param backend - the backend to copy to
   */
  to(backend: Backend): Tensor {
    if (backend === this.backend) return this;
    return new Tensor(backend.fromArray(this.toArray()), this.shape, backend);
  }

  /** Marks this leaf as a trainable parameter and returns it. */
  trainable(): this {
    if (this.node !== null) throw new EngramError('trainable: only leaf tensors (not computed ones) can be parameters');
    this.requiresGrad = true;
    return this;
  }

  /** A short description: shape and backend. */
  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.backend.name})`;
  }

  /**
   * Elementwise a + b with broadcasting; see {@link add}.
   * @param other - the tensor or number to add (broadcast)
   */
  add(other: Tensor | number): Tensor {
    return prim.add(this, other);
  }
  /**
   * Elementwise a − b with broadcasting; see {@link sub}.
   * @param other - the tensor or number to subtract (broadcast)
   */
  sub(other: Tensor | number): Tensor {
    return prim.sub(this, other);
  }
  /**
   * Elementwise a · b with broadcasting; see {@link mul}.
   * @param other - the tensor or number to multiply by (broadcast)
   */
  mul(other: Tensor | number): Tensor {
    return prim.mul(this, other);
  }
  /**
   * Elementwise a / b with broadcasting; see {@link div}.
   * @param other - the tensor or number to divide by (broadcast)
   */
  div(other: Tensor | number): Tensor {
    return prim.div(this, other);
  }
  /**
   * Elementwise aᵇ; see {@link pow}.
   * @param exponent - the exponent, a tensor (broadcast) or a number
   */
  pow(exponent: Tensor | number): Tensor {
    return prim.pow(this, exponent);
  }
  /** −x; see {@link neg}. */
  neg(): Tensor {
    return prim.neg(this);
  }
  /** eˣ; see {@link exp}. */
  exp(): Tensor {
    return prim.exp(this);
  }
  /** ln x; see {@link log}. */
  log(): Tensor {
    return prim.log(this);
  }
  /** √x; see {@link sqrt}. */
  sqrt(): Tensor {
    return prim.sqrt(this);
  }
  /** |x|; see {@link abs}. */
  abs(): Tensor {
    return prim.abs(this);
  }
  /** tanh x; see {@link tanh}. */
  tanh(): Tensor {
    return prim.tanh(this);
  }
  /** σ(x); see {@link sigmoid}. */
  sigmoid(): Tensor {
    return prim.sigmoid(this);
  }
  /** max(x, 0); see {@link relu}. */
  relu(): Tensor {
    return prim.relu(this);
  }
  /** ln(1 + eˣ); see {@link softplus}. */
  softplus(): Tensor {
    return ops.softplus(this);
  }
  /**
   * Σ over axes (default all); see {@link sum}.
   * @param axes - the axis or axes to reduce (negative counts from the end; default: all)
   * @param keepDims - keep each reduced axis with size 1
   */
  sum(axes?: number | readonly number[], keepDims = false): Tensor {
    return ops.sum(this, axes, keepDims);
  }
  /**
   * Mean over axes (default all); see {@link mean}.
   * @param axes - the axis or axes to reduce (negative counts from the end; default: all)
   * @param keepDims - keep each reduced axis with size 1
   */
  mean(axes?: number | readonly number[], keepDims = false): Tensor {
    return ops.mean(this, axes, keepDims);
  }
  /**
   * Maximum over axes (default all); see {@link max}.
   * @param axes - the axis or axes to reduce (negative counts from the end; default: all)
   * @param keepDims - keep each reduced axis with size 1
   */
  max(axes?: number | readonly number[], keepDims = false): Tensor {
    return ops.max(this, axes, keepDims);
  }
  /**
   * Minimum over axes (default all); see {@link min}.
   * @param axes - the axis or axes to reduce (negative counts from the end; default: all)
   * @param keepDims - keep each reduced axis with size 1
   */
  min(axes?: number | readonly number[], keepDims = false): Tensor {
    return ops.min(this, axes, keepDims);
  }
  /**
   * Matrix product over the last two axes; see {@link matmul}.
   * @param other - the right operand, [..., k, n]
   */
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  /**
   * Same data, new shape (one dimension may be -1); see {@link reshape}.
   * @param shape - the new shape (same number of values; one −1 is inferred)
   */
  reshape(shape: readonly number[]): Tensor {
    return prim.reshape(this, shape);
  }
  /**
   * Reorders axes; see {@link permute}.
   * @param perm - the new order of the axes
   */
  permute(perm: readonly number[]): Tensor {
    return prim.permute(this, perm);
  }
  /** Swaps the last two axes; see {@link transpose}. */
  transpose(): Tensor {
    return ops.transpose(this);
  }
  /**
   * A box of the tensor; see {@link slice}.
   * @param begin - the first index along each axis
   * @param size - how many along each axis (default: to the end)
   */
  slice(begin: readonly number[], size?: readonly number[]): Tensor {
    return prim.slice(this, begin, size);
  }
  /**
   * Softmax over an axis; see {@link softmax}.
   * @param axis - the axis to normalise over (default the last)
   */
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  /**
   * Log-softmax over an axis; see {@link logSoftmax}.
   * @param axis - the axis to normalise over (default the last)
   */
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
  /**
   * Clamps into [low, high]; see {@link clamp}.
   * @param low - the smallest value kept
   * @param high - the largest value kept
   */
  clamp(low: number, high: number): Tensor {
    return ops.clamp(this, low, high);
  }
}

/** Sums two gradients, in place into `a` when autodiff owns it and the backend can. */
function accumulateGradient(a: Tensor, b: Tensor, ownsA: boolean): Tensor {
  const backend = a.backend;
  if (ownsA && backend.addInPlace && b.backend === backend && a.size === b.size && a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i])) {
    backend.addInPlace(a.storage, b.storage, a.size);
    return a;
  }
  return prim.add(a, b);
}

/** Σ_i A_iᵀ·G_i as one matmul: [A₁; A₂; …]ᵀ · [G₁; G₂; …]. */
function materializeProducts(products: readonly DeferredProduct[]): Tensor {
  const as = products.map((p) => p.a);
  const gs = products.map((p) => p.grad);
  return prim.matmulRaw(prim.concat(as, 0), prim.concat(gs, 0), true, false);
}
