import type { BinaryKernel, Kernels, MatmulArgs, ReduceKernel, UnaryKernel } from '../backend.js';
import { type Shape, shapeSize, stridesOf } from '../shape.js';
import { allocateFloats } from './allocate.js';

/**
 * The CPU kernels in plain TypeScript over `Float32Array`s: the readable definition of every
 * primitive, and the reference the conformance suite checks every other backend against.
 */

function unary(f: (x: number) => number): UnaryKernel<Float32Array> {
  return (x, size) => {
    const out = allocateFloats(size);
    for (let i = 0; i < size; i++) out[i] = f(x[i] as number);
    return out;
  };
}

/** Strides of `shape` aligned to an output of rank `rank`, with 0 on broadcast dimensions. */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  const own = stridesOf(shape);
  const strides = new Array<number>(rank).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const outAxis = rank - shape.length + i;
    strides[outAxis] = shape[i] === 1 && outShape[outAxis] !== 1 ? 0 : (own[i] as number);
  }
  return strides;
}

/** True when `shape` (leading 1s ignored) equals the trailing dimensions of `outShape`. */
function isTrailingOf(shape: Shape, outShape: Shape): boolean {
  let start = 0;
  while (start < shape.length && shape[start] === 1) start++;
  const tail = shape.length - start;
  if (tail > outShape.length) return false;
  for (let i = 0; i < tail; i++) {
    if (shape[start + i] !== outShape[outShape.length - tail + i]) return false;
  }
  return true;
}

/**
 * Visits every index of `outShape` in row-major order, calling `visit(outIndex, offsetA, offsetB)`
 * with offsets into two operands of the given (broadcast) strides.
 */
function forEachBroadcast(
  outShape: Shape,
  stridesA: readonly number[],
  stridesB: readonly number[],
  visit: (i: number, offsetA: number, offsetB: number) => void,
): void {
  const rank = outShape.length;
  const size = shapeSize(outShape);
  const index = new Array<number>(rank).fill(0);
  let offsetA = 0;
  let offsetB = 0;
  for (let i = 0; i < size; i++) {
    visit(i, offsetA, offsetB);
    for (let axis = rank - 1; axis >= 0; axis--) {
      const next = (index[axis] as number) + 1;
      if (next < (outShape[axis] as number)) {
        index[axis] = next;
        offsetA += stridesA[axis] as number;
        offsetB += stridesB[axis] as number;
        break;
      }
      index[axis] = 0;
      offsetA -= (stridesA[axis] as number) * (next - 1);
      offsetB -= (stridesB[axis] as number) * (next - 1);
    }
  }
}

function binary(f: (a: number, b: number) => number): BinaryKernel<Float32Array> {
  return (a, aShape, b, bShape, outShape) => {
    const size = shapeSize(outShape);
    const out = allocateFloats(size);
    if (a.length === size && b.length === size) {
      for (let i = 0; i < size; i++) out[i] = f(a[i] as number, b[i] as number);
    } else if (b.length === 1 && a.length === size) {
      const y = b[0] as number;
      for (let i = 0; i < size; i++) out[i] = f(a[i] as number, y);
    } else if (a.length === 1 && b.length === size) {
      const x = a[0] as number;
      for (let i = 0; i < size; i++) out[i] = f(x, b[i] as number);
    } else if (a.length === size && isTrailingOf(bShape, outShape)) {
      const n = b.length;
      for (let i = 0; i < size; i++) out[i] = f(a[i] as number, b[i % n] as number);
    } else if (b.length === size && isTrailingOf(aShape, outShape)) {
      const n = a.length;
      for (let i = 0; i < size; i++) out[i] = f(a[i % n] as number, b[i] as number);
    } else {
      forEachBroadcast(outShape, broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape), (i, ia, ib) => {
        out[i] = f(a[ia] as number, b[ib] as number);
      });
    }
    return out;
  };
}

const sumReduce: ReduceKernel<Float32Array> = (x, outer, n, inner) => {
  const out = allocateFloats(outer * inner);
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < n; j++) {
      const row = base + j * inner;
      for (let i = 0; i < inner; i++) out[o * inner + i] = (out[o * inner + i] as number) + (x[row + i] as number);
    }
  }
  return out;
};

