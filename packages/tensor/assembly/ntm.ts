// A whole NTM training sequence (LSTM controller, any heads and layers, any batch) forward and backward in one call:
// the arithmetic of @engram/ntm's fused-sequence.ts (itself the composed ntmStep's, tested against the tape), with
// every activation kept in this module's memory for the backward pass. Weights, inputs and targets are copied in once
// per sequence; the output is every parameter's gradient, then the loss and the wrong bits.
//
// Parameters and gradients share one flat layout: for each LSTM layer W [(in + H) × 4H] and b [4H] (in = I + R·M for
// the first layer, H above), the heads' W [H × P] and b [P], the output's W [(H + R·M) × O] and b [O], the initial
// reads [R × M], the initial weighting logits [(R + W) × N], the initial memory [N × M].

import { demoteFour, exp4, promoteHigh, promoteLow, sigmoid32, sigmoid4, tanh32, tanh4 } from './fastmath';
import { F, at, entry, setEntry } from './pointers';
import { dot, lanesSum } from './attention';
import { multiplyAdd } from './matmul';
import { locationAddress, locationAddressBackwardKept, locationAddressKept, locationTempBytes, memoryWrite, memoryWriteBackward, rowCosineBackwardKept, rowCosineKeeping } from './memory';

const COSINE_EPSILON: f32 = 1e-8;
const SHARPEN_EPSILON: f64 = 1e-12;

/** Sizes of one call (set by `ntmSequence` before planning). */
let B: i32 = 0, T: i32 = 0, I: i32 = 0, O: i32 = 0, H: i32 = 0, L: i32 = 0, N: i32 = 0, M: i32 = 0, R: i32 = 0, W: i32 = 0, S: i32 = 0;
let P: i32 = 0;
let passes: i32 = 0;

/** A bump allocator over the temp region (dry: only counts). */
let cursor: usize = 0;
@inline function take(floats: i32): usize {
  const p = cursor;
  cursor += ((<usize>floats) * F + 15) & ~(<usize>15);
  return p;
}

@inline function headSize(h: i32): i32 {
  return M + 3 + S + (h >= R ? 2 * M : 0);
}
@inline function inputWidth(l: i32): i32 {
  return l == 0 ? I + R * M : H;
}

// Per-step and fixed buffers: pointers planned from `cursor`. Step buffers are at stepBase + t * stepBytes + offset.
let stepBytes: usize = 0;
let stepBase: usize = 0;
// Offsets within a step (bytes from the step's start).
const oJoined: usize = memory.data(16 * 4);
const oZ: usize = memory.data(16 * 4);
const oH: usize = memory.data(16 * 4);
const oC: usize = memory.data(16 * 4);
const oGates: usize = memory.data(16 * 4); // i, f, g, o, tanh c per unit
let oRaw: usize = 0, oUnclipped: usize = 0;
const oKey: usize = memory.data(64 * 4);
const oStrength: usize = memory.data(64 * 4);
const oGate: usize = memory.data(64 * 4);
const oShift: usize = memory.data(64 * 4);
const oSharp: usize = memory.data(64 * 4);
const oErase: usize = memory.data(64 * 4);
const oAdd: usize = memory.data(64 * 4);
const oSim: usize = memory.data(64 * 4);
// Each head's memory row norms from content addressing (rowCosineKeeping), kept for the backward.
const oNorms: usize = memory.data(64 * 4);
const oContent: usize = memory.data(64 * 4);
const oWeighting: usize = memory.data(64 * 4);
// Each head's location-addressing quantities (locationAddressKept), kept for the backward; none without gradients.
const oLocation: usize = memory.data(64 * 4);
let oMemories: usize = 0; // passes × B·N·M: the memory after each write pass
let oReads: usize = 0; // R × B·M
let oOutIn: usize = 0, oLogits: usize = 0;
// Fixed buffers.
let initialMemory: usize = 0, initialWeightings: usize = 0, initialReads: usize = 0, zeroState: usize = 0, none: usize = 0;
let dMemory: usize = 0, dPrevious: usize = 0, dPreviousNext: usize = 0, dReads: usize = 0, dReadsNext: usize = 0;
let dH: usize = 0, dC: usize = 0, dHNext: usize = 0, dCNext: usize = 0, dRaw: usize = 0, dy: usize = 0, dOutIn: usize = 0;
let dSim: usize = 0, dStrength: usize = 0, dErase: usize = 0, dAdd: usize = 0, locationBack: usize = 0, cosineBack: usize = 0;
let cellBack: usize = 0, dJoined: usize = 0, locationTemp: usize = 0;
// Below a batch of 4 the weights' gradients of the controller and the heads wait for the end of the backward pass: each
// step's rows (the layer's input and its gates' gradient; the top layer's h and the heads' dRaw) go into these, the
// last step first, and one product per matrix over all of them reads and writes the gradient once, where one row a
// step was a pass over all of it (the same terms in the same order). A batch of 4 or more keeps a product a step.
const xRows: usize = memory.data(16 * 4);
const dzRows: usize = memory.data(16 * 4);
let topRows: usize = 0, dRawRows: usize = 0;
@inline function deferred(): bool {
  return B < 4;
}

function plan(base: usize): usize {
  cursor = 0;
  for (let l = 0; l < L; l++) {
    setEntry(oJoined, l, take(B * (inputWidth(l) + H)));
    setEntry(oZ, l, take(B * 4 * H));
    setEntry(oH, l, take(B * H));
    setEntry(oC, l, take(B * H));
    setEntry(oGates, l, take(B * 5 * H));
  }
  oRaw = take(B * P);
  oUnclipped = take(B * P);
  for (let h = 0; h < R + W; h++) {
    setEntry(oKey, h, take(B * M));
    setEntry(oStrength, h, take(B));
    setEntry(oGate, h, take(B));
    setEntry(oShift, h, take(B * S));
    setEntry(oSharp, h, take(B));
    setEntry(oErase, h, take(h >= R ? B * M : 0));
    setEntry(oAdd, h, take(h >= R ? B * M : 0));
    setEntry(oSim, h, take(B * N));
    setEntry(oNorms, h, take(B * N));
    setEntry(oContent, h, take(B * N));
    setEntry(oWeighting, h, take(B * N));
    setEntry(oLocation, h, ring ? 0 : take((B * locationTempBytes(N)) / <i32>F));
  }
  oMemories = take(passes * B * N * M);
  oReads = take(R * B * M);
  oOutIn = take(B * (H + R * M));
  oLogits = take(B * O);
  stepBytes = cursor;
  cursor = base;
  stepBase = take(<i32>((stepBytes * <usize>(ring ? min(T, 2) : T)) / F));
  initialMemory = take(B * N * M);
  initialWeightings = take((R + W) * B * N);
  initialReads = take(R * B * M);
  zeroState = take(B * H);
  none = take(B * M);
  // dM, then the write backward's dw, de and da after it (memoryWriteBackward writes dM in place).
  dMemory = take(B * N * M + B * N + 2 * B * M);
  dPrevious = take((R + W) * B * N);
  dPreviousNext = take((R + W) * B * N);
  dReads = take(R * B * M);
  dReadsNext = take(R * B * M);
  dH = take(L * B * H);
  dC = take(L * B * H);
  dHNext = take(L * B * H);
  dCNext = take(L * B * H);
  dRaw = take(B * P);
  dy = take(B * O);
  dOutIn = take(B * (H + R * M));
  dSim = take(B * N);
  dStrength = take(B);
  dErase = take(W * B * M);
  dAdd = take(W * B * M);
  locationBack = take(2 * B * N + 2 * B + B * S);
  cosineBack = take(B * M);
  cellBack = take(B * 5 * H);
  const rows = !ring && deferred() ? T * B : 0;
  for (let l = 0; l < L; l++) {
    setEntry(xRows, l, take(rows * (inputWidth(l) + H)));
    setEntry(dzRows, l, take(rows * 4 * H));
  }
  topRows = take(rows * H);
  dRawRows = take(rows * P);
  dJoined = take(B * (I + R * M + 2 * H));
  locationTemp = cursor;
  cursor += <usize>locationTempBytes(N);
  return cursor;
}

