import { type BinaryKernel, type Kernels, type MatmulArgs, OUTPUT_LAYOUTS, type ReduceKernel, type UnaryKernel, layoutLength } from '../backend.js';
import { type Shape, shapeSize, stridesOf } from '../shape.js';
import { allocateFloats } from './allocate.js';
import { composeBagMemoryHops } from '../memory-hops-composed.js';

/**
 * The CPU kernels in plain TypeScript over `Float32Array`s: the readable definition of every
 * primitive, and the reference the conformance suite checks every other backend against.
 */

/**
 * Elementwise loops, one per op, behind a switch outside the loop. V8 shares call-site feedback
 * between closures made by one factory, so a generic `out[i] = f(x[i])` loop becomes megamorphic
 * and ~10× slower once several ops use it; a switch keeps every loop monomorphic.
 */
type UnaryName = 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'tanh' | 'sigmoid' | 'relu' | 'step' | 'softplus';

function unaryLoop(op: UnaryName, x: Float32Array, out: Float32Array, n: number): void {
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -(x[i] as number);
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i] as number);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i] as number);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i] as number);
      return;
    case 'abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i] as number);
      return;
    case 'sign':
      for (let i = 0; i < n; i++) {
        const v = x[i] as number;
        out[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
      }
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i] as number);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) out[i] = stableSigmoid(x[i] as number);
      return;
    case 'relu':
      for (let i = 0; i < n; i++) {
        const v = x[i] as number;
        // biome-ignore lint/complexity/useMathMinMax: NaN and −0 map to 0, as in the GPU kernel (Math.max keeps both).
        out[i] = v > 0 ? v : 0;
      }
      return;
    case 'step':
      for (let i = 0; i < n; i++) out[i] = (x[i] as number) > 0 ? 1 : 0;
      return;
    case 'softplus':
      for (let i = 0; i < n; i++) {
        const v = x[i] as number;
        out[i] = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      }
      return;
  }
}

function unary(op: UnaryName): UnaryKernel<Float32Array> {
  return (x, size) => {
    const out = allocateFloats(size);
    unaryLoop(op, x, out, size);
    return out;
  };
}

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'greater' | 'equal';

/**
 * out[o + j] = a[ia + j·sa] ∘ b[ib + j·sb] for j < n, where the steps sa and sb are 0
 * (broadcast) or 1.
 */