const maxReduce: ReduceKernel<Float32Array> = (x, outer, n, inner) => {
  const out = allocateFloats(outer * inner).fill(Number.NEGATIVE_INFINITY);
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < n; j++) {
      const row = base + j * inner;
      for (let i = 0; i < inner; i++) {
        const v = x[row + i] as number;
        const k = o * inner + i;
        if (v > (out[k] as number) || Number.isNaN(v)) out[k] = v;
      }
    }
  }
  return out;
};

/** Plain i-k-j triple loop; handles transposed and shared operands through strides. */
export function referenceMatmul(a: Float32Array, b: Float32Array, args: MatmulArgs): Float32Array {
  const { batch, m, k, n, transA, transB, batchedA, batchedB } = args;
  const out = allocateFloats(batch * m * n);
  const [sAi, sAk] = transA ? [1, m] : [k, 1];
  const [sBk, sBj] = transB ? [1, k] : [n, 1];
  for (let t = 0; t < batch; t++) {
    const offA = batchedA ? t * m * k : 0;
    const offB = batchedB ? t * k * n : 0;
    const offC = t * m * n;
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        const av = a[offA + i * sAi + p * sAk] as number;
        if (av === 0) continue;
        const bRow = offB + p * sBk;
        const cRow = offC + i * n;
        for (let j = 0; j < n; j++) out[cRow + j] = (out[cRow + j] as number) + av * (b[bRow + j * sBj] as number);
      }
    }
  }
  return out;
}

function permute(x: Float32Array, shape: Shape, perm: readonly number[]): Float32Array {
  const outShape = perm.map((p) => shape[p] as number);
  const inStrides = stridesOf(shape);
  const strides = perm.map((p) => inStrides[p] as number);
  const out = allocateFloats(x.length);
  forEachBroadcast(outShape, strides, strides, (i, ix) => {
    out[i] = x[ix] as number;
  });
  return out;
}

function offsetOf(begin: readonly number[], strides: readonly number[]): number {
  let offset = 0;
  for (let i = 0; i < begin.length; i++) offset += (begin[i] as number) * (strides[i] as number);
  return offset;
}

function slice(x: Float32Array, shape: Shape, begin: readonly number[], outShape: Shape): Float32Array {
  const strides = stridesOf(shape);
  const base = offsetOf(begin, strides);
  const out = allocateFloats(shapeSize(outShape));
  forEachBroadcast(outShape, strides, strides, (i, ix) => {
    out[i] = x[base + ix] as number;
  });
  return out;
}

function pad(x: Float32Array, shape: Shape, begin: readonly number[], outShape: Shape): Float32Array {
  const strides = stridesOf(outShape);
  const base = offsetOf(begin, strides);
  const out = allocateFloats(shapeSize(outShape));
  forEachBroadcast(shape, strides, strides, (i, io) => {
    out[base + io] = x[i] as number;
  });
  return out;
}

function broadcastTo(x: Float32Array, shape: Shape, outShape: Shape): Float32Array {
  const strides = broadcastStrides(shape, outShape);
  const out = allocateFloats(shapeSize(outShape));
  forEachBroadcast(outShape, strides, strides, (i, ix) => {
    out[i] = x[ix] as number;
  });
  return out;
}

function concat(xs: readonly Float32Array[], shapes: readonly Shape[], axis: number, outShape: Shape): Float32Array {
  const out = allocateFloats(shapeSize(outShape));
  const outer = shapeSize(outShape.slice(0, axis));
  const inner = shapeSize(outShape.slice(axis + 1));
  const outRow = (outShape[axis] as number) * inner;
  let column = 0;
  xs.forEach((x, t) => {
    const width = ((shapes[t] as Shape)[axis] as number) * inner;
    for (let o = 0; o < outer; o++) out.set(x.subarray(o * width, (o + 1) * width), o * outRow + column);
    column += width;
  });
  return out;
}

function where(cond: Float32Array, a: Float32Array, b: Float32Array, size: number): Float32Array {
  const out = allocateFloats(size);
  for (let i = 0; i < size; i++) out[i] = cond[i] !== 0 ? (a[i] as number) : (b[i] as number);
  return out;
}

function gather(table: Float32Array, _rows: number, cols: number, indices: Int32Array): Float32Array {
  const out = allocateFloats(indices.length * cols);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i] as number;
    out.set(table.subarray(row * cols, (row + 1) * cols), i * cols);
  }
  return out;
}