/** Forward only (no gradients): two steps' buffers, used in turn, instead of one per step. */
let ring: bool = false;
@inline function stepAt(t: i32, offset: usize): usize {
  return stepBase + (<usize>(ring ? t & 1 : t)) * stepBytes + offset;
}

function setSizes(batch: i32, steps: i32, inputs: i32, outputs: i32, hidden: i32, layers: i32, slots: i32, width: i32, reads: i32, writes: i32, shifts: i32): void {
  B = batch;
  T = steps;
  I = inputs;
  O = outputs;
  H = hidden;
  L = layers;
  N = slots;
  M = width;
  R = reads;
  W = writes;
  S = shifts;
  P = 0;
  for (let h = 0; h < R + W; h++) P += headSize(h);
  passes = W == 1 ? 1 : 2 * W;
}

/** Floats of the parameter (and gradient) layout. */
export function ntmParameterCount(inputs: i32, outputs: i32, hidden: i32, layers: i32, slots: i32, width: i32, reads: i32, writes: i32, shifts: i32): i32 {
  setSizes(1, 1, inputs, outputs, hidden, layers, slots, width, reads, writes, shifts);
  let n = 0;
  for (let l = 0; l < L; l++) n += (inputWidth(l) + H) * 4 * H + 4 * H;
  n += H * P + P;
  n += (H + R * M) * O + O;
  n += R * M + (R + W) * N + N * M;
  return n;
}

/**
 * One read's backward for one batch row: dw(i) += Σ_j dr(j)·M(i, j) and dM(i, j) += w(i)·dr(j). The sums four rows at
 * a time, lane k holding row i + k's, each adding its terms in the order of j from 0 as the one-row loop did (the
 * same bits); dM four columns at a time.
 */
function readBackward(memoryRows: usize, w: usize, dr: usize, dMemory: usize, dw: usize): void {
  const rowBytes = (<usize>M) * F;
  let i = 0;
  for (; i + 4 <= N; i += 4) {
    const base = at(memoryRows, i * M);
    let sums = f32x4.splat(0);
    for (let j = 0; j < M; j++) {
      const off = (<usize>j) * F;
      let m = v128.load32_splat(base + off);
      m = v128.load32_lane(base + rowBytes + off, m, 1);
      m = v128.load32_lane(base + 2 * rowBytes + off, m, 2);
      m = v128.load32_lane(base + 3 * rowBytes + off, m, 3);
      sums = multiplyAdd(v128.load32_splat(at(dr, j)), m, sums);
    }
    v128.store(at(dw, i), f32x4.add(v128.load(at(dw, i)), sums));
  }
  for (; i < N; i++) {
    let sum: f32 = 0;
    for (let j = 0; j < M; j++) sum += load<f32>(at(dr, j)) * load<f32>(at(memoryRows, i * M + j));
    store<f32>(at(dw, i), load<f32>(at(dw, i)) + sum);
  }
  for (let row = 0; row < N; row++) {
    const wi = load<f32>(at(w, row));
    const vw = f32x4.splat(wi);
    const target = at(dMemory, row * M);
    let j = 0;
    for (; j + 4 <= M; j += 4) v128.store(at(target, j), multiplyAdd(vw, v128.load(at(dr, j)), v128.load(at(target, j))));
    for (; j < M; j++) store<f32>(at(target, j), load<f32>(at(target, j)) + wi * load<f32>(at(dr, j)));
  }
}

/** Bytes of temp space `ntmSequence` needs. */
export function ntmSequenceTempBytes(
  batch: i32,
  steps: i32,
  inputs: i32,
  outputs: i32,
  hidden: i32,
  layers: i32,
  slots: i32,
  width: i32,
  reads: i32,
  writes: i32,
  shifts: i32,
  gradients: bool,
): i32 {
  setSizes(batch, steps, inputs, outputs, hidden, layers, slots, width, reads, writes, shifts);
  ring = !gradients;
  return <i32>plan(0) + 16;
}

// Parameter offsets (floats) in the flat layout.
const pLayerW: usize = memory.data(16 * 4);
const pLayerB: usize = memory.data(16 * 4);
let pHeadW: i32 = 0, pHeadB: i32 = 0, pOutW: i32 = 0, pOutB: i32 = 0, pReads: i32 = 0, pFocus: i32 = 0, pMemory: i32 = 0;
function parameterOffsets(): i32 {
  let n = 0;
  for (let l = 0; l < L; l++) {
    setEntry(pLayerW, l, <usize>(n));
    n += (inputWidth(l) + H) * 4 * H;
    setEntry(pLayerB, l, <usize>(n));
    n += 4 * H;
  }
  pHeadW = n;
  n += H * P;
  pHeadB = n;
  n += P;
  pOutW = n;
  n += (H + R * M) * O;
  pOutB = n;
  n += O;
  pReads = n;
  n += R * M;
  pFocus = n;
  n += (R + W) * N;
  pMemory = n;
  n += N * M;
  return n;
}

