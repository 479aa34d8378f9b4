/**
 * gpu.js kernel sources for the primitives, as strings (gpu.js compiles a function's source to
 * GLSL). Every kernel writes a flat 1-D output indexed by `this.thread.x`; tensors of any rank are
 * handled by decomposing the flat index with per-axis shape and stride arrays padded to
 * {@link MAX_RANK}.
 *
 * GLSL computes indices in float: `Math.floor((i + 0.5) / d)` keeps integer division exact where
 * a plain `Math.floor(i / d)` could round 5.9999 down to 5.
 */

/** Highest tensor rank the gpu backend supports. */
export const MAX_RANK = 6;

/** GLSL-safe scalar expressions of `v` (unary) or `x`, `y` (binary), per primitive. */
export const unaryExpressions = {
  neg: '-v',
  exp: 'Math.exp(v)',
  log: 'Math.log(v)',
  sqrt: 'Math.sqrt(v)',
  abs: 'Math.abs(v)',
  sign: 'v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0)',
  // tanh(v) = 1 − 2/(e^{2v}+1), with the input clamped so e^{2v} stays finite in float32.
  tanh: '1.0 - 2.0 / (Math.exp(2.0 * Math.min(Math.max(v, -20.0), 20.0)) + 1.0)',
  sigmoid: 'v >= 0.0 ? 1.0 / (1.0 + Math.exp(-v)) : Math.exp(v) / (1.0 + Math.exp(v))',
  relu: 'v > 0.0 ? v : 0.0',
  step: 'v > 0.0 ? 1.0 : 0.0',
  softplus: 'Math.max(v, 0.0) + Math.log(1.0 + Math.exp(-Math.abs(v)))',
} as const;

export const binaryExpressions = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  pow: 'Math.pow(x, y)',
  maximum: 'x >= y ? x : y',
  minimum: 'x <= y ? x : y',
  greater: 'x > y ? 1.0 : 0.0',
  equal: 'x == y ? 1.0 : 0.0',
} as const;

export function unarySource(expression: string): string {
  return `function (x) { const v = x[this.thread.x]; return ${expression}; }`;
}

/** Same-shape binary op: no index arithmetic. */
export function binarySameShapeSource(expression: string): string {
  return `function (a, b) { const x = a[this.thread.x]; const y = b[this.thread.x]; return ${expression}; }`;
}

/** Broadcasting binary op: decompose the output index and recompose both operand offsets. */
export function binaryBroadcastSource(expression: string): string {
  return `function (a, b, outShape, aStrides, bStrides) {
    let rest = this.thread.x;
    let ia = 0;
    let ib = 0;
    for (let j = 0; j < ${MAX_RANK}; j++) {
      const d = ${MAX_RANK - 1} - j;
      const size = outShape[d];
      const q = Math.floor((rest + 0.5) / size);
      const coord = rest - q * size;
      ia = ia + coord * aStrides[d];
      ib = ib + coord * bStrides[d];
      rest = q;
    }
    const x = a[ia];
    const y = b[ib];
    return ${expression};
  }`;
}

/** out[i] = x[base + Σ coord_d · strides_d]: permute, slice and broadcastTo. */
export const gatherIndexSource = `function (x, outShape, strides, base) {
  let rest = this.thread.x;
  let ix = base;
  for (let j = 0; j < ${MAX_RANK}; j++) {
    const d = ${MAX_RANK - 1} - j;
    const size = outShape[d];
    const q = Math.floor((rest + 0.5) / size);
    const coord = rest - q * size;
    ix = ix + coord * strides[d];
    rest = q;
  }
  return x[ix];
}`;

