import type { Backend } from './backend.js';
import { getDefaultBackend } from './default-backend.js';
import { EngramError, formatShape } from './errors.js';
import { full } from './primitives.js';
import type { Random } from './random.js';
import { type Shape, checkShape, shapeSize } from './shape.js';
import { type NestedArray, Tensor } from './tensor.js';

/** Where and how a new tensor is created. */
export interface CreateOptions {
  /** Backend to hold the data (default: {@link getDefaultBackend}). */
  backend?: Backend;
  /** Make it a trainable leaf. */
  requiresGrad?: boolean;
  /**
   * `tensor(data, shape)` only: false makes the tensor take a Float32Array as its storage without
   * copying it (the caller must not change the array afterwards; storage is treated as immutable).
   * Default true.
   */
  copy?: boolean;
}

function make(data: Float32Array, shape: Shape, options: CreateOptions): Tensor {
  const backend = options.backend ?? getDefaultBackend();
  return new Tensor(backend.fromArray(data), [...shape], backend, options.requiresGrad ?? false);
}

function inferShape(value: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedArray;
    if (level === undefined) break;
  }
  return shape;
}

function flatten(value: NestedArray, shape: Shape, out: Float32Array): void {
  let index = 0;
  const visit = (node: NestedArray, axis: number, path: number[]): void => {
    if (axis === shape.length) {
      if (typeof node !== 'number')
        throw new EngramError(`tensor: expected a number at [${path.join(', ')}], got ${Array.isArray(node) ? 'an array' : typeof node}`);
      out[index++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[axis]) {
      throw new EngramError(`tensor: ragged nested array at [${path.join(', ')}]: expected ${shape[axis]} entries for shape ${formatShape(shape)}`);
    }
    node.forEach((child, i) => {
      visit(child, axis + 1, [...path, i]);
    });
  };
  visit(value, 0, []);
}

/**
 * A tensor from nested arrays (`tensor([[1, 2], [3, 4]])`) or from flat data with a shape
 * (`tensor(new Float32Array(6), [2, 3])`). The data is copied unless `copy: false`.
 * @param values - the values, nested arrays or flat
 * @param shape - the shape (default: from the nesting)
 * @param options - the backend to create on and whether the tensor requires a gradient
 * @example
 * ```ts
 * const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
 * const y = sum(mul(x, x)); // Σ x²
 * y.backward();
 * console.log(y.item(), x.grad?.toArray()); // 30, [2, 4, 6, 8]
 * ```
 */
export function tensor(values: NestedArray | ArrayLike<number>, shape?: Shape, options: CreateOptions = {}): Tensor {
  if (typeof values === 'number' || (Array.isArray(values) && shape === undefined)) {
    const inferred = inferShape(values as NestedArray);
    const data = new Float32Array(shapeSize(inferred));
    flatten(values as NestedArray, inferred, data);
    return make(data, inferred, options);
  }
  const flat = values as ArrayLike<number>;
  const resolved = shape ?? [flat.length];
  checkShape('tensor', resolved);
  if (shapeSize(resolved) !== flat.length) {
    throw new EngramError(`tensor: ${flat.length} values do not fill shape ${formatShape(resolved)} (${shapeSize(resolved)} elements)`);
  }
  // slice() is a memcpy; Float32Array.from walks an iterator.
  if (flat instanceof Float32Array) return make(options.copy === false ? flat : flat.slice(), resolved, options);
  return make(Float32Array.from(flat), resolved, options);
}

/**
 * A one-element tensor of rank 0.
 * @param value - the value
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return make(Float32Array.of(value), [], options);
}

/**
 * All zeros.
 * @param shape - the shape
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return fill(shape, 0, options);
}

/**
 * All ones.
 * @param shape - the shape
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return fill(shape, 1, options);
}

/**
 * Every element equal to `value`.
 * @param shape - the shape
 * @param value - the value of every element
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function fill(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  const t = full(shape, value, options.backend ?? getDefaultBackend());
  t.requiresGrad = options.requiresGrad ?? false;
  return t;
}

/**
 * The n × n identity matrix.
 * @param n - the matrix's size
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function eye(n: number, options: CreateOptions = {}): Tensor {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) data[i * n + i] = 1;
  return make(data, [n, n], options);
}

/**
 * 0, 1, …, n − 1.
 * @param n - how many values (0 … n − 1)
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function arange(n: number, options: CreateOptions = {}): Tensor {
  return make(
    Float32Array.from({ length: n }, (_, i) => i),
    [n],
    options,
  );
}

/**
 * Normal deviates with the given mean and standard deviation, drawn from `rng`.
 * @param shape - the shape
 * @param rng - the seeded random source
 * @param mean - the mean
 * @param std - the standard deviation
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function randomNormal(shape: Shape, rng: Random, mean = 0, std = 1, options: CreateOptions = {}): Tensor {
  checkShape('randomNormal', shape);
  const data = new Float32Array(shapeSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal(mean, std);
  return make(data, shape, options);
}

/**
 * Uniform deviates in [low, high), drawn from `rng`.
 * @param shape - the shape
 * @param rng - the seeded random source
 * @param low - the lower bound
 * @param high - the upper bound
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function randomUniform(shape: Shape, rng: Random, low = 0, high = 1, options: CreateOptions = {}): Tensor {
  checkShape('randomUniform', shape);
  const data = new Float32Array(shapeSize(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(low, high);
  return make(data, shape, options);
}