function binaryLoop(
  op: BinaryName,
  out: Float32Array,
  o: number,
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  n: number,
): void {
  switch (op) {
    case 'add':
      for (let j = 0; j < n; j++) out[o + j] = (a[ia + j * sa] as number) + (b[ib + j * sb] as number);
      return;
    case 'sub':
      for (let j = 0; j < n; j++) out[o + j] = (a[ia + j * sa] as number) - (b[ib + j * sb] as number);
      return;
    case 'mul':
      for (let j = 0; j < n; j++) out[o + j] = (a[ia + j * sa] as number) * (b[ib + j * sb] as number);
      return;
    case 'div':
      for (let j = 0; j < n; j++) out[o + j] = (a[ia + j * sa] as number) / (b[ib + j * sb] as number);
      return;
    case 'pow':
      for (let j = 0; j < n; j++) out[o + j] = (a[ia + j * sa] as number) ** (b[ib + j * sb] as number);
      return;
    case 'maximum':
      for (let j = 0; j < n; j++) {
        const x = a[ia + j * sa] as number;
        const y = b[ib + j * sb] as number;
        out[o + j] = x >= y || Number.isNaN(x) ? x : y;
      }
      return;
    case 'minimum':
      for (let j = 0; j < n; j++) {
        const x = a[ia + j * sa] as number;
        const y = b[ib + j * sb] as number;
        out[o + j] = x <= y || Number.isNaN(x) ? x : y;
      }
      return;
    case 'greater':
      for (let j = 0; j < n; j++) out[o + j] = (a[ia + j * sa] as number) > (b[ib + j * sb] as number) ? 1 : 0;
      return;
    case 'equal':
      for (let j = 0; j < n; j++) out[o + j] = (a[ia + j * sa] as number) === (b[ib + j * sb] as number) ? 1 : 0;
      return;
  }
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

function binary(op: BinaryName): BinaryKernel<Float32Array> {
  return (a, aShape, b, bShape, outShape) => {
    const size = shapeSize(outShape);
    const out = allocateFloats(size);
    if (a.length === size && b.length === size) binaryLoop(op, out, 0, a, 0, 1, b, 0, 1, size);
    else if (b.length === 1 && a.length === size) binaryLoop(op, out, 0, a, 0, 1, b, 0, 0, size);
    else if (a.length === 1 && b.length === size) binaryLoop(op, out, 0, a, 0, 0, b, 0, 1, size);
    else if (a.length === size && isTrailingOf(bShape, outShape)) {
      for (let o = 0; o < size; o += b.length) binaryLoop(op, out, o, a, o, 1, b, 0, 1, b.length);
    } else if (b.length === size && isTrailingOf(aShape, outShape)) {
      for (let o = 0; o < size; o += a.length) binaryLoop(op, out, o, a, 0, 1, b, o, 1, a.length);
    } else {
      // General broadcasting, row by row: an odometer over the leading axes finds each row's two
      // offsets; the last axis is one loop with step 0 or 1 for each operand.
      const rank = outShape.length;
      const inner = outShape[rank - 1] as number;
      const stridesA = broadcastStrides(aShape, outShape);
      const stridesB = broadcastStrides(bShape, outShape);
      const stepA = stridesA[rank - 1] as number;
      const stepB = stridesB[rank - 1] as number;
      forEachBroadcast(outShape.slice(0, -1), stridesA.slice(0, -1), stridesB.slice(0, -1), (row, rowA, rowB) => {
        binaryLoop(op, out, row * inner, a, rowA, stepA, b, rowB, stepB, inner);
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

/**
 * True when the box is one contiguous run of x: every axis before the first partial one has
 * extent 1, and every axis after it is whole.
 */
function isContiguousBox(shape: Shape, outShape: Shape): boolean {
  let first = 0;
  while (first < shape.length && outShape[first] === 1) first++;
  for (let i = first + 1; i < shape.length; i++) if (outShape[i] !== shape[i]) return false;
  return true;
}

function slice(x: Float32Array, shape: Shape, begin: readonly number[], outShape: Shape): Float32Array {
  const strides = stridesOf(shape);
  const base = offsetOf(begin, strides);
  // A contiguous box is returned as a view: storage is immutable, so sharing it is safe.
  if (isContiguousBox(shape, outShape)) return x.subarray(base, base + shapeSize(outShape));
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

function embeddingBag(
  table: Float32Array,
  indices: Int32Array,
  weights: Float32Array,
  weightIndices: Int32Array,
  bags: number,
  words: number,
  width: number,
): Float32Array {
  const out = allocateFloats(bags * width);
  for (let n = 0; n < bags; n++) {
    const o = n * width;
    for (let l = 0; l < words; l++) {
      const t = (indices[n * words + l] as number) * width;
      const w = (weightIndices[n * words + l] as number) * width;
      for (let k = 0; k < width; k++) out[o + k] = (out[o + k] as number) + (weights[w + k] as number) * (table[t + k] as number);
    }
  }
  return out;
}

function embeddingBagBackward(
  grad: Float32Array,
  indices: Int32Array,
  weights: Float32Array,
  weightIndices: Int32Array,
  rows: number,
  bags: number,
  words: number,
  width: number,
): Float32Array {
  const out = allocateFloats(rows * width);
  for (let n = 0; n < bags; n++) {
    const g = n * width;
    for (let l = 0; l < words; l++) {
      const t = (indices[n * words + l] as number) * width;
      const w = (weightIndices[n * words + l] as number) * width;
      for (let k = 0; k < width; k++) out[t + k] = (out[t + k] as number) + (weights[w + k] as number) * (grad[g + k] as number);
    }
  }
  return out;
}

/**
 * One example's attention read at one hop (the body of attentionRead for row b): writes p into
 * `out[p..p+slots)` and adds o into `out[o..o+width)` (which must start at zero).
 */
function readOne(
  m: Float32Array,
  c: Float32Array,
  u: Float32Array,
  uAt: number,
  mask: Float32Array,
  b: number,
  slots: number,
  width: number,
  normalize: boolean,
  out: Float32Array,
  p: number,
  o: number,
): void {
  let top = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < slots; i++) {
    let s = 0;
    const row = (b * slots + i) * width;
    for (let k = 0; k < width; k++) s += (m[row + k] as number) * (u[uAt + k] as number);
    out[p + i] = s;
    if (mask[b * slots + i] !== 0 && s > top) top = s;
  }
  if (normalize) {
    let total = 0;
    for (let i = 0; i < slots; i++) {
      const e = mask[b * slots + i] !== 0 ? Math.exp((out[p + i] as number) - top) : 0;
      out[p + i] = e;
      total += e;
    }
    for (let i = 0; i < slots; i++) out[p + i] = total > 0 ? (out[p + i] as number) / total : 0;
  } else {
    for (let i = 0; i < slots; i++) out[p + i] = (out[p + i] as number) * (mask[b * slots + i] as number);
  }
  for (let i = 0; i < slots; i++) {
    const pi = out[p + i] as number;
    if (pi === 0) continue;
    const row = (b * slots + i) * width;
    for (let k = 0; k < width; k++) out[o + k] = (out[o + k] as number) + pi * (c[row + k] as number);
  }
}

function attentionRead(
  m: Float32Array,
  c: Float32Array,
  u: Float32Array,
  mask: Float32Array,
  batch: number,
  slots: number,
  width: number,
  normalize: boolean,
): Float32Array {
  // Layout: o [batch, width], then p [batch, slots].
  const out = allocateFloats(batch * (width + slots));
  for (let b = 0; b < batch; b++) readOne(m, c, u, b * width, mask, b, slots, width, normalize, out, batch * width + b * slots, b * width);
  return out;
}

function attentionReadBackward(
  m: Float32Array,
  c: Float32Array,
  u: Float32Array,
  mask: Float32Array,
  out: Float32Array,
  grad: Float32Array,
  batch: number,
  slots: number,
  width: number,
  normalize: boolean,
): Float32Array {
  const cells = batch * slots * width;
  const result = allocateFloats(layoutLength(OUTPUT_LAYOUTS.attentionReadBackward(batch, slots, width)));
  const dp = new Float64Array(slots);
  for (let b = 0; b < batch; b++) {
    const p = batch * width + b * slots;
    readOneBackward(m, c, u, b * width, mask, b, slots, width, normalize, out, p, grad, p, grad, b * width, result, cells, result, 2 * cells + b * width, dp);
  }
  return result;
}

/**
 * One example's backward of the attention read at one hop (the body of attentionReadBackward for row b), adding into
 * `result` (dm from 0, dc from `cells`) and into `du` at `duAt`: dp_i = gp_i + do·c_i, dc_i += p_i do,
 * ds_i = p_i (dp_i − Σ_j p_j dp_j) (softmax) or dp_i·mask_i (linear start), dm_i += ds_i u, du += Σ_i ds_i m_i.
 * `dp` is scratch of `slots` floats.
 */
function readOneBackward(
  m: Float32Array,
  c: Float32Array,
  u: ArrayLike<number>,
  uAt: number,
  mask: Float32Array,
  b: number,
  slots: number,
  width: number,
  normalize: boolean,
  p: ArrayLike<number>,
  pAt: number,
  gp: ArrayLike<number>,
  gpAt: number,
  go: ArrayLike<number>,
  goAt: number,
  result: Float32Array,
  cells: number,
  du: Float32Array | Float64Array,
  duAt: number,
  dp: Float64Array,
): void {
  let weighted = 0;
  for (let i = 0; i < slots; i++) {
    const row = (b * slots + i) * width;
    const pi = p[pAt + i] as number;
    let dpi = gp[gpAt + i] as number;
    for (let k = 0; k < width; k++) {
      const gk = go[goAt + k] as number;
      dpi += gk * (c[row + k] as number);
      result[cells + row + k] = (result[cells + row + k] as number) + pi * gk;
    }
    dp[i] = dpi;
    weighted += pi * dpi;
  }
  for (let i = 0; i < slots; i++) {
    const ds = normalize ? (p[pAt + i] as number) * ((dp[i] as number) - weighted) : (dp[i] as number) * (mask[b * slots + i] as number);
    if (ds === 0) continue;
    const row = (b * slots + i) * width;
    for (let k = 0; k < width; k++) {
      result[row + k] = (result[row + k] as number) + ds * (u[uAt + k] as number);
      du[duAt + k] = (du[duAt + k] as number) + ds * (m[row + k] as number);
    }
  }
}

function memoryHops(
  m: Float32Array,
  c: Float32Array,
  u: Float32Array,
  mask: Float32Array,
  hop: Float32Array,
  batch: number,
  slots: number,
  width: number,
  hops: number,
  linearUnits: number,
  normalize: boolean,
): Float32Array {
  // Layout: u¹…u^{K+1} [K+1, B, d], p [K, B, slots], o [K, B, d].
  const out = allocateFloats(layoutLength(OUTPUT_LAYOUTS.memoryHops(batch, slots, width, hops)));
  const pBase = (hops + 1) * batch * width;
  const oBase = pBase + hops * batch * slots;
  out.set(u.subarray(0, batch * width));
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < hops; k++) {
      const uk = (k * batch + b) * width;
      const next = uk + batch * width;
      const o = oBase + (k * batch + b) * width;
      readOne(m, c, out, uk, mask, b, slots, width, normalize, out, pBase + (k * batch + b) * slots, o);
      // z = uᵏH + oᵏ; the units from linearUnits on go through a ReLU.
      for (let j = 0; j < width; j++) {
        let z = out[o + j] as number;
        for (let i = 0; i < width; i++) z += (out[uk + i] as number) * (hop[i * width + j] as number);
        out[next + j] = j < linearUnits || z > 0 ? z : 0;
      }
    }
  }
  return out;
}

function memoryHopsBackward(
  m: Float32Array,
  c: Float32Array,
  _u: Float32Array,
  mask: Float32Array,
  hop: Float32Array,
  out: Float32Array,
  grad: Float32Array,
  batch: number,
  slots: number,
  width: number,
  hops: number,
  linearUnits: number,
  normalize: boolean,
): Float32Array {
  const cells = batch * slots * width;
  const result = allocateFloats(layoutLength(OUTPUT_LAYOUTS.memoryHopsBackward(batch, slots, width)));
  const duAt = 2 * cells;
  const dHAt = duAt + batch * width;
  const pBase = (hops + 1) * batch * width;
  const oBase = pBase + hops * batch * slots;
  const g = new Float64Array(width);
  const dz = new Float64Array(width);
  const dp = new Float64Array(slots);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < width; j++) g[j] = grad[(hops * batch + b) * width + j] as number;
    for (let k = hops - 1; k >= 0; k--) {
      const uk = (k * batch + b) * width;
      const next = uk + batch * width;
      const p = pBase + (k * batch + b) * slots;
      const o = oBase + (k * batch + b) * width;
      // dz = g ⊙ act′: 1 on the linear units, [u^{k+1} > 0] on the ReLU ones.
      for (let j = 0; j < width; j++) dz[j] = j < linearUnits || (out[next + j] as number) > 0 ? (g[j] as number) : 0;
      // dH += (uᵏ)ᵀ dz; the gradient of uᵏ starts as its own plus dz Hᵀ.
      for (let i = 0; i < width; i++) {
        const ui = out[uk + i] as number;
        let back = grad[uk + i] as number;
        for (let j = 0; j < width; j++) {
          result[dHAt + i * width + j] = (result[dHAt + i * width + j] as number) + ui * (dz[j] as number);
          back += (hop[i * width + j] as number) * (dz[j] as number);
        }
        g[i] = back;
      }
      // The attention's backward with do = dz + the own gradient of oᵏ; guᵏ gets Σ_i ds_i m_i.
      for (let j = 0; j < width; j++) dz[j] = (dz[j] as number) + (grad[o + j] as number);
      readOneBackward(m, c, out, uk, mask, b, slots, width, normalize, out, p, grad, p, dz, 0, result, cells, g, 0, dp);
    }
    for (let j = 0; j < width; j++) result[duAt + b * width + j] = g[j] as number;
  }
  return result;
}

function cumulativeProduct(x: Float32Array, rows: number, cols: number, exclusive: boolean): Float32Array {
  const out = allocateFloats(rows * cols);
  for (let r = 0; r < rows; r++) {
    let product = 1;
    for (let i = 0; i < cols; i++) {
      const v = x[r * cols + i] as number;
      if (!exclusive) product *= v;
      out[r * cols + i] = product;
      if (exclusive) product *= v;
    }
  }
  return out;
}

function cumulativeProductBackward(x: Float32Array, grad: Float32Array, rows: number, cols: number, exclusive: boolean): Float32Array {
  const out = allocateFloats(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    // S_j from the end of the row, then dx_j = (Π_{k<j} x_k)·S_j.
    let later = 0;
    for (let j = cols - 1; j >= 0; j--) {
      const next = j + 1 < cols ? (x[base + j + 1] as number) : 0;
      later = exclusive ? (j + 1 < cols ? (grad[base + j + 1] as number) + next * later : 0) : (grad[base + j] as number) + next * later;
      out[base + j] = later;
    }
    let prefix = 1;
    for (let j = 0; j < cols; j++) {
      out[base + j] = (out[base + j] as number) * prefix;
      prefix *= x[base + j] as number;
    }
  }
  return out;
}

function linkWeightings(link: Float32Array, reads: Float32Array, batch: number, slots: number, heads: number): Float32Array {
  // out[b, 0, r, i] = Σ_j L[b, i, j] w[b, r, j]; out[b, 1, r, j] = Σ_i L[b, i, j] w[b, r, i].
  const out = allocateFloats(batch * 2 * heads * slots);
  for (let b = 0; b < batch; b++)
    for (let r = 0; r < heads; r++) {
      const w = (b * heads + r) * slots;
      const f = (b * 2 * heads + r) * slots;
      const back = (b * 2 * heads + heads + r) * slots;
      for (let i = 0; i < slots; i++) {
        let forward = 0;
        let backward = 0;
        for (let j = 0; j < slots; j++) {
          forward += (link[(b * slots + i) * slots + j] as number) * (reads[w + j] as number);
          backward += (link[(b * slots + j) * slots + i] as number) * (reads[w + j] as number);
        }
        out[f + i] = forward;
        out[back + i] = backward;
      }
    }
  return out;
}

function linkWeightingsBackward(link: Float32Array, reads: Float32Array, grad: Float32Array, batch: number, slots: number, heads: number): Float32Array {
  const cells = batch * slots * slots;
  const out = allocateFloats(layoutLength(OUTPUT_LAYOUTS.linkWeightingsBackward(batch, slots, heads)));
  for (let b = 0; b < batch; b++)
    for (let r = 0; r < heads; r++) {
      const w = (b * heads + r) * slots;
      const gf = (b * 2 * heads + r) * slots;
      const gb = (b * 2 * heads + heads + r) * slots;
      for (let i = 0; i < slots; i++) {
        let dw = 0;
        for (let j = 0; j < slots; j++) {
          const at = (b * slots + i) * slots + j;
          // dL_ij += gf_i w_j + w_i gb_j; dw_i gets (Lᵀ gf)_i = Σ_j L_ji gf_j and (L gb)_i = Σ_j L_ij gb_j.
          out[at] = (out[at] as number) + (grad[gf + i] as number) * (reads[w + j] as number) + (reads[w + i] as number) * (grad[gb + j] as number);
          dw += (link[(b * slots + j) * slots + i] as number) * (grad[gf + j] as number) + (link[at] as number) * (grad[gb + j] as number);
        }
        out[cells + w + i] = dw;
      }
    }
  return out;
}

function temporalLink(link: Float32Array, precedence: Float32Array, write: Float32Array, batch: number, slots: number): Float32Array {
  const out = allocateFloats(batch * slots * slots);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < slots; i++) {
      const wi = write[b * slots + i] as number;
      for (let j = 0; j < slots; j++) {
        if (i === j) continue;
        const at = (b * slots + i) * slots + j;
        out[at] = (1 - wi - (write[b * slots + j] as number)) * (link[at] as number) + wi * (precedence[b * slots + j] as number);
      }
    }
  }
  return out;
}