@inline export function sigmoid(x: f64): f64 {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
@inline export function softplus(x: f64): f64 {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

// The products at a batch of 4 or more run register-blocked: 4 rows × 8 columns (or 4 rows × 2 inputs' dot products)
// of accumulators, so each weight is read once per 4 rows instead of once per row, and columns past a multiple of 8 go
// 4 at a time. Eight accumulators, with the loads that feed them, fit the 16 vector registers of an x64 core; the
// 4 × 16 blocks used before needed 21 and spilled to the stack (copy at batch 32: 1.18–1.23× faster with 4 × 8). A
// batch of 1–3 (and the rows left over past a multiple of 4) take the row-at-a-time loops, which skip zero inputs.

/** y[r, j] = bias[j] + Σ_k x[r, k] w[k, j] (rows × inputs · inputs × outputs). */
export function affine(x: usize, w: usize, bias: usize, y: usize, rows: i32, inputs: i32, outputs: i32): void {
  const blocked = rows & ~3;
  for (let r = 0; r < blocked; r += 4) affineFour(x, w, bias, y, r, inputs, outputs);
  for (let r = blocked; r < rows; r++) affineRow(at(x, r * inputs), w, bias, at(y, r * outputs), inputs, outputs);
}

/**
 * One row of `affine` (the rows after the blocks of four; at batch 1, every row): sixteen outputs in four registers
 * while k runs down the weights, so each weight is loaded once and y is stored once. Each output adds its terms in
 * the order of k, from the bias, as a row of `affine` always has (the same bits).
 */
function affineRow(xr: usize, w: usize, bias: usize, yr: usize, inputs: i32, outputs: i32): void {
  const wStride = (<usize>outputs) * F;
  let j = 0;
  for (; j + 16 <= outputs; j += 16) {
    const b = at(bias, j);
    let a0 = v128.load(b), a1 = v128.load(b, 16), a2 = v128.load(b, 32), a3 = v128.load(b, 48);
    let pw = at(w, j);
    for (let k = 0; k < inputs; k++) {
      const xv = load<f32>(at(xr, k));
      if (xv != 0) {
        const xs = f32x4.splat(xv);
        a0 = multiplyAdd(xs, v128.load(pw), a0);
        a1 = multiplyAdd(xs, v128.load(pw, 16), a1);
        a2 = multiplyAdd(xs, v128.load(pw, 32), a2);
        a3 = multiplyAdd(xs, v128.load(pw, 48), a3);
      }
      pw += wStride;
    }
    storeSixteen(at(yr, j), a0, a1, a2, a3);
  }
  for (; j + 4 <= outputs; j += 4) {
    let a = v128.load(at(bias, j));
    let pw = at(w, j);
    for (let k = 0; k < inputs; k++) {
      const xv = load<f32>(at(xr, k));
      if (xv != 0) a = multiplyAdd(f32x4.splat(xv), v128.load(pw), a);
      pw += wStride;
    }
    v128.store(at(yr, j), a);
  }
  for (; j < outputs; j++) {
    let a = load<f32>(at(bias, j));
    for (let k = 0; k < inputs; k++) {
      const xv = load<f32>(at(xr, k));
      if (xv != 0) a += xv * load<f32>(at(w, k * outputs + j));
    }
    store<f32>(at(yr, j), a);
  }
}

/** Sixteen floats (four vectors) stored from p on. */
@inline function storeSixteen(p: usize, a: v128, b: v128, c: v128, d: v128): void {
  v128.store(p, a);
  v128.store(p, b, 16);
  v128.store(p, c, 32);
  v128.store(p, d, 48);
}

/** Rows r…r+3 of `affine`: the bias into the four rows, then Σ_k x[r + i, k] w[k, ·] added eight columns, then four, at a time. */
function affineFour(x: usize, w: usize, bias: usize, y: usize, r: i32, inputs: i32, outputs: i32): void {
  const x0 = at(x, r * inputs);
  const xStride = (<usize>inputs) * F;
  const wStride = (<usize>outputs) * F;
  const y0 = at(y, r * outputs);
  let j = 0;
  for (; j + 8 <= outputs; j += 8) {
    const b = at(bias, j);
    const lo = v128.load(b), hi = v128.load(b, 16);
    const yj = at(y0, j);
    storeFourRowsEight(yj, wStride, lo, hi, lo, hi, lo, hi, lo, hi);
    addOuterFourByEight(yj, wStride, x0, xStride, F, at(w, j), wStride, inputs);
  }
  for (; j + 4 <= outputs; j += 4) {
    const b = v128.load(at(bias, j));
    const yj = at(y0, j);
    storeFourRows(yj, wStride, b, b, b, b);
    addOuterFourByFour(yj, wStride, x0, xStride, F, at(w, j), wStride, inputs);
  }
  for (; j < outputs; j++) {
    for (let i = 0; i < 4; i++) {
      let acc: f32 = load<f32>(at(bias, j));
      for (let k = 0; k < inputs; k++) acc += load<f32>(at(x, (r + i) * inputs + k)) * load<f32>(at(w, k * outputs + j));
      store<f32>(at(y, (r + i) * outputs + j), acc);
    }
  }
}

/**
 * The register-blocked core of `affineFour` and `backWeightsFour`: four rows of eight floats at dst (rows `dstStride`
 * bytes apart) += Σ_{n < count} s_i(n) v(n), where s_i(n) is the float at s + i·sRow + n·sStep and v(n) the eight at
 * v + n·vStep. Eight accumulators and the six loads feeding them fit x64's 16 vector registers; each element adds
 * its terms in the order of n, fused where the engine has relaxed SIMD.
 */
@inline function addOuterFourByEight(dst: usize, dstStride: usize, s: usize, sRow: usize, sStep: usize, v: usize, vStep: usize, count: i32): void {
  let a00 = v128.load(dst), a01 = v128.load(dst, 16);
  let a10 = v128.load(dst + dstStride), a11 = v128.load(dst + dstStride, 16);
  let a20 = v128.load(dst + 2 * dstStride), a21 = v128.load(dst + 2 * dstStride, 16);
  let a30 = v128.load(dst + 3 * dstStride), a31 = v128.load(dst + 3 * dstStride, 16);
  let ps = s;
  let pv = v;
  for (let n = 0; n < count; n++) {
    const v0 = v128.load(pv), v1 = v128.load(pv, 16);
    const s0 = v128.load32_splat(ps), s1 = v128.load32_splat(ps + sRow), s2 = v128.load32_splat(ps + 2 * sRow), s3 = v128.load32_splat(ps + 3 * sRow);
    a00 = multiplyAdd(s0, v0, a00); a01 = multiplyAdd(s0, v1, a01);
    a10 = multiplyAdd(s1, v0, a10); a11 = multiplyAdd(s1, v1, a11);
    a20 = multiplyAdd(s2, v0, a20); a21 = multiplyAdd(s2, v1, a21);
    a30 = multiplyAdd(s3, v0, a30); a31 = multiplyAdd(s3, v1, a31);
    ps += sStep;
    pv += vStep;
  }
  storeFourRowsEight(dst, dstStride, a00, a01, a10, a11, a20, a21, a30, a31);
}

/** `addOuterFourByEight` for four floats a row (the columns past a multiple of 8). */
@inline function addOuterFourByFour(dst: usize, dstStride: usize, s: usize, sRow: usize, sStep: usize, v: usize, vStep: usize, count: i32): void {
  let a0 = v128.load(dst), a1 = v128.load(dst + dstStride), a2 = v128.load(dst + 2 * dstStride), a3 = v128.load(dst + 3 * dstStride);
  let ps = s;
  let pv = v;
  for (let n = 0; n < count; n++) {
    const v0 = v128.load(pv);
    a0 = multiplyAdd(v128.load32_splat(ps), v0, a0);
    a1 = multiplyAdd(v128.load32_splat(ps + sRow), v0, a1);
    a2 = multiplyAdd(v128.load32_splat(ps + 2 * sRow), v0, a2);
    a3 = multiplyAdd(v128.load32_splat(ps + 3 * sRow), v0, a3);
    ps += sStep;
    pv += vStep;
  }
  storeFourRows(dst, dstStride, a0, a1, a2, a3);
}

/** Four vectors stored a row apart (`stride` bytes) from p on. */
@inline function storeFourRows(p: usize, stride: usize, a: v128, b: v128, c: v128, d: v128): void {
  v128.store(p, a);
  v128.store(p + stride, b);
  v128.store(p + 2 * stride, c);
  v128.store(p + 3 * stride, d);
}

/** Eight floats (two vectors) in each of four rows `stride` bytes apart from p on. */
@inline function storeFourRowsEight(p: usize, stride: usize, a0: v128, a1: v128, b0: v128, b1: v128, c0: v128, c1: v128, d0: v128, d1: v128): void {
  storeFourRows(p, stride, a0, b0, c0, d0);
  storeFourRows(p + 16, stride, a1, b1, c1, d1);
}

/** dx[r, k] = Σ_j dy[r, j] w[k, j] (the input's gradient of `affine`). */
export function affineBackInput(dyp: usize, w: usize, dx: usize, rows: i32, inputs: i32, outputs: i32): void {
  const blocked = rows & ~3;
  for (let r = 0; r < blocked; r += 4) {
    let k = 0;
    // Four inputs at a time as two pairs (the inputs past a multiple of 4 by `dot`, as before the pairs).
    for (; k + 4 <= inputs; k += 4) {
      backInputTwo(dyp, w, dx, r, k, inputs, outputs);
      backInputTwo(dyp, w, dx, r, k + 2, inputs, outputs);
    }
    for (; k < inputs; k++) for (let i = 0; i < 4; i++) store<f32>(at(dx, (r + i) * inputs + k), dot(at(dyp, (r + i) * outputs), at(w, k * outputs), outputs));
  }
  for (let r = blocked; r < rows; r++) backInputRow(at(dyp, r * outputs), w, at(dx, r * inputs), inputs, outputs);
}

/**
 * One row of `affineBackInput`: four inputs' dot products at a time, so each load of dy serves four rows of w and
 * four independent sums hide the addition's latency. Each sum is `dot`'s, in its order (the same bits).
 */
function backInputRow(dr: usize, w: usize, dxr: usize, inputs: i32, outputs: i32): void {
  const wStride = (<usize>outputs) * F;
  let k = 0;
  for (; k + 4 <= inputs; k += 4) {
    const w0 = at(w, k * outputs);
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    let j = 0;
    for (; j + 4 <= outputs; j += 4) {
      const off = (<usize>j) * F;
      const g = v128.load(dr + off);
      a0 = multiplyAdd(g, v128.load(w0 + off), a0);
      a1 = multiplyAdd(g, v128.load(w0 + wStride + off), a1);
      a2 = multiplyAdd(g, v128.load(w0 + 2 * wStride + off), a2);
      a3 = multiplyAdd(g, v128.load(w0 + 3 * wStride + off), a3);
    }
    store<f32>(at(dxr, k), withTail(lanesSum(a0), dr, w0, j, outputs));
    store<f32>(at(dxr, k + 1), withTail(lanesSum(a1), dr, w0 + wStride, j, outputs));
    store<f32>(at(dxr, k + 2), withTail(lanesSum(a2), dr, w0 + 2 * wStride, j, outputs));
    store<f32>(at(dxr, k + 3), withTail(lanesSum(a3), dr, w0 + 3 * wStride, j, outputs));
  }
  for (; k < inputs; k++) store<f32>(at(dxr, k), dot(dr, at(w, k * outputs), outputs));
}

/** dx for rows r…r+3 and inputs k, k+1: eight dot products over the outputs at once. */
function backInputTwo(dyp: usize, w: usize, dx: usize, r: i32, k: i32, inputs: i32, outputs: i32): void {
  const dStride = (<usize>outputs) * F;
  const d0 = at(dyp, r * outputs);
  const w0 = at(w, k * outputs);
  let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  let j = 0;
  for (; j + 4 <= outputs; j += 4) {
    const off = (<usize>j) * F;
    const v0 = v128.load(w0 + off), v1 = v128.load(w0 + dStride + off);
    const g0 = v128.load(d0 + off), g1 = v128.load(d0 + dStride + off), g2 = v128.load(d0 + 2 * dStride + off), g3 = v128.load(d0 + 3 * dStride + off);
    a00 = multiplyAdd(g0, v0, a00); a01 = multiplyAdd(g0, v1, a01);
    a10 = multiplyAdd(g1, v0, a10); a11 = multiplyAdd(g1, v1, a11);
    a20 = multiplyAdd(g2, v0, a20); a21 = multiplyAdd(g2, v1, a21);
    a30 = multiplyAdd(g3, v0, a30); a31 = multiplyAdd(g3, v1, a31);
  }
  const w1 = w0 + dStride;
  const dx0 = at(dx, r * inputs + k);
  const xStride = (<usize>inputs) * F;
  store<f32>(dx0, lanesSum(a00) + tail(d0, w0, j, outputs));
  store<f32>(dx0, lanesSum(a01) + tail(d0, w1, j, outputs), F);
  store<f32>(dx0 + xStride, lanesSum(a10) + tail(d0 + dStride, w0, j, outputs));
  store<f32>(dx0 + xStride, lanesSum(a11) + tail(d0 + dStride, w1, j, outputs), F);
  store<f32>(dx0 + 2 * xStride, lanesSum(a20) + tail(d0 + 2 * dStride, w0, j, outputs));
  store<f32>(dx0 + 2 * xStride, lanesSum(a21) + tail(d0 + 2 * dStride, w1, j, outputs), F);
  store<f32>(dx0 + 3 * xStride, lanesSum(a30) + tail(d0 + 3 * dStride, w0, j, outputs));
  store<f32>(dx0 + 3 * xStride, lanesSum(a31) + tail(d0 + 3 * dStride, w1, j, outputs), F);
}

/** total + a[from] b[from] + a[from + 1] b[from + 1] + …, added one at a time in that order, as `dot` adds its tail. */
@inline function withTail(total: f32, a: usize, b: usize, from: i32, count: i32): f32 {
  for (let j = from; j < count; j++) total += load<f32>(at(a, j)) * load<f32>(at(b, j));
  return total;
}

/** Σ_{j ≥ from} a[j] b[j]: the scalar tail of a dot product. */
@inline function tail(a: usize, b: usize, from: i32, count: i32): f32 {
  let s: f32 = 0;
  for (let j = from; j < count; j++) s += load<f32>(at(a, j)) * load<f32>(at(b, j));
  return s;
}

/** dw[k, j] += Σ_r x[r, k] dy[r, j]; db[j] += Σ_r dy[r, j]. */
export function affineBackWeights(x: usize, dyp: usize, dw: usize, db: usize, rows: i32, inputs: i32, outputs: i32): void {
  if (rows >= 4) {
    let k = 0;
    for (; k + 4 <= inputs; k += 4) backWeightsFour(x, dyp, dw, k, rows, inputs, outputs);
    for (; k < inputs; k++)
      for (let r = 0; r < rows; r++) {
        const xv = load<f32>(at(x, r * inputs + k));
        for (let j = 0; j < outputs; j++) store<f32>(at(dw, k * outputs + j), load<f32>(at(dw, k * outputs + j)) + xv * load<f32>(at(dyp, r * outputs + j)));
      }
    for (let r = 0; r < rows; r++) addFloats(db, at(dyp, r * outputs), outputs);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const dr = at(dyp, r * outputs);
    backWeightsRow(at(x, r * inputs), dr, dw, inputs, outputs);
    for (let j = 0; j < outputs; j++) store<f32>(at(db, j), load<f32>(at(db, j)) + load<f32>(at(dr, j)));
  }
}

/**
 * dw[k, ·] += x[k] dy for one row: sixteen columns of dy held in registers while k runs down dw, so each step loads
 * only dw. Each element gets the one addition it always got (the same bits).
 */
function backWeightsRow(xr: usize, dr: usize, dw: usize, inputs: i32, outputs: i32): void {
  const wStride = (<usize>outputs) * F;
  let j = 0;
  for (; j + 16 <= outputs; j += 16) {
    const g0 = v128.load(at(dr, j)), g1 = v128.load(at(dr, j), 16), g2 = v128.load(at(dr, j), 32), g3 = v128.load(at(dr, j), 48);
    let p = at(dw, j);
    for (let k = 0; k < inputs; k++) {
      const xv = load<f32>(at(xr, k));
      if (xv != 0) {
        const xs = f32x4.splat(xv);
        v128.store(p, multiplyAdd(xs, g0, v128.load(p)));
        v128.store(p, multiplyAdd(xs, g1, v128.load(p, 16)), 16);
        v128.store(p, multiplyAdd(xs, g2, v128.load(p, 32)), 32);
        v128.store(p, multiplyAdd(xs, g3, v128.load(p, 48)), 48);
      }
      p += wStride;
    }
  }
  for (; j + 4 <= outputs; j += 4) {
    const g = v128.load(at(dr, j));
    let p = at(dw, j);
    for (let k = 0; k < inputs; k++) {
      const xv = load<f32>(at(xr, k));
      if (xv != 0) v128.store(p, multiplyAdd(f32x4.splat(xv), g, v128.load(p)));
      p += wStride;
    }
  }
  for (; j < outputs; j++) {
    const g = load<f32>(at(dr, j));
    for (let k = 0; k < inputs; k++) {
      const xv = load<f32>(at(xr, k));
      if (xv != 0) store<f32>(at(dw, k * outputs + j), load<f32>(at(dw, k * outputs + j)) + xv * g);
    }
  }
}

/** dw rows k…k+3 += Σ_r x[r, k…k+3] dy[r, ·]: eight columns of four rows of dw in registers while r runs, then four. */
function backWeightsFour(x: usize, dyp: usize, dw: usize, k: i32, rows: i32, inputs: i32, outputs: i32): void {
  const wStride = (<usize>outputs) * F;
  const xStride = (<usize>inputs) * F;
  const dwk = at(dw, k * outputs);
  const xk = at(x, k);
  let j = 0;
  for (; j + 8 <= outputs; j += 8) addOuterFourByEight(at(dwk, j), wStride, xk, F, xStride, at(dyp, j), wStride, rows);
  for (; j + 4 <= outputs; j += 4) addOuterFourByFour(at(dwk, j), wStride, xk, F, xStride, at(dyp, j), wStride, rows);
  for (; j < outputs; j++)
    for (let i = 0; i < 4; i++) {
      let acc = load<f32>(at(dw, (k + i) * outputs + j));
      for (let r = 0; r < rows; r++) acc += load<f32>(at(x, r * inputs + k + i)) * load<f32>(at(dyp, r * outputs + j));
      store<f32>(at(dw, (k + i) * outputs + j), acc);
    }
}

@inline export function addFloats(target: usize, source: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(target, i), f32x4.add(v128.load(at(target, i)), v128.load(at(source, i))));
  for (; i < count; i++) store<f32>(at(target, i), load<f32>(at(target, i)) + load<f32>(at(source, i)));
}

/** Softmax of `count` floats at x into y (y may be x). */
function softmaxInto(x: usize, y: usize, count: i32, scale: f64): void {
  const vScale = f64x2.splat(scale);
  // The largest scale·x, four at a time (a maximum does not depend on the order it is taken in).
  let vLargest = f64x2.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(at(x, i));
    vLargest = f64x2.max(vLargest, f64x2.max(f64x2.mul(vScale, promoteLow(v)), f64x2.mul(vScale, promoteHigh(v))));
  }
  let largest = Math.max(f64x2.extract_lane(vLargest, 0), f64x2.extract_lane(vLargest, 1));
  for (; i < count; i++) largest = Math.max(largest, scale * <f64>load<f32>(at(x, i)));
  // e^(scale·x − largest) four at a time (the argument in f64, rounded to f32), their sum in order as they come.
  vLargest = f64x2.splat(largest);
  let total: f64 = 0;
  i = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(at(x, i));
    const low = f64x2.sub(f64x2.mul(vScale, promoteLow(v)), vLargest);
    const high = f64x2.sub(f64x2.mul(vScale, promoteHigh(v)), vLargest);
    const e = exp4(demoteFour(low, high));
    v128.store(at(y, i), e);
    total += <f64>f32x4.extract_lane(e, 0);
    total += <f64>f32x4.extract_lane(e, 1);
    total += <f64>f32x4.extract_lane(e, 2);
    total += <f64>f32x4.extract_lane(e, 3);
  }
  for (; i < count; i++) {
    const e = f32x4.extract_lane(exp4(f32x4.splat(<f32>(scale * <f64>load<f32>(at(x, i)) - largest))), 0);
    store<f32>(at(y, i), e);
    total += <f64>e;
  }
  // Each e / Σ in f64, four at a time.
  const vTotal = f64x2.splat(total);
  i = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(at(y, i));
    v128.store(at(y, i), demoteFour(f64x2.div(promoteLow(v), vTotal), f64x2.div(promoteHigh(v), vTotal)));
  }
  for (; i < count; i++) store<f32>(at(y, i), <f32>(<f64>load<f32>(at(y, i)) / total));
}