/** pad: out coordinates inside [begin, begin + inShape) read x, the rest are 0. */
export const padSource = `function (x, outShape, begin, inShape, inStrides) {
  let rest = this.thread.x;
  let ix = 0;
  let inside = 1.0;
  for (let j = 0; j < ${MAX_RANK}; j++) {
    const d = ${MAX_RANK - 1} - j;
    const size = outShape[d];
    const q = Math.floor((rest + 0.5) / size);
    const coord = rest - q * size - begin[d];
    if (coord < 0.0 || coord >= inShape[d]) {
      inside = 0.0;
    }
    ix = ix + coord * inStrides[d];
    rest = q;
  }
  if (inside > 0.5) {
    return x[ix];
  }
  return 0.0;
}`;

/** Two-input concat along an axis, with the tensors viewed as [outer, width] rows. */
export const concatPairSource = `function (a, b, widthA, widthB) {
  const width = widthA + widthB;
  const row = Math.floor((this.thread.x + 0.5) / width);
  const col = this.thread.x - row * width;
  if (col < widthA) {
    return a[row * widthA + col];
  }
  return b[row * widthB + col - widthA];
}`;

/** Reduction over the middle of [outer, n, inner]. */
export function reduceSource(kind: 'sum' | 'max'): string {
  const init = kind === 'sum' ? '0.0' : 'x[base]';
  const combine = kind === 'sum' ? 'acc = acc + v;' : 'if (v > acc) { acc = v; }';
  return `function (x, n, inner) {
    const o = Math.floor((this.thread.x + 0.5) / inner);
    const i = this.thread.x - o * inner;
    const base = o * n * inner + i;
    let acc = ${init};
    for (let j = 0; j < n; j++) {
      const v = x[base + j * inner];
      ${combine}
    }
    return acc;
  }`;
}

/** Batched matmul: dims = [m, k, n, sAi, sAk, sBk, sBj, batchStrideA, batchStrideB]. */
export const matmulSource = `function (a, b, dims) {
  const m = dims[0];
  const k = dims[1];
  const n = dims[2];
  const t = Math.floor((this.thread.x + 0.5) / (m * n));
  const within = this.thread.x - t * m * n;
  const i = Math.floor((within + 0.5) / n);
  const col = within - i * n;
  const baseA = t * dims[7] + i * dims[3];
  const baseB = t * dims[8] + col * dims[6];
  let acc = 0.0;
  for (let p = 0; p < k; p++) {
    acc = acc + a[baseA + p * dims[4]] * b[baseB + p * dims[5]];
  }
  return acc;
}`;

export const whereSource = `function (cond, a, b) {
  if (cond[this.thread.x] != 0.0) {
    return a[this.thread.x];
  }
  return b[this.thread.x];
}`;

/** out[i, c] = table[indices[i], c]. */
export const gatherRowsSource = `function (table, indices, cols) {
  const i = Math.floor((this.thread.x + 0.5) / cols);
  const c = this.thread.x - i * cols;
  return table[indices[i] * cols + c];
}`;

/** out[r, c] = Σ_{i : indices[i] = r} src[i, c]. */
export const scatterAddSource = `function (src, indices, count, cols) {
  const r = Math.floor((this.thread.x + 0.5) / cols);
  const c = this.thread.x - r * cols;
  let acc = 0.0;
  for (let i = 0; i < count; i++) {
    if (indices[i] == r) {
      acc = acc + src[i * cols + c];
    }
  }
  return acc;
}`;

/** out[n, k] = Σ_l weights[weightIndices[i], k]·table[indices[i], k], i = n·words + l. */
export const embeddingBagSource = `function (table, indices, weights, weightIndices, words, width) {
  const n = Math.floor((this.thread.x + 0.5) / width);
  const k = this.thread.x - n * width;
  let acc = 0.0;
  for (let l = 0; l < words; l++) {
    acc = acc + weights[weightIndices[n * words + l] * width + k] * table[indices[n * words + l] * width + k];
  }
  return acc;
}`;

/** out[r, k] = Σ_{i : indices[i] = r} weights[weightIndices[i], k]·grad[⌊i / words⌋, k]. */
export const embeddingBagBackwardSource = `function (grad, indices, weights, weightIndices, count, words, width) {
  const r = Math.floor((this.thread.x + 0.5) / width);
  const k = this.thread.x - r * width;
  let acc = 0.0;
  for (let i = 0; i < count; i++) {
    if (indices[i] == r) {
      const n = Math.floor((i + 0.5) / words);
      acc = acc + weights[weightIndices[i] * width + k] * grad[n * width + k];
    }
  }
  return acc;
}`;