function temporalLinkBackward(
  link: Float32Array,
  precedence: Float32Array,
  write: Float32Array,
  grad: Float32Array,
  batch: number,
  slots: number,
): Float32Array {
  const cells = batch * slots * slots;
  const out = allocateFloats(layoutLength(OUTPUT_LAYOUTS.temporalLinkBackward(batch, slots)));
  const dpAt = cells;
  const dwAt = cells + batch * slots;
  // Column sums (dp_j, and the −g·L part of dw_j) in float64, per example; the row part of dw_i in a local.
  const dp = new Float64Array(slots);
  const dwColumn = new Float64Array(slots);
  for (let b = 0; b < batch; b++) {
    dp.fill(0);
    dwColumn.fill(0);
    const row0 = b * slots;
    for (let i = 0; i < slots; i++) {
      const wi = write[row0 + i] as number;
      let dwi = 0;
      const base = (row0 + i) * slots;
      for (let j = 0; j < slots; j++) {
        if (i === j) continue;
        const g = grad[base + j] as number;
        const l = link[base + j] as number;
        // L'[i, j] = (1 − w_i − w_j) L[i, j] + w_i p_j: each term's share of dL, dp_j, dw_i and dw_j.
        out[base + j] = g * (1 - wi - (write[row0 + j] as number));
        dp[j] = (dp[j] as number) + g * wi;
        dwi += g * ((precedence[row0 + j] as number) - l);
        dwColumn[j] = (dwColumn[j] as number) - g * l;
      }
      out[dwAt + row0 + i] = dwi;
    }
    for (let j = 0; j < slots; j++) {
      out[dpAt + row0 + j] = dp[j] as number;
      out[dwAt + row0 + j] = (out[dwAt + row0 + j] as number) + (dwColumn[j] as number);
    }
  }
  return out;
}