/**
 * The LSTM cell (gate order i, f, g, o) from its pre-activations z `[B, 4H]` and c_{t−1}: h_t and c_t, and per unit
 * the gates and tanh c_t `[B, 5H]` that {@link lstmCellBackward} reads.
 */
export function lstmCellForward(z: usize, cPrev: usize, hNow: usize, cNow: usize, gates: usize, B: i32, H: i32): void {
  for (let b = 0; b < B; b++) {
    const zb = b * 4 * H;
    let j = 0;
    // Four units at a time; the rest one by one with the same four-lane functions.
    for (; j + 4 <= H; j += 4) {
      const ig = sigmoid4(v128.load(at(z, zb + j)));
      const fg = sigmoid4(v128.load(at(z, zb + H + j)));
      const gg = tanh4(v128.load(at(z, zb + 2 * H + j)));
      const og = sigmoid4(v128.load(at(z, zb + 3 * H + j)));
      const cNext = f32x4.add(f32x4.mul(fg, v128.load(at(cPrev, b * H + j))), f32x4.mul(ig, gg));
      const tanhC = tanh4(cNext);
      v128.store(at(cNow, b * H + j), cNext);
      v128.store(at(hNow, b * H + j), f32x4.mul(og, tanhC));
      const gb = at(gates, b * 5 * H + j);
      v128.store(gb, ig);
      v128.store(at(gb, H), fg);
      v128.store(at(gb, 2 * H), gg);
      v128.store(at(gb, 3 * H), og);
      v128.store(at(gb, 4 * H), tanhC);
    }
    for (; j < H; j++) {
      const ig = sigmoid32(load<f32>(at(z, zb + j)));
      const fg = sigmoid32(load<f32>(at(z, zb + H + j)));
      const gg = tanh32(load<f32>(at(z, zb + 2 * H + j)));
      const og = sigmoid32(load<f32>(at(z, zb + 3 * H + j)));
      const cNext = fg * load<f32>(at(cPrev, b * H + j)) + ig * gg;
      const tanhC = tanh32(cNext);
      store<f32>(at(cNow, b * H + j), cNext);
      store<f32>(at(hNow, b * H + j), og * tanhC);
      const gb = at(gates, b * 5 * H + j);
      store<f32>(gb, ig);
      store<f32>(at(gb, H), fg);
      store<f32>(at(gb, 2 * H), gg);
      store<f32>(at(gb, 3 * H), og);
      store<f32>(at(gb, 4 * H), tanhC);
    }
  }
}