/**
 * attentionRead, output [o (batch·width), p (batch·slots)]: each thread recomputes its row's scores
 * (slots × width), fine for memory-network sizes.
 */
export const attentionReadSource = `function (m, c, u, mask, batch, slots, width, normalize) {
  const x = this.thread.x;
  let b = 0;
  let j = 0;
  let isWeight = 0;
  if (x < batch * width) {
    b = Math.floor((x + 0.5) / width);
    j = x - b * width;
  } else {
    isWeight = 1;
    b = Math.floor((x - batch * width + 0.5) / slots);
    j = x - batch * width - b * slots;
  }
  let top = -1e30;
  for (let i1 = 0; i1 < slots; i1++) {
    let s1 = 0.0;
    for (let k1 = 0; k1 < width; k1++) {
      s1 = s1 + m[(b * slots + i1) * width + k1] * u[b * width + k1];
    }
    if (mask[b * slots + i1] > 0.5 && s1 > top) {
      top = s1;
    }
  }
  let total = 0.0;
  for (let i2 = 0; i2 < slots; i2++) {
    if (mask[b * slots + i2] > 0.5) {
      let s2 = 0.0;
      for (let k2 = 0; k2 < width; k2++) {
        s2 = s2 + m[(b * slots + i2) * width + k2] * u[b * width + k2];
      }
      total = total + Math.exp(s2 - top);
    }
  }
  let acc = 0.0;
  for (let i3 = 0; i3 < slots; i3++) {
    let s3 = 0.0;
    for (let k3 = 0; k3 < width; k3++) {
      s3 = s3 + m[(b * slots + i3) * width + k3] * u[b * width + k3];
    }
    let pi = s3 * mask[b * slots + i3];
    if (normalize > 0.5) {
      pi = 0.0;
      if (mask[b * slots + i3] > 0.5 && total > 0.0) {
        pi = Math.exp(s3 - top) / total;
      }
    }
    if (isWeight > 0) {
      if (i3 == j) {
        acc = pi;
      }
    } else {
      acc = acc + pi * c[(b * slots + i3) * width + j];
    }
  }
  return acc;
}`;

/** attentionReadBackward: [dm, dc, du], each thread recomputing dp and Σ p dp of its row. */
export const attentionReadBackwardSource = `function (m, c, u, mask, out, grad, batch, slots, width, normalize) {
  const cells = batch * slots * width;
  const pBase = batch * width;
  const x = this.thread.x;
  let part = 0;
  let local = x;
  if (x >= cells) {
    part = 1;
    local = x - cells;
  }
  if (x >= 2 * cells) {
    part = 2;
    local = x - 2 * cells;
  }
  let b = 0;
  let i0 = 0;
  let k0 = 0;
  if (part < 2) {
    const row = Math.floor((local + 0.5) / width);
    k0 = local - row * width;
    b = Math.floor((row + 0.5) / slots);
    i0 = row - b * slots;
  } else {
    b = Math.floor((local + 0.5) / width);
    k0 = local - b * width;
  }
  if (part == 1) {
    return out[pBase + b * slots + i0] * grad[b * width + k0];
  }
  let weighted = 0.0;
  for (let i1 = 0; i1 < slots; i1++) {
    let dp1 = grad[pBase + b * slots + i1];
    for (let k1 = 0; k1 < width; k1++) {
      dp1 = dp1 + grad[b * width + k1] * c[(b * slots + i1) * width + k1];
    }
    weighted = weighted + out[pBase + b * slots + i1] * dp1;
  }
  if (part == 0) {
    let dp0 = grad[pBase + b * slots + i0];
    for (let k2 = 0; k2 < width; k2++) {
      dp0 = dp0 + grad[b * width + k2] * c[(b * slots + i0) * width + k2];
    }
    let ds0 = dp0 * mask[b * slots + i0];
    if (normalize > 0.5) {
      ds0 = out[pBase + b * slots + i0] * (dp0 - weighted);
    }
    return ds0 * u[b * width + k0];
  }
  let acc = 0.0;
  for (let i3 = 0; i3 < slots; i3++) {
    let dp3 = grad[pBase + b * slots + i3];
    for (let k3 = 0; k3 < width; k3++) {
      dp3 = dp3 + grad[b * width + k3] * c[(b * slots + i3) * width + k3];
    }
    let ds3 = dp3 * mask[b * slots + i3];
    if (normalize > 0.5) {
      ds3 = out[pBase + b * slots + i3] * (dp3 - weighted);
    }
    acc = acc + ds3 * m[(b * slots + i3) * width + k0];
  }
  return acc;
}`;