function softmaxCrossEntropy(x: Float32Array, labels: Int32Array, rows: number, cols: number): Float32Array {
  const out = allocateFloats(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let top = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) top = Math.max(top, x[base + j] as number);
    let total = 0;
    for (let j = 0; j < cols; j++) total += Math.exp((x[base + j] as number) - top);
    out[r] = Math.log(total) + top - (x[base + (labels[r] as number)] as number);
  }
  return out;
}

function softmaxCrossEntropyBackward(x: Float32Array, labels: Int32Array, grad: Float32Array, rows: number, cols: number): Float32Array {
  const out = allocateFloats(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let top = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) top = Math.max(top, x[base + j] as number);
    let total = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp((x[base + j] as number) - top);
      out[base + j] = e;
      total += e;
    }
    const g = grad[r] as number;
    for (let j = 0; j < cols; j++) out[base + j] = ((out[base + j] as number) / total - (j === labels[r] ? 1 : 0)) * g;
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

function memoryWrite(memory: Float32Array, w: Float32Array, e: Float32Array, a: Float32Array, batch: number, rows: number, width: number): Float32Array {
  const out = allocateFloats(batch * rows * width);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < rows; i++) {
      const wi = w[b * rows + i] as number;
      const base = (b * rows + i) * width;
      for (let j = 0; j < width; j++) {
        out[base + j] = (memory[base + j] as number) * (1 - wi * (e[b * width + j] as number)) + wi * (a[b * width + j] as number);
      }
    }
  }
  return out;
}