function scatterAdd(src: Float32Array, indices: Int32Array, rows: number, cols: number): Float32Array {
  const out = allocateFloats(rows * cols);
  for (let i = 0; i < indices.length; i++) {
    const target = (indices[i] as number) * cols;
    const from = i * cols;
    for (let j = 0; j < cols; j++) out[target + j] = (out[target + j] as number) + (src[from + j] as number);
  }
  return out;
}

function lstmCell(z: Float32Array, c: Float32Array, batch: number, hidden: number): Float32Array {
  const out = allocateFloats(batch * 2 * hidden);
  for (let b = 0; b < batch; b++) {
    const zb = b * 4 * hidden;
    for (let j = 0; j < hidden; j++) {
      const i = stableSigmoid(z[zb + j] as number);
      const f = stableSigmoid(z[zb + hidden + j] as number);
      const g = Math.tanh(z[zb + 2 * hidden + j] as number);
      const o = stableSigmoid(z[zb + 3 * hidden + j] as number);
      const cNext = f * (c[b * hidden + j] as number) + i * g;
      out[b * 2 * hidden + j] = o * Math.tanh(cNext);
      out[b * 2 * hidden + hidden + j] = cNext;
    }
  }
  return out;
}

function lstmCellBackward(z: Float32Array, c: Float32Array, out: Float32Array, grad: Float32Array, batch: number, hidden: number): Float32Array {
  const result = allocateFloats(batch * 5 * hidden);
  for (let b = 0; b < batch; b++) {
    const zb = b * 4 * hidden;
    const ob = b * 2 * hidden;
    const rb = b * 5 * hidden;
    for (let j = 0; j < hidden; j++) {
      const i = stableSigmoid(z[zb + j] as number);
      const f = stableSigmoid(z[zb + hidden + j] as number);
      const g = Math.tanh(z[zb + 2 * hidden + j] as number);
      const o = stableSigmoid(z[zb + 3 * hidden + j] as number);
      const tanhC = Math.tanh(out[ob + hidden + j] as number);
      const dh = grad[ob + j] as number;
      const dc = (grad[ob + hidden + j] as number) + dh * o * (1 - tanhC * tanhC);
      result[rb + j] = dc * g * i * (1 - i);
      result[rb + hidden + j] = dc * (c[b * hidden + j] as number) * f * (1 - f);
      result[rb + 2 * hidden + j] = dc * i * (1 - g * g);
      result[rb + 3 * hidden + j] = dh * tanhC * o * (1 - o);
      result[rb + 4 * hidden + j] = dc * f;
    }
  }
  return result;
}

/** Overflow-free logistic function. */
export function stableSigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The TypeScript reference kernels (matmul here is the plain loop; the cpu backend swaps in SIMD). */
export const referenceKernels: Kernels<Float32Array> = {
  neg: unary((x) => -x),
  exp: unary(Math.exp),
  log: unary(Math.log),
  sqrt: unary(Math.sqrt),
  abs: unary(Math.abs),
  sign: unary((x) => (x > 0 ? 1 : x < 0 ? -1 : 0)),
  tanh: unary(Math.tanh),
  sigmoid: unary(stableSigmoid),
  // biome-ignore lint/complexity/useMathMinMax: Math.max would keep NaN and -0; relu maps both to 0 like the GPU kernel
  relu: unary((x) => (x > 0 ? x : 0)),
  step: unary((x) => (x > 0 ? 1 : 0)),
  add: binary((a, b) => a + b),
  sub: binary((a, b) => a - b),
  mul: binary((a, b) => a * b),
  div: binary((a, b) => a / b),
  pow: binary(Math.pow),
  maximum: binary((a, b) => (a >= b || Number.isNaN(a) ? a : b)),
  minimum: binary((a, b) => (a <= b || Number.isNaN(a) ? a : b)),
  greater: binary((a, b) => (a > b ? 1 : 0)),
  equal: binary((a, b) => (a === b ? 1 : 0)),
  sum: sumReduce,
  max: maxReduce,
  matmul: referenceMatmul,
  permute,
  slice,
  pad,
  broadcastTo,
  concat,
  where,
  gather,
  scatterAdd,
  lstmCell,
  lstmCellBackward,
};