/** GLSL-safe statements leaving `top` (the row's maximum) and `total` (Σ_j e^{x_rj − top}) for row r of x. */
const rowLogSumExp = `let top = -1e30;
  for (let j1 = 0; j1 < cols; j1++) {
    top = Math.max(top, x[r * cols + j1]);
  }
  let total = 0.0;
  for (let j2 = 0; j2 < cols; j2++) {
    total = total + Math.exp(x[r * cols + j2] - top);
  }`;

/** out[r] = log Σ_j e^{x_rj − max} + max − x_r,label. */
export const softmaxCrossEntropySource = `function (x, labels, cols) {
  const r = this.thread.x;
  ${rowLogSumExp}
  return Math.log(total) + top - x[r * cols + labels[r]];
}`;

/** out[r, j] = (softmax(x_r)_j − [j = label_r])·grad[r]. */
export const softmaxCrossEntropyBackwardSource = `function (x, labels, grad, cols) {
  const r = Math.floor((this.thread.x + 0.5) / cols);
  const j = this.thread.x - r * cols;
  ${rowLogSumExp}
  let hit = 0.0;
  if (labels[r] == j) {
    hit = 1.0;
  }
  return (Math.exp(x[r * cols + j] - top) / total - hit) * grad[r];
}`;

const sigmoidOf = (x: string): string => `(${x} >= 0.0 ? 1.0 / (1.0 + Math.exp(-${x})) : Math.exp(${x}) / (1.0 + Math.exp(${x})))`;
const tanhOf = (x: string): string => `(1.0 - 2.0 / (Math.exp(2.0 * Math.min(Math.max(${x}, -20.0), 20.0)) + 1.0))`;

/** The four gates i, f, g, o of unit j in batch row b, from the pre-activations z [batch, 4H]. */
const lstmGates = `const zb = b * 4.0 * hidden;
  const zi = z[zb + j];
  const zf = z[zb + hidden + j];
  const zg = z[zb + 2.0 * hidden + j];
  const zo = z[zb + 3.0 * hidden + j];
  const i = ${sigmoidOf('zi')};
  const f = ${sigmoidOf('zf')};
  const g = ${tanhOf('zg')};
  const o = ${sigmoidOf('zo')};`;

/** Fused LSTM cell forward: out [batch, 2H] = h then c'. */
export const lstmCellSource = `function (z, c, hidden) {
  const b = Math.floor((this.thread.x + 0.5) / (2.0 * hidden));
  const col = this.thread.x - b * 2.0 * hidden;
  const j = col < hidden ? col : col - hidden;
  ${lstmGates}
  const cNext = f * c[b * hidden + j] + i * g;
  if (col < hidden) {
    return o * ${tanhOf('cNext')};
  }
  return cNext;
}`;