function memoryWriteBackward(
  memory: Float32Array,
  w: Float32Array,
  e: Float32Array,
  a: Float32Array,
  grad: Float32Array,
  batch: number,
  rows: number,
  width: number,
): Float32Array {
  const cells = batch * rows * width;
  const out = allocateFloats(layoutLength(OUTPUT_LAYOUTS.memoryWriteBackward(batch, rows, width)));
  const dwBase = cells;
  const deBase = cells + batch * rows;
  const daBase = deBase + batch * width;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < rows; i++) {
      const wi = w[b * rows + i] as number;
      const base = (b * rows + i) * width;
      let dw = 0;
      for (let j = 0; j < width; j++) {
        const g = grad[base + j] as number;
        const m = memory[base + j] as number;
        const ej = e[b * width + j] as number;
        out[base + j] = g * (1 - wi * ej);
        dw += g * ((a[b * width + j] as number) - m * ej);
        out[deBase + b * width + j] = (out[deBase + b * width + j] as number) - g * m * wi;
        out[daBase + b * width + j] = (out[daBase + b * width + j] as number) + g * wi;
      }
      out[dwBase + b * rows + i] = dw;
    }
  }
  return out;
}

/** A memory row's dot product with the key, and the row's Euclidean norm. */
function rowDot(memory: Float32Array, key: Float32Array, base: number, keyBase: number, width: number): [number, number] {
  let dot = 0;
  let squares = 0;
  for (let j = 0; j < width; j++) {
    const m = memory[base + j] as number;
    dot += m * (key[keyBase + j] as number);
    squares += m * m;
  }
  return [dot, Math.sqrt(squares)];
}