/** Backward of {@link lstmCellForward} from dh_t and dc_t: dz `[B, 4H]` and dc_{t−1} `[B, H]`. */
export function lstmCellBackward(gates: usize, cPrev: usize, dh: usize, dc: usize, dz: usize, dcPrev: usize, B: i32, H: i32): void {
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const zb = b * 4 * H;
      const gb = at(gates, b * 5 * H + j);
      const ig = load<f32>(gb);
      const fg = load<f32>(at(gb, H));
      const gg = load<f32>(at(gb, 2 * H));
      const og = load<f32>(at(gb, 3 * H));
      const tanhC = load<f32>(at(gb, 4 * H));
      const dhv = load<f32>(at(dh, b * H + j));
      const dcv = load<f32>(at(dc, b * H + j)) + dhv * og * (1 - tanhC * tanhC);
      store<f32>(at(dz, zb + j), dcv * gg * ig * (1 - ig));
      store<f32>(at(dz, zb + H + j), dcv * load<f32>(at(cPrev, b * H + j)) * fg * (1 - fg));
      store<f32>(at(dz, zb + 2 * H + j), dcv * ig * (1 - gg * gg));
      store<f32>(at(dz, zb + 3 * H + j), dhv * tanhC * og * (1 - og));
      store<f32>(at(dcPrev, b * H + j), dcv * fg);
    }
  }
}