/** Fused LSTM cell backward: result [batch, 5H] = dz (i, f, g, o) then dc. */
export const lstmCellBackwardSource = `function (z, c, out, grad, hidden) {
  const b = Math.floor((this.thread.x + 0.5) / (5.0 * hidden));
  const col = this.thread.x - b * 5.0 * hidden;
  const part = Math.floor((col + 0.5) / hidden);
  const j = col - part * hidden;
  const ob = b * 2.0 * hidden;
  ${lstmGates}
  const cNext = out[ob + hidden + j];
  const tanhC = ${tanhOf('cNext')};
  const dh = grad[ob + j];
  const dc = grad[ob + hidden + j] + dh * o * (1.0 - tanhC * tanhC);
  if (part < 0.5) {
    return dc * g * i * (1.0 - i);
  }
  if (part < 1.5) {
    return dc * c[b * hidden + j] * f * (1.0 - f);
  }
  if (part < 2.5) {
    return dc * i * (1.0 - g * g);
  }
  if (part < 3.5) {
    return dh * tanhC * o * (1.0 - o);
  }
  return dc * f;
}`;

/** memoryWrite forward: one output per memory cell. */
export const memoryWriteSource = `function (memory, w, e, a, rows, width) {
  const cell = this.thread.x;
  const row = Math.floor((cell + 0.5) / width);
  const j = cell - row * width;
  const b = Math.floor((row + 0.5) / rows);
  const wi = w[row];
  return memory[cell] * (1.0 - wi * e[b * width + j]) + wi * a[b * width + j];
}`;

/** memoryWrite backward: sections dM, dw, de, da of one flat output. */
export const memoryWriteBackwardSource = `function (memory, w, e, a, grad, batch, rows, width) {
  const cells = batch * rows * width;
  const x = this.thread.x;
  if (x < cells) {
    const row = Math.floor((x + 0.5) / width);
    const j = x - row * width;
    const b = Math.floor((row + 0.5) / rows);
    return grad[x] * (1.0 - w[row] * e[b * width + j]);
  }
  if (x < cells + batch * rows) {
    const row = x - cells;
    const b = Math.floor((row + 0.5) / rows);
    let dw = 0.0;
    for (let j = 0; j < width; j++) {
      const cell = row * width + j;
      dw = dw + grad[cell] * (a[b * width + j] - memory[cell] * e[b * width + j]);
    }
    return dw;
  }
  const rest = x - cells - batch * rows;
  const isAdd = rest >= batch * width ? 1.0 : 0.0;
  const k = rest - isAdd * batch * width;
  const b = Math.floor((k + 0.5) / width);
  const j = k - b * width;
  let acc = 0.0;
  for (let i = 0; i < rows; i++) {
    const row = b * rows + i;
    const cell = row * width + j;
    if (isAdd > 0.5) {
      acc = acc + grad[cell] * w[row];
    } else {
      acc = acc - grad[cell] * memory[cell] * w[row];
    }
  }
  return acc;
}`;

/** rowCosine forward: one output per memory row. */
export const rowCosineSource = `function (memory, key, rows, width, epsilon) {
  const row = this.thread.x;
  const b = Math.floor((row + 0.5) / rows);
  let dot = 0.0;
  let squares = 0.0;
  let keySquares = 0.0;
  for (let j = 0; j < width; j++) {
    const m = memory[row * width + j];
    const k = key[b * width + j];
    dot = dot + m * k;
    squares = squares + m * m;
    keySquares = keySquares + k * k;
  }
  return dot / (Math.sqrt(squares) * Math.sqrt(keySquares) + epsilon);
}`;