function rowCosine(memory: Float32Array, key: Float32Array, batch: number, rows: number, width: number, epsilon: number): Float32Array {
  const out = allocateFloats(batch * rows);
  for (let b = 0; b < batch; b++) {
    const keyNorm = rowDot(key, key, b * width, b * width, width)[1];
    for (let i = 0; i < rows; i++) {
      const [dot, norm] = rowDot(memory, key, (b * rows + i) * width, b * width, width);
      out[b * rows + i] = dot / (norm * keyNorm + epsilon);
    }
  }
  return out;
}

function rowCosineBackward(
  memory: Float32Array,
  key: Float32Array,
  grad: Float32Array,
  batch: number,
  rows: number,
  width: number,
  epsilon: number,
): Float32Array {
  const cells = batch * rows * width;
  const out = allocateFloats(cells + batch * width);
  for (let b = 0; b < batch; b++) {
    const keyNorm = rowDot(key, key, b * width, b * width, width)[1];
    for (let i = 0; i < rows; i++) {
      const base = (b * rows + i) * width;
      const [dot, norm] = rowDot(memory, key, base, b * width, width);
      const denominator = norm * keyNorm + epsilon;
      const g = grad[b * rows + i] as number;
      // ∂s/∂M(i) = k/D − s·‖k‖·M(i)/(‖M(i)‖·D); ∂s/∂k = M(i)/D − s·‖M(i)‖·k/(‖k‖·D)
      const s = dot / denominator;
      const memoryTerm = norm > 0 ? (s * keyNorm) / (norm * denominator) : 0;
      const keyTerm = keyNorm > 0 ? (s * norm) / (keyNorm * denominator) : 0;
      for (let j = 0; j < width; j++) {
        const m = memory[base + j] as number;
        const k = key[b * width + j] as number;
        out[base + j] = g * (k / denominator - memoryTerm * m);
        out[cells + b * width + j] = (out[cells + b * width + j] as number) + g * (m / denominator - keyTerm * k);
      }
    }
  }
  return out;
}