/**
 * One sequence forward and backward. `weights` in the layout above; `inputs` [T, B, I], `targets` [T, B, O] and
 * `mask` [T, B], time-major; `out` receives the gradients (the weights' layout) then the loss and the wrong bits.
 * `scale` divides the summed loss (1 / sequences); `clip` bounds the heads' raw parameters (0: none). Without
 * `gradients`, only the forward pass runs (the loss and the wrong bits; the gradients stay zero).
 */
export function ntmSequence(
  weights: usize,
  inputs: usize,
  targets: usize,
  mask: usize,
  out: usize,
  batch: i32,
  steps: i32,
  inputSize: i32,
  outputSize: i32,
  hidden: i32,
  layers: i32,
  slots: i32,
  width: i32,
  reads: i32,
  writes: i32,
  shifts: i32,
  clip: f32,
  scale: f64,
  gradients: bool,
  temp: usize,
): void {
  setSizes(batch, steps, inputSize, outputSize, hidden, layers, slots, width, reads, writes, shifts);
  ring = !gradients;
  const count = parameterOffsets();
  plan(temp);
  memory.fill(out, 0, (<usize>(count + 2)) * F);
  const wOut = at(weights, pOutW);
  const wHead = at(weights, pHeadW);

  // The initial state.
  for (let b = 0; b < B; b++) memory.copy(at(initialMemory, b * N * M), at(weights, pMemory), (<usize>(N * M)) * F);
  for (let h = 0; h < R + W; h++) {
    const row = at(initialWeightings, h * B * N);
    softmaxInto(at(weights, pFocus + h * N), row, N, 1);
    for (let b = 1; b < B; b++) memory.copy(at(row, b * N), row, (<usize>N) * F);
  }
  for (let r = 0; r < R; r++) for (let b = 0; b < B; b++) memory.copy(at(initialReads, (r * B + b) * M), at(weights, pReads + r * M), (<usize>M) * F);
  memory.fill(zeroState, 0, (<usize>(B * H)) * F);
  memory.fill(none, 0, (<usize>(B * M)) * F);

  let loss: f64 = 0;
  let wrong: i32 = 0;
  for (let t = 0; t < T; t++) {
    const memoryBefore = t == 0 ? initialMemory : stepAt(t - 1, oMemories + (<usize>((passes - 1) * B * N * M)) * F);
    // The controller: layer 0 reads [x_t, r_{t−1}], each layer [input, h_{t−1}].
    for (let l = 0; l < L; l++) {
      const inW = inputWidth(l);
      const joined = stepAt(t, entry(oJoined, l));
      const hPrev = t == 0 ? zeroState : stepAt(t - 1, entry(oH, l));
      const cPrev = t == 0 ? zeroState : stepAt(t - 1, entry(oC, l));
      for (let b = 0; b < B; b++) {
        const row = at(joined, b * (inW + H));
        if (l == 0) {
          memory.copy(row, at(inputs, (t * B + b) * I), (<usize>I) * F);
          for (let r = 0; r < R; r++) {
            const source = t == 0 ? at(initialReads, (r * B + b) * M) : at(stepAt(t - 1, oReads), (r * B + b) * M);
            memory.copy(at(row, I + r * M), source, (<usize>M) * F);
          }
        } else {
          memory.copy(row, at(stepAt(t, entry(oH, l - 1)), b * H), (<usize>H) * F);
        }
        memory.copy(at(row, inW), at(hPrev, b * H), (<usize>H) * F);
      }
      const z = stepAt(t, entry(oZ, l));
      affine(joined, at(weights, <i32>entry(pLayerW, l)), at(weights, <i32>entry(pLayerB, l)), z, B, inW + H, 4 * H);
      lstmCellForward(z, cPrev, stepAt(t, entry(oH, l)), stepAt(t, entry(oC, l)), stepAt(t, entry(oGates, l)), B, H);
    }
    const top = stepAt(t, entry(oH, L - 1));
    const raw = stepAt(t, oRaw);
    affine(top, wHead, at(weights, pHeadB), raw, B, H, P);
    memory.copy(stepAt(t, oUnclipped), raw, (<usize>(B * P)) * F);
    if (clip > 0) for (let i = 0; i < B * P; i++) store<f32>(at(raw, i), Mathf.min(Mathf.max(load<f32>(at(raw, i)), -clip), clip));

    // Heads: constrain, content and location addressing against the memory before the write.
    let offset = 0;
    for (let h = 0; h < R + W; h++) {
      const key = stepAt(t, entry(oKey, h));
      const strength = stepAt(t, entry(oStrength, h));
      const gate = stepAt(t, entry(oGate, h));
      const shift = stepAt(t, entry(oShift, h));
      const sharp = stepAt(t, entry(oSharp, h));
      for (let b = 0; b < B; b++) {
        const row = at(raw, b * P + offset);
        memory.copy(at(key, b * M), row, (<usize>M) * F);
        store<f32>(at(strength, b), <f32>softplus(<f64>load<f32>(at(row, M))));
        store<f32>(at(gate, b), <f32>sigmoid(<f64>load<f32>(at(row, M + 1))));
        softmaxInto(at(row, M + 2), at(shift, b * S), S, 1);
        store<f32>(at(sharp, b), <f32>(softplus(<f64>load<f32>(at(row, M + 2 + S))) + 1));
        if (h >= R) {
          const erase = stepAt(t, entry(oErase, h));
          const add = stepAt(t, entry(oAdd, h));
          for (let j = 0; j < M; j++) store<f32>(at(erase, b * M + j), <f32>sigmoid(<f64>load<f32>(at(row, M + 3 + S + j))));
          memory.copy(at(add, b * M), at(row, 2 * M + 3 + S), (<usize>M) * F);
        }
      }
      const sim = stepAt(t, entry(oSim, h));
      const content = stepAt(t, entry(oContent, h));
      rowCosineKeeping(memoryBefore, key, sim, stepAt(t, entry(oNorms, h)), B, N, M, COSINE_EPSILON);
      for (let b = 0; b < B; b++) softmaxInto(at(sim, b * N), at(content, b * N), N, <f64>load<f32>(at(strength, b)));
      const previous = t == 0 ? at(initialWeightings, h * B * N) : stepAt(t - 1, entry(oWeighting, h));
      if (ring) locationAddress(content, previous, gate, shift, sharp, stepAt(t, entry(oWeighting, h)), B, N, S, SHARPEN_EPSILON, locationTemp);
      else locationAddressKept(content, previous, gate, shift, sharp, stepAt(t, entry(oWeighting, h)), B, N, S, SHARPEN_EPSILON, stepAt(t, entry(oLocation, h)));
      offset += headSize(h);
    }
    // Reads (memory before the write), then the write passes.
    for (let r = 0; r < R; r++) {
      const w = stepAt(t, entry(oWeighting, r));
      const read = at(stepAt(t, oReads), r * B * M);
      memory.fill(read, 0, (<usize>(B * M)) * F);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < N; i++) {
          const wi = f32x4.splat(load<f32>(at(w, b * N + i)));
          const rowM = at(memoryBefore, (b * N + i) * M);
          const dst = at(read, b * M);
          let j = 0;
          for (; j + 4 <= M; j += 4) v128.store(at(dst, j), multiplyAdd(wi, v128.load(at(rowM, j)), v128.load(at(dst, j))));
          const ws = load<f32>(at(w, b * N + i));
          for (; j < M; j++) store<f32>(at(dst, j), load<f32>(at(dst, j)) + ws * load<f32>(at(rowM, j)));
        }
      }
    }
    let source = memoryBefore;
    for (let p = 0; p < passes; p++) {
      const h = R + (W == 1 ? 0 : p % W);
      const erase = W == 1 || p < W ? stepAt(t, entry(oErase, h)) : none;
      const add = W == 1 || p >= W ? stepAt(t, entry(oAdd, h)) : none;
      const target = stepAt(t, oMemories + (<usize>(p * B * N * M)) * F);
      memoryWrite(source, stepAt(t, entry(oWeighting, h)), erase, add, target, B, N, M);
      source = target;
    }
    // The output on scored steps, and the loss.
    let scored = false;
    for (let b = 0; b < B; b++) if (load<f32>(at(mask, t * B + b)) != 0) scored = true;
    if (scored) {
      const outIn = stepAt(t, oOutIn);
      for (let b = 0; b < B; b++) {
        memory.copy(at(outIn, b * (H + R * M)), at(top, b * H), (<usize>H) * F);
        for (let r = 0; r < R; r++) memory.copy(at(outIn, b * (H + R * M) + H + r * M), at(stepAt(t, oReads), (r * B + b) * M), (<usize>M) * F);
      }
      const logits = stepAt(t, oLogits);
      affine(outIn, wOut, at(weights, pOutB), logits, B, H + R * M, O);
      for (let b = 0; b < B; b++) {
        const m = <f64>load<f32>(at(mask, t * B + b));
        if (m == 0) continue;
        for (let j = 0; j < O; j++) {
          const x = <f64>load<f32>(at(logits, b * O + j));
          const target = <f64>load<f32>(at(targets, (t * B + b) * O + j));
          loss += m * (Math.max(x, 0) - x * target + Math.log1p(Math.exp(-Math.abs(x))));
          if ((x > 0 ? 1.0 : 0.0) != target) wrong++;
        }
      }
    }
  }

  if (!gradients) {
    store<f32>(at(out, count), <f32>(loss * scale));
    store<f32>(at(out, count + 1), <f32>wrong);
    return;
  }

  // Backward through time; carried: the gradients of the state after step t.
  memory.fill(dMemory, 0, (<usize>(B * N * M)) * F);
  memory.fill(dPrevious, 0, (<usize>((R + W) * B * N)) * F);
  memory.fill(dReads, 0, (<usize>(R * B * M)) * F);
  memory.fill(dH, 0, (<usize>(L * B * H)) * F);
  memory.fill(dC, 0, (<usize>(L * B * H)) * F);
  for (let t = T - 1; t >= 0; t--) {
    const memoryBefore = t == 0 ? initialMemory : stepAt(t - 1, oMemories + (<usize>((passes - 1) * B * N * M)) * F);
    const top = stepAt(t, entry(oH, L - 1));
    const dTop = at(dH, (L - 1) * B * H);
    const row = (T - 1 - t) * B; // this step's first row in the deferred products
    const dRawNow = deferred() ? at(dRawRows, row * P) : dRaw;
    let scored = false;
    for (let b = 0; b < B; b++) if (load<f32>(at(mask, t * B + b)) != 0) scored = true;
    if (scored) {
      const logits = stepAt(t, oLogits);
      for (let b = 0; b < B; b++) {
        const m = <f64>load<f32>(at(mask, t * B + b));
        for (let j = 0; j < O; j++) {
          const g = m == 0 ? 0 : m * (sigmoid(<f64>load<f32>(at(logits, b * O + j))) - <f64>load<f32>(at(targets, (t * B + b) * O + j))) * scale;
          store<f32>(at(dy, b * O + j), <f32>g);
        }
      }
      affineBackWeights(stepAt(t, oOutIn), dy, at(out, pOutW), at(out, pOutB), B, H + R * M, O);
      affineBackInput(dy, wOut, dOutIn, B, H + R * M, O);
      for (let b = 0; b < B; b++) {
        addFloats(at(dTop, b * H), at(dOutIn, b * (H + R * M)), H);
        for (let r = 0; r < R; r++) addFloats(at(dReads, (r * B + b) * M), at(dOutIn, b * (H + R * M) + H + r * M), M);
      }
    }
    // The write passes, last first: dMemory becomes the gradient of the memory before the write.
    memory.fill(dErase, 0, (<usize>(W * B * M)) * F);
    memory.fill(dAdd, 0, (<usize>(W * B * M)) * F);
    for (let p = passes - 1; p >= 0; p--) {
      const w = W == 1 ? 0 : p % W;
      const h = R + w;
      const isErase = W == 1 || p < W;
      const isAdd = W == 1 || p >= W;
      const erase = isErase ? stepAt(t, entry(oErase, h)) : none;
      const add = isAdd ? stepAt(t, entry(oAdd, h)) : none;
      const input = p == 0 ? memoryBefore : stepAt(t, oMemories + (<usize>((p - 1) * B * N * M)) * F);
      memoryWriteBackward(input, stepAt(t, entry(oWeighting, h)), erase, add, dMemory, dMemory, B, N, M);
      addFloats(at(dPrevious, h * B * N), at(dMemory, B * N * M), B * N);
      if (isErase) addFloats(at(dErase, w * B * M), at(dMemory, B * N * M + B * N), B * M);
      if (isAdd) addFloats(at(dAdd, w * B * M), at(dMemory, B * N * M + B * N + B * M), B * M);
    }
    // The reads, against the memory before the write: dw(i) += dr·M(i) and dM(i) += w(i)·dr.
    for (let r = 0; r < R; r++) {
      const w = stepAt(t, entry(oWeighting, r));
      const d = at(dReads, r * B * M);
      const dw = at(dPrevious, r * B * N);
      for (let b = 0; b < B; b++) readBackward(at(memoryBefore, b * N * M), at(w, b * N), at(d, b * M), at(dMemory, b * N * M), at(dw, b * N));
    }
    // Each head: location, then content addressing, then the constraints into dRaw.
    const raw = stepAt(t, oRaw);
    let offset = 0;
    for (let h = 0; h < R + W; h++) {
      const content = stepAt(t, entry(oContent, h));
      const gate = stepAt(t, entry(oGate, h));
      const shift = stepAt(t, entry(oShift, h));
      const sharp = stepAt(t, entry(oSharp, h));
      const strength = stepAt(t, entry(oStrength, h));
      const sim = stepAt(t, entry(oSim, h));
      const previous = t == 0 ? at(initialWeightings, h * B * N) : stepAt(t - 1, entry(oWeighting, h));
      locationAddressBackwardKept(content, previous, gate, shift, sharp, at(dPrevious, h * B * N), locationBack, B, N, S, SHARPEN_EPSILON, stepAt(t, entry(oLocation, h)));
      memory.copy(at(dPreviousNext, h * B * N), at(locationBack, B * N), (<usize>(B * N)) * F);
      const dg = at(locationBack, 2 * B * N);
      const ds = at(dg, B);
      const dGamma = at(ds, B * S);
      for (let b = 0; b < B; b++) {
        let dot: f64 = 0;
        for (let i = 0; i < N; i++) dot += <f64>load<f32>(at(locationBack, b * N + i)) * <f64>load<f32>(at(content, b * N + i));
        const beta = <f64>load<f32>(at(strength, b));
        let db: f64 = 0;
        for (let i = 0; i < N; i++) {
          const dLogit = <f64>load<f32>(at(content, b * N + i)) * (<f64>load<f32>(at(locationBack, b * N + i)) - dot);
          db += dLogit * <f64>load<f32>(at(sim, b * N + i));
          store<f32>(at(dSim, b * N + i), <f32>(dLogit * beta));
        }
        store<f32>(at(dStrength, b), <f32>db);
      }
      rowCosineBackwardKept(memoryBefore, stepAt(t, entry(oKey, h)), dSim, sim, stepAt(t, entry(oNorms, h)), dMemory, cosineBack, B, N, M, COSINE_EPSILON);
      for (let b = 0; b < B; b++) {
        const row = b * P + offset;
        memory.copy(at(dRawNow, row), at(cosineBack, b * M), (<usize>M) * F);
        store<f32>(at(dRawNow, row + M), <f32>(<f64>load<f32>(at(dStrength, b)) * sigmoid(<f64>load<f32>(at(raw, row + M)))));
        const g = <f64>load<f32>(at(gate, b));
        store<f32>(at(dRawNow, row + M + 1), <f32>(<f64>load<f32>(at(dg, b)) * g * (1 - g)));
        let sdot: f64 = 0;
        for (let k = 0; k < S; k++) sdot += <f64>load<f32>(at(ds, b * S + k)) * <f64>load<f32>(at(shift, b * S + k));
        for (let k = 0; k < S; k++)
          store<f32>(at(dRawNow, row + M + 2 + k), <f32>(<f64>load<f32>(at(shift, b * S + k)) * (<f64>load<f32>(at(ds, b * S + k)) - sdot)));
        store<f32>(at(dRawNow, row + M + 2 + S), <f32>(<f64>load<f32>(at(dGamma, b)) * sigmoid(<f64>load<f32>(at(raw, row + M + 2 + S)))));
        if (h >= R) {
          const erase = stepAt(t, entry(oErase, h));
          const w = h - R;
          for (let j = 0; j < M; j++) {
            const ej = <f64>load<f32>(at(erase, b * M + j));
            store<f32>(at(dRawNow, row + M + 3 + S + j), <f32>(<f64>load<f32>(at(dErase, (w * B + b) * M + j)) * ej * (1 - ej)));
            store<f32>(at(dRawNow, row + 2 * M + 3 + S + j), load<f32>(at(dAdd, (w * B + b) * M + j)));
          }
        }
      }
      offset += headSize(h);
    }
    if (clip > 0) {
      const unclipped = stepAt(t, oUnclipped);
      for (let i = 0; i < B * P; i++) {
        const v = load<f32>(at(unclipped, i));
        if (v < -clip || v > clip) store<f32>(at(dRawNow, i), 0);
      }
    }
    if (deferred()) memory.copy(at(topRows, row * H), top, (<usize>(B * H)) * F);
    else affineBackWeights(top, dRawNow, at(out, pHeadW), at(out, pHeadB), B, H, P);
    affineBackInput(dRawNow, wHead, dOutIn, B, H, P);
    addFloats(dTop, dOutIn, B * H);
    // The LSTM, top layer first; dH[l] and dC[l] hold the gradients of h_t and c_t.
    for (let l = L - 1; l >= 0; l--) {
      const inW = inputWidth(l);
      const cPrev = t == 0 ? zeroState : stepAt(t - 1, entry(oC, l));
      const gates = stepAt(t, entry(oGates, l));
      const dh = at(dH, l * B * H);
      const dc = at(dC, l * B * H);
      const dz = deferred() ? at(entry(dzRows, l), row * 4 * H) : cellBack;
      lstmCellBackward(gates, cPrev, dh, dc, dz, at(dCNext, l * B * H), B, H);
      const joined = stepAt(t, entry(oJoined, l));
      if (deferred()) memory.copy(at(entry(xRows, l), row * (inW + H)), joined, (<usize>(B * (inW + H))) * F);
      else affineBackWeights(joined, dz, at(out, <i32>entry(pLayerW, l)), at(out, <i32>entry(pLayerB, l)), B, inW + H, 4 * H);
      affineBackInput(dz, at(weights, <i32>entry(pLayerW, l)), dJoined, B, inW + H, 4 * H);
      for (let b = 0; b < B; b++) {
        memory.copy(at(dHNext, l * B * H + b * H), at(dJoined, b * (inW + H) + inW), (<usize>H) * F);
        if (l > 0) addFloats(at(dH, (l - 1) * B * H + b * H), at(dJoined, b * (inW + H)), H);
        else for (let r = 0; r < R; r++) memory.copy(at(dReadsNext, (r * B + b) * M), at(dJoined, b * (inW + H) + I + r * M), (<usize>M) * F);
      }
    }
    // Swap the carried gradients to the state after step t − 1.
    memory.copy(dH, dHNext, (<usize>(L * B * H)) * F);
    memory.copy(dC, dCNext, (<usize>(L * B * H)) * F);
    memory.copy(dPrevious, dPreviousNext, (<usize>((R + W) * B * N)) * F);
    memory.copy(dReads, dReadsNext, (<usize>(R * B * M)) * F);
  }

  if (deferred()) {
    for (let l = 0; l < L; l++)
      affineBackWeights(entry(xRows, l), entry(dzRows, l), at(out, <i32>entry(pLayerW, l)), at(out, <i32>entry(pLayerB, l)), T * B, inputWidth(l) + H, 4 * H);
    affineBackWeights(topRows, dRawRows, at(out, pHeadW), at(out, pHeadB), T * B, H, P);
  }

  // The learned initial state: reads, weightings through their softmax, memory.
  for (let r = 0; r < R; r++)
    for (let b = 0; b < B; b++) addFloats(at(out, pReads + r * M), at(dReads, (r * B + b) * M), M);
  for (let h = 0; h < R + W; h++) {
    const w = at(initialWeightings, h * B * N);
    const d = at(out, pFocus + h * N);
    for (let b = 0; b < B; b++) addFloats(d, at(dPrevious, (h * B + b) * N), N);
    let dot: f64 = 0;
    for (let i = 0; i < N; i++) dot += <f64>load<f32>(at(d, i)) * <f64>load<f32>(at(w, i));
    for (let i = 0; i < N; i++) store<f32>(at(d, i), <f32>(<f64>load<f32>(at(w, i)) * (<f64>load<f32>(at(d, i)) - dot)));
  }
  for (let b = 0; b < B; b++) addFloats(at(out, pMemory), at(dMemory, b * N * M), N * M);
  store<f32>(at(out, count), <f32>(loss * scale));
  store<f32>(at(out, count + 1), <f32>wrong);
}