/** rowCosine backward: sections dM then dk of one flat output. */
export const rowCosineBackwardSource = `function (memory, key, grad, batch, rows, width, epsilon) {
  const cells = batch * rows * width;
  const x = this.thread.x;
  let b = 0.0;
  let j = 0.0;
  let first = 0.0;
  let last = 0.0;
  if (x < cells) {
    const row = Math.floor((x + 0.5) / width);
    j = x - row * width;
    b = Math.floor((row + 0.5) / rows);
    first = row - b * rows;
    last = first + 1.0;
  } else {
    const k = x - cells;
    b = Math.floor((k + 0.5) / width);
    j = k - b * width;
    first = 0.0;
    last = rows;
  }
  let keySquares = 0.0;
  for (let q = 0; q < width; q++) {
    const kq = key[b * width + q];
    keySquares = keySquares + kq * kq;
  }
  const keyNorm = Math.sqrt(keySquares);
  let acc = 0.0;
  for (let i = 0; i < rows; i++) {
    if (i >= first && i < last) {
      const row = b * rows + i;
      let dot = 0.0;
      let squares = 0.0;
      for (let q = 0; q < width; q++) {
        const m = memory[row * width + q];
        dot = dot + m * key[b * width + q];
        squares = squares + m * m;
      }
      const norm = Math.sqrt(squares);
      const denominator = norm * keyNorm + epsilon;
      const s = dot / denominator;
      const g = grad[row];
      const m = memory[row * width + j];
      const k = key[b * width + j];
      if (x < cells) {
        let memoryTerm = 0.0;
        if (norm > 0.0) {
          memoryTerm = (s * keyNorm) / (norm * denominator);
        }
        acc = acc + g * (k / denominator - memoryTerm * m);
      } else {
        let keyTerm = 0.0;
        if (keyNorm > 0.0) {
          keyTerm = (s * norm) / (keyNorm * denominator);
        }
        acc = acc + g * (m / denominator - keyTerm * k);
      }
    }
  }
  return acc;
}`;

/** GLSL-safe source: `name` = `index` wrapped into [0, slots) (index is within one period). */
const wrapInto = (name: string, index: string): string =>
  `let ${name} = ${index};\n      if (${name} < 0.0) { ${name} = ${name} + slots; }\n      if (${name} >= slots) { ${name} = ${name} - slots; }`;
/** The row b and column i of this thread's element in a row-major `[rows, width]` output. */
const rowAndColumn = (width: string): string => `const b = Math.floor((this.thread.x + 0.5) / ${width});
  const i = this.thread.x - b * ${width};`;

/** The interpolated weighting g·w_c + (1 − g)·w_p at slot `j` of batch row `b`. */
const gatedAt = (j: string): string => `(gb * wc[b * slots + ${j}] + (1.0 - gb) * wp[b * slots + ${j}])`;

/**
 * A loop over batch row b's slots q that computes each sharpened weight p = ((w̃(q) + ε) / largest)^γ, adds it to
 * `total`, and runs `body` (which may use q and p). The powers are taken relative to the row's largest w̃ + ε (a
 * first loop finds it, as `largest`): the same weighting p / total, but a flat w̃ raised to a large γ no longer
 * underflows every power to 0 (a weighting of 0/0) in float32.
 */
const forEachSharpened = (body: string): string => `let largest = 0.0;
  for (let m = 0; m < slots; m++) {
    let shiftedM = 0.0;
    for (let km = 0; km < shifts; km++) {
      ${wrapInto('jm', 'm - (km - half)')}
      shiftedM = shiftedM + s[b * shifts + km] * ${gatedAt('jm')};
    }
    largest = Math.max(largest, shiftedM + epsilon);
  }
  let total = 0.0;
  for (let q = 0; q < slots; q++) {
    let acc = 0.0;
    for (let k = 0; k < shifts; k++) {
      ${wrapInto('j', 'q - (k - half)')}
      acc = acc + s[b * shifts + k] * ${gatedAt('j')};
    }
    const p = Math.pow((acc + epsilon) / largest, gammaB);
    total = total + p;
    ${body}
  }`;

/** Location addressing forward: one output per slot; each thread recomputes its row's normaliser. */
export const locationAddressSource = `function (wc, wp, g, s, gamma, slots, shifts, epsilon) {
  ${rowAndColumn('slots')}
  const half = (shifts - 1.0) / 2.0;
  const gb = g[b];
  const gammaB = gamma[b];
  let mine = 0.0;
  ${forEachSharpened('if (q == i) { mine = p; }')}
  return mine / total;
}`;