/** Forward quantities of location addressing for one batch row, in float64. */
function locationRow(wc: Float32Array, wp: Float32Array, g: number, s: Float32Array, gamma: number, b: number, slots: number, shifts: number, epsilon: number) {
  const half = (shifts - 1) / 2;
  const gated = new Float64Array(slots);
  const shifted = new Float64Array(slots);
  const powered = new Float64Array(slots);
  for (let i = 0; i < slots; i++) gated[i] = g * (wc[b * slots + i] as number) + (1 - g) * (wp[b * slots + i] as number);
  for (let i = 0; i < slots; i++) {
    let acc = 0;
    for (let k = 0; k < shifts; k++) acc += (s[b * shifts + k] as number) * (gated[(((i - (k - half)) % slots) + slots) % slots] as number);
    shifted[i] = acc;
  }
  let total = 0;
  for (let i = 0; i < slots; i++) {
    powered[i] = ((shifted[i] as number) + epsilon) ** gamma;
    total += powered[i] as number;
  }
  return { gated, shifted, powered, total, half };
}

function locationAddress(
  wc: Float32Array,
  wp: Float32Array,
  g: Float32Array,
  s: Float32Array,
  gamma: Float32Array,
  batch: number,
  slots: number,
  shifts: number,
  epsilon: number,
): Float32Array {
  const out = allocateFloats(batch * slots);
  for (let b = 0; b < batch; b++) {
    const { powered, total } = locationRow(wc, wp, g[b] as number, s, gamma[b] as number, b, slots, shifts, epsilon);
    for (let i = 0; i < slots; i++) out[b * slots + i] = (powered[i] as number) / total;
  }
  return out;
}

