import { type CreateOptions, randomUniform, tensor } from './create.js';
import { EngramError, formatShape } from './errors.js';
import type { Random } from './random.js';
import type { Shape } from './shape.js';
import type { Tensor } from './tensor.js';

/** fan-in and fan-out of a weight: the last two axes are [in, out]; earlier axes multiply both. */
function fans(shape: Shape): [number, number] {
  if (shape.length < 2) throw new EngramError(`init: a weight needs at least two axes, got ${formatShape(shape)}`);
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [(shape[shape.length - 2] as number) * receptive, (shape[shape.length - 1] as number) * receptive];
}

/**
 * Glorot/Xavier uniform initialisation (Glorot & Bengio 2010): U(−a, a) with
 * a = gain · √(6 / (fan_in + fan_out)). Returns a trainable tensor.
 * @param shape - [fan in, fan out]
 * @param rng - the seeded random source
 * @param gain - scales the bound
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function glorotUniform(shape: Shape, rng: Random, gain = 1, options: CreateOptions = {}): Tensor {
  const [fanIn, fanOut] = fans(shape);
  const limit = gain * Math.sqrt(6 / (fanIn + fanOut));
  return randomUniform(shape, rng, -limit, limit, { requiresGrad: true, ...options });
}

/**
 * Orthogonal initialisation (Saxe et al. 2014): a random matrix with orthonormal rows or columns
 * (Gram–Schmidt on Gaussian vectors, in float64), scaled by `gain`. Good for recurrent weights.
 * @param shape - the matrix's shape
 * @param rng - the seeded random source
 * @param gain - scales the matrix
 * @param options - the backend to create on and whether the tensor requires a gradient
 */
export function orthogonal(shape: Shape, rng: Random, gain = 1, options: CreateOptions = {}): Tensor {
  if (shape.length !== 2) throw new EngramError(`orthogonal: expected a matrix shape, got ${formatShape(shape)}`);
  const [rows, cols] = shape as [number, number];
  // Orthonormalise the longer dimension's vectors of length `length`; `count` ≤ `length` of them.
  const transpose = rows < cols;
  const count = transpose ? rows : cols;
  const length = transpose ? cols : rows;
  const vectors: Float64Array[] = [];
  for (let v = 0; v < count; v++) {
    let vector = new Float64Array(length);
    let norm = 0;
    while (norm < 1e-6) {
      vector = Float64Array.from({ length }, () => rng.normal());
      for (const basis of vectors) {
        let dot = 0;
        for (let i = 0; i < length; i++) dot += (vector[i] as number) * (basis[i] as number);
        for (let i = 0; i < length; i++) vector[i] = (vector[i] as number) - dot * (basis[i] as number);
      }
      norm = Math.sqrt(vector.reduce((acc, x) => acc + x * x, 0));
    }
    for (let i = 0; i < length; i++) vector[i] = (vector[i] as number) / norm;
    vectors.push(vector);
  }
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      data[r * cols + c] = gain * (transpose ? ((vectors[r] as Float64Array)[c] as number) : ((vectors[c] as Float64Array)[r] as number));
    }
  }
  return tensor(data, shape, { requiresGrad: true, ...options });
}