/**
 * Location addressing backward, step 1: per row b and slot r, the two terms every gradient is built
 * from — dw̃(r), the gradient reaching the shifted weighting, and dp(r)·p(r)·ln(w̃(r) + ε), the term of
 * dγ — as `[2, batch, slots]`. Each thread recomputes its row's normaliser and weighted sum (O(N·S)).
 */
export const locationBackwardStateSource = `function (wc, wp, g, s, gamma, grad, batch, slots, shifts, epsilon) {
  const n = batch * slots;
  const second = this.thread.x >= n ? 1.0 : 0.0;
  const x = this.thread.x - second * n;
  const b = Math.floor((x + 0.5) / slots);
  const r = x - b * slots;
  const half = (shifts - 1.0) / 2.0;
  const gb = g[b];
  const gammaB = gamma[b];
  let weighted = 0.0;
  ${forEachSharpened('weighted = weighted + grad[b * slots + q] * p;')}
  weighted = weighted / total;
  let shifted = 0.0;
  for (let k = 0; k < shifts; k++) {
    ${wrapInto('j', 'r - (k - half)')}
    shifted = shifted + s[b * shifts + k] * ${gatedAt('j')};
  }
  const base = shifted + epsilon;
  // Relative to the row's largest, as the powers in total are: p / total and ln(base) are what the gradients use.
  const p = Math.pow(base / largest, gammaB);
  const dp = (grad[b * slots + r] - weighted) / total;
  if (second > 0.5) { return dp * p * Math.log(base); }
  return (dp * gammaB * p) / base;
}`;

/**
 * dwc (gate = 1: scaled by g) or dwp (gate = 0: scaled by 1 − g) at row b, slot i:
 * Σ_k s(k)·dw̃(i + k − (S−1)/2), the slots whose shift reads slot i.
 */
export const locationWeightingGradSource = `function (g, s, state, slots, shifts, gate) {
  ${rowAndColumn('slots')}
  const half = (shifts - 1.0) / 2.0;
  let sum = 0.0;
  for (let k = 0; k < shifts; k++) {
    ${wrapInto('r', 'i + (k - half)')}
    sum = sum + s[b * shifts + k] * state[b * slots + r];
  }
  const scale = gate > 0.5 ? g[b] : 1.0 - g[b];
  return scale * sum;
}`;

/** dg at row b: Σ_r Σ_k s(k)·dw̃(r)·(wc − wp)(r − k + (S−1)/2). */
export const locationGateGradSource = `function (wc, wp, s, state, slots, shifts) {
  const b = this.thread.x;
  const half = (shifts - 1.0) / 2.0;
  let sum = 0.0;
  for (let r = 0; r < slots; r++) {
    for (let k = 0; k < shifts; k++) {
      ${wrapInto('j', 'r - (k - half)')}
      sum = sum + s[b * shifts + k] * state[b * slots + r] * (wc[b * slots + j] - wp[b * slots + j]);
    }
  }
  return sum;
}`;

/** ds at row b, shift k: Σ_r dw̃(r)·w_g(r − k + (S−1)/2). */
export const locationShiftGradSource = `function (wc, wp, g, state, slots, shifts) {
  ${rowAndColumn('shifts')}
  const half = (shifts - 1.0) / 2.0;
  const gb = g[b];
  let sum = 0.0;
  for (let r = 0; r < slots; r++) {
    ${wrapInto('j', 'r - (i - half)')}
    sum = sum + state[b * slots + r] * ${gatedAt('j')};
  }
  return sum;
}`;

/** dγ at row b: Σ_r dp(r)·p(r)·ln(w̃(r) + ε), the second half of the state. */
export const locationSharpeningGradSource = `function (state, batch, slots) {
  const b = this.thread.x;
  let sum = 0.0;
  for (let r = 0; r < slots; r++) {
    sum = sum + state[batch * slots + b * slots + r];
  }
  return sum;
}`;