function locationAddressBackward(
  wc: Float32Array,
  wp: Float32Array,
  g: Float32Array,
  s: Float32Array,
  gamma: Float32Array,
  grad: Float32Array,
  batch: number,
  slots: number,
  shifts: number,
  epsilon: number,
): Float32Array {
  const n = batch * slots;
  const out = allocateFloats(2 * n + batch + batch * shifts + batch);
  const dgBase = 2 * n;
  const dsBase = dgBase + batch;
  const dGammaBase = dsBase + batch * shifts;
  for (let b = 0; b < batch; b++) {
    const gb = g[b] as number;
    const gammaB = gamma[b] as number;
    const { gated, shifted, powered, total, half } = locationRow(wc, wp, gb, s, gammaB, b, slots, shifts, epsilon);
    // w = p / Z: dp(i) = (dw(i) − Σ_j dw(j) w(j)) / Z
    let weighted = 0;
    for (let i = 0; i < slots; i++) weighted += (grad[b * slots + i] as number) * ((powered[i] as number) / total);
    const dShifted = new Float64Array(slots);
    let dGamma = 0;
    for (let i = 0; i < slots; i++) {
      const dp = ((grad[b * slots + i] as number) - weighted) / total;
      const base = (shifted[i] as number) + epsilon;
      dShifted[i] = (dp * gammaB * (powered[i] as number)) / base;
      dGamma += dp * (powered[i] as number) * Math.log(base);
    }
    out[dGammaBase + b] = dGamma;
    // shifted(i) = Σ_k s(k) gated(i − (k − half)): route gradients back to gated and s.
    const dGated = new Float64Array(slots);
    for (let k = 0; k < shifts; k++) {
      const sk = s[b * shifts + k] as number;
      let ds = 0;
      for (let i = 0; i < slots; i++) {
        const j = (((i - (k - half)) % slots) + slots) % slots;
        dGated[j] = (dGated[j] as number) + sk * (dShifted[i] as number);
        ds += (dShifted[i] as number) * (gated[j] as number);
      }
      out[dsBase + b * shifts + k] = ds;
    }
    let dg = 0;
    for (let j = 0; j < slots; j++) {
      const d = dGated[j] as number;
      out[b * slots + j] = gb * d;
      out[n + b * slots + j] = (1 - gb) * d;
      dg += d * ((wc[b * slots + j] as number) - (wp[b * slots + j] as number));
    }
    out[dgBase + b] = dg;
  }
  return out;
}

function softmaxRows(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = allocateFloats(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[base + j] as number);
    let total = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp((x[base + j] as number) - max);
      out[base + j] = e;
      total += e;
    }
    for (let j = 0; j < cols; j++) out[base + j] = (out[base + j] as number) / total;
  }
  return out;
}

/** Overflow-free logistic function. */
export function stableSigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The reference kernels written directly (the bag hops are composed from them below). */
const ownKernels = {
  neg: unary('neg'),
  exp: unary('exp'),
  log: unary('log'),
  sqrt: unary('sqrt'),
  abs: unary('abs'),
  sign: unary('sign'),
  tanh: unary('tanh'),
  sigmoid: unary('sigmoid'),
  relu: unary('relu'),
  step: unary('step'),
  softplus: unary('softplus'),
  softmax: softmaxRows,
  add: binary('add'),
  sub: binary('sub'),
  mul: binary('mul'),
  div: binary('div'),
  pow: binary('pow'),
  maximum: binary('maximum'),
  minimum: binary('minimum'),
  greater: binary('greater'),
  equal: binary('equal'),
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
  embeddingBag,
  embeddingBagBackward,
  attentionRead,
  attentionReadBackward,
  memoryHops,
  memoryHopsBackward,
  cumulativeProduct,
  cumulativeProductBackward,
  temporalLink,
  temporalLinkBackward,
  linkWeightings,
  linkWeightingsBackward,
  softmaxCrossEntropy,
  softmaxCrossEntropyBackward,
  lstmCell,
  lstmCellBackward,
  memoryWrite,
  memoryWriteBackward,
  rowCosine,
  rowCosineBackward,
  locationAddress,
  locationAddressBackward,
} satisfies Omit<Kernels<Float32Array>, 'bagMemoryHops' | 'bagMemoryHopsBackward'>;

/** The TypeScript reference kernels (matmul here is the plain loop; the cpu backend swaps in SIMD). */
export const referenceKernels: Kernels<Float32Array> = { ...ownKernels, ...composeBagMemoryHops(ownKernels) };