/** Softmax over rows of `cols`: each thread finds its row's maximum and normaliser. */
export const softmaxSource = `function (x, cols) {
  const row = Math.floor((this.thread.x + 0.5) / cols);
  const base = row * cols;
  let max = x[base];
  for (let j = 1; j < cols; j++) {
    max = Math.max(max, x[base + j]);
  }
  let total = 0.0;
  for (let k = 0; k < cols; k++) {
    total = total + Math.exp(x[base + k] - max);
  }
  return Math.exp(x[this.thread.x] - max) / total;
}`;

/** Copies an uploaded array into a texture. */
export const uploadSource = 'function (x) { return x[this.thread.x]; }';

/** Cumulative product along rows of `cols`: Π_{j<i} (exclusive = 1) or Π_{j≤i} x_j. */
export const cumulativeProductSource = `function (x, cols, exclusive) {
  const row = Math.floor((this.thread.x + 0.5) / cols);
  const i = this.thread.x - row * cols;
  let product = 1.0;
  for (let j = 0; j < cols; j++) {
    if (j < i || (exclusive < 0.5 && j == i)) {
      product = product * x[row * cols + j];
    }
  }
  return product;
}`;

/** Its backward: (Π_{k<j} x_k)·Σ over the later products of their gradient times the x between. */
export const cumulativeProductBackwardSource = `function (x, grad, cols, exclusive) {
  const row = Math.floor((this.thread.x + 0.5) / cols);
  const j = this.thread.x - row * cols;
  const base = row * cols;
  let prefix = 1.0;
  for (let k = 0; k < cols; k++) {
    if (k < j) {
      prefix = prefix * x[base + k];
    }
  }
  let later = 0.0;
  let between = 1.0;
  for (let i = 0; i < cols; i++) {
    if (i > j || (exclusive < 0.5 && i == j)) {
      if (i > j + 1 || (exclusive < 0.5 && i > j)) {
        between = between * x[base + i - (exclusive < 0.5 ? 0 : 1)];
      }
      later = later + grad[base + i] * between;
    }
  }
  return prefix * later;
}`;

/** The DNC's temporal link update: one thread per (b, i, j). */
export const temporalLinkSource = `function (link, precedence, write, slots) {
  const cell = this.thread.x;
  const b = Math.floor((cell + 0.5) / (slots * slots));
  const rest = cell - b * slots * slots;
  const i = Math.floor((rest + 0.5) / slots);
  const j = rest - i * slots;
  if (i == j) {
    return 0.0;
  }
  const wi = write[b * slots + i];
  return (1.0 - wi - write[b * slots + j]) * link[cell] + wi * precedence[b * slots + j];
}`;

/** Its backward, laid out [dL (batch·N·N), dp (batch·N), dw (batch·N)]: one thread per output value. */
export const temporalLinkBackwardSource = `function (link, precedence, write, grad, batch, slots) {
  const cells = batch * slots * slots;
  const x = this.thread.x;
  if (x < cells) {
    const b = Math.floor((x + 0.5) / (slots * slots));
    const rest = x - b * slots * slots;
    const i = Math.floor((rest + 0.5) / slots);
    const j = rest - i * slots;
    if (i == j) {
      return 0.0;
    }
    return grad[x] * (1.0 - write[b * slots + i] - write[b * slots + j]);
  }
  if (x < cells + batch * slots) {
    const y = x - cells;
    const b = Math.floor((y + 0.5) / slots);
    const j = y - b * slots;
    let dp = 0.0;
    for (let i = 0; i < slots; i++) {
      if (i != j) {
        dp = dp + grad[(b * slots + i) * slots + j] * write[b * slots + i];
      }
    }
    return dp;
  }
  const y = x - cells - batch * slots;
  const b = Math.floor((y + 0.5) / slots);
  const k = y - b * slots;
  let dw = 0.0;
  for (let j = 0; j < slots; j++) {
    if (j != k) {
      dw = dw + grad[(b * slots + k) * slots + j] * (precedence[b * slots + j] - link[(b * slots + k) * slots + j]);
      dw = dw - grad[(b * slots + j) * slots + k] * link[(b * slots + j) * slots + k];
    }
  }
  return dw;
}`;
