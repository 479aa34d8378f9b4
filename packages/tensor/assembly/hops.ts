// WebAssembly SIMD version of @engram/tensor's fused memory hops (End-to-End Memory Networks with
// layer-wise tying, §2.2, and the language model's half-ReLU layers, §5) and their backward. Same
// arithmetic as src/cpu/reference-kernels.ts, summed in another order. One example at a time
// through all K hops, so its two memories (slots·width floats each) stay in cache across the hops.
//
// The products are register-blocked: scores and the backward's c_i·do four slots at a time
// (`rowDots`), the reads Σ_i p_i c_i, Σ_i ds_i m_i and uH sixteen columns at a time (`combineRows`).
// The memories' gradients are not added hop by hop: each hop keeps its ds (slots) and do (width),
// and after the K hops dm_i = Σ_k ds_i^k u^k and dc_i = Σ_k p_i^k do^k are formed once per slot.
// dH = Σ (u^k)ᵀ dz^k over every hop and example is one matrix product at the end.
//
// The bag forms build each example's two memories from the embedding tables in scratch memory and
// add their gradients straight into the tables' gradients: no [batch, slots, width] array at all.

import { F, at } from './pointers';
import { dot, lanesSum, normalizeScores } from './attention';
import { bagAccumulate, embeddingBag } from './embedding';
import { multiplyAdd, multiplyPacked, pack, packBytes } from './matmul';

/** `floats` rounded up to whole v128s. */
@inline function lanes(floats: i32): i32 {
  return (floats + 3) & ~3;
}

/**
 * out(j) (+)= Σ_r x(r)·M(r, j) for j < width and r < n: x's element r at x + r·xStride floats, M's row r at
 * m + r·rowStride floats. Sixteen columns at a time stay in registers while the rows stream past.
 */
function combineRows(out: usize, x: usize, xStride: i32, m: usize, rowStride: i32, n: i32, width: i32, accumulate: bool): void {
  const xs = (<usize>xStride) * F;
  const ms = (<usize>rowStride) * F;
  let j = 0;
  for (; j + 16 <= width; j += 16) {
    const po = at(out, j);
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    if (accumulate) {
      a0 = v128.load(po);
      a1 = v128.load(po, 16);
      a2 = v128.load(po, 32);
      a3 = v128.load(po, 48);
    }
    let px = x;
    let pm = at(m, j);
    for (let r = 0; r < n; r++) {
      const s = v128.load32_splat(px);
      a0 = multiplyAdd(s, v128.load(pm), a0);
      a1 = multiplyAdd(s, v128.load(pm, 16), a1);
      a2 = multiplyAdd(s, v128.load(pm, 32), a2);
      a3 = multiplyAdd(s, v128.load(pm, 48), a3);
      px += xs;
      pm += ms;
    }
    v128.store(po, a0);
    v128.store(po, a1, 16);
    v128.store(po, a2, 32);
    v128.store(po, a3, 48);
  }
  for (; j + 4 <= width; j += 4) {
    const po = at(out, j);
    let a = accumulate ? v128.load(po) : f32x4.splat(0);
    let px = x;
    let pm = at(m, j);
    for (let r = 0; r < n; r++) {
      a = multiplyAdd(v128.load32_splat(px), v128.load(pm), a);
      px += xs;
      pm += ms;
    }
    v128.store(po, a);
  }
  for (; j < width; j++) {
    let a: f32 = accumulate ? load<f32>(at(out, j)) : 0;
    for (let r = 0; r < n; r++) a += load<f32>(at(x, r * xStride)) * load<f32>(at(m, r * rowStride + j));
    store<f32>(at(out, j), a);
  }
}

/** out(r) = M(r)·x for the n rows of M (row r at m + r·width floats), four rows at a time sharing each load of x. */
function rowDots(out: usize, m: usize, x: usize, n: i32, width: i32): void {
  const row = (<usize>width) * F;
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const p0 = at(m, r * width);
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let k = 0;
    for (; k + 4 <= width; k += 4) {
      const off = (<usize>k) * F;
      const xv = v128.load(x + off);
      a0 = multiplyAdd(v128.load(p0 + off), xv, a0);
      a1 = multiplyAdd(v128.load(p0 + row + off), xv, a1);
      a2 = multiplyAdd(v128.load(p0 + 2 * row + off), xv, a2);
      a3 = multiplyAdd(v128.load(p0 + 3 * row + off), xv, a3);
    }
    let s0 = lanesSum(a0), s1 = lanesSum(a1), s2 = lanesSum(a2), s3 = lanesSum(a3);
    for (; k < width; k++) {
      const xk = load<f32>(at(x, k));
      s0 += load<f32>(at(p0, k)) * xk;
      s1 += load<f32>(at(p0 + row, k)) * xk;
      s2 += load<f32>(at(p0 + 2 * row, k)) * xk;
      s3 += load<f32>(at(p0 + 3 * row, k)) * xk;
    }
    store<f32>(at(out, r), s0);
    store<f32>(at(out, r + 1), s1);
    store<f32>(at(out, r + 2), s2);
    store<f32>(at(out, r + 3), s3);
  }
  for (; r < n; r++) store<f32>(at(out, r), dot(at(m, r * width), x, width));
}

/** p = softmax over the real slots of m_iᵀu (or m_iᵀu·mask_i for linear start), written at `p`: scores four slots at a time. */
function hopScores(m: usize, u: usize, mask: usize, p: usize, slots: i32, width: i32, normalize: bool): void {
  rowDots(p, m, u, slots, width);
  normalizeScores(p, mask, slots, normalize);
}

/**
 * The K hops of example b, written into `out` at the memoryHops layout. Hop k reads m at mBase + k·stride and c
 * at cBase + k·stride (floats; stride 0: the same memories at every hop). With `hop` 0 there is no H:
 * u^{k+1} = act(u^k + o^k).
 */
function hopsOne(
  mBase: usize,
  cBase: usize,
  stride: i32,
  maskb: usize,
  hop: usize,
  out: usize,
  b: i32,
  batch: i32,
  slots: i32,
  width: i32,
  hops: i32,
  linearUnits: i32,
  normalize: bool,
): void {
  const pBase = (hops + 1) * batch * width;
  const oBase = pBase + hops * batch * slots;
  for (let k = 0; k < hops; k++) {
    const mb = at(mBase, k * stride);
    const cb = at(cBase, k * stride);
    const uk = at(out, (k * batch + b) * width);
    const next = at(out, ((k + 1) * batch + b) * width);
    const p = at(out, pBase + (k * batch + b) * slots);
    const o = at(out, oBase + (k * batch + b) * width);
    hopScores(mb, uk, maskb, p, slots, width, normalize);
    // oᵏ = Σ_i p_i c_i; z = uᵏH + oᵏ (uᵏ + oᵏ without H), then the ReLU on the units from linearUnits on.
    combineRows(o, p, 1, cb, width, slots, width, false);
    if (hop != 0) combineRows(next, uk, 1, hop, width, width, width, false);
    else memory.copy(next, uk, (<usize>width) * F);
    for (let j = 0; j < width; j++) {
      const z = load<f32>(at(next, j)) + load<f32>(at(o, j));
      store<f32>(at(next, j), j >= linearUnits && z < 0 ? 0 : z);
    }
  }
}

/** Zeroes the forward layout and copies u¹ in. */
function startHops(u: usize, out: usize, batch: i32, slots: i32, width: i32, hops: i32): void {
  const length = (hops + 1) * batch * width + hops * batch * slots + hops * batch * width;
  memory.fill(out, 0, (<usize>length) * F);
  memory.copy(out, u, (<usize>(batch * width)) * F);
}

/** out = [u¹…u^{K+1} (K+1)·batch·width, p (K·batch·slots), o (K·batch·width)]. */
export function memoryHops(
  m: usize,
  c: usize,
  u: usize,
  mask: usize,
  hop: usize,
  out: usize,
  batch: i32,
  slots: i32,
  width: i32,
  hops: i32,
  linearUnits: i32,
  normalize: bool,
): void {
  startHops(u, out, batch, slots, width, hops);
  for (let b = 0; b < batch; b++) {
    hopsOne(at(m, b * slots * width), at(c, b * slots * width), 0, at(mask, b * slots), hop, out, b, batch, slots, width, hops, linearUnits, normalize);
  }
}

/** Memory encodings per example: two with layer-wise tying, K + 1 with adjacent. */
@inline function encodingCount(hops: i32, adjacent: bool): i32 {
  return adjacent ? hops + 1 : 2;
}

/** Builds example b's encodings at `encodings` (slots·width floats each): encoding t from table t (input, then the output tables). */
function buildEncodings(
  input: usize,
  output: usize,
  indices: usize,
  weights: usize,
  weightIndices: usize,
  encodings: usize,
  b: i32,
  rows: i32,
  slots: i32,
  words: i32,
  width: i32,
  count: i32,
): void {
  const item = b * slots * words;
  for (let t = 0; t < count; t++) {
    const table = t == 0 ? input : at(output, (t - 1) * rows * width);
    embeddingBag(table, at(indices, item), weights, at(weightIndices, item), at(encodings, t * slots * width), slots, words, width);
  }
}

/**
 * memoryHops over memories given as bags of table rows: example b's encodings built in `temp` from the input
 * table and the output table(s), then its hops. Layer-wise: m from `input`, c from `output`, u^{k+1} =
 * act(u^k H + o^k). Adjacent: `output` holds E_1…E_K, hop k reads encodings k and k + 1, no H.
 */
export function bagMemoryHops(
  input: usize,
  output: usize,
  indices: usize,
  weights: usize,
  weightIndices: usize,
  u: usize,
  mask: usize,
  hop: usize,
  out: usize,
  rows: i32,
  batch: i32,
  slots: i32,
  words: i32,
  width: i32,
  hops: i32,
  linearUnits: i32,
  normalize: bool,
  adjacent: bool,
  temp: usize,
): void {
  startHops(u, out, batch, slots, width, hops);
  const cells = slots * width;
  const count = encodingCount(hops, adjacent);
  for (let b = 0; b < batch; b++) {
    buildEncodings(input, output, indices, weights, weightIndices, temp, b, rows, slots, words, width, count);
    hopsOne(temp, at(temp, cells), adjacent ? cells : 0, at(mask, b * slots), adjacent ? 0 : hop, out, b, batch, slots, width, hops, linearUnits, normalize);
  }
}

/** Bytes of scratch bagMemoryHops needs. */
export function bagMemoryHopsTempBytes(slots: i32, width: i32, hops: i32, adjacent: bool): i32 {
  return encodingCount(hops, adjacent) * slots * width * 4;
}

/** Floats of the backward's scratch besides the memories: per example g, dz, dp, ds (K·slots), do (K·width) and one encoding-gradient row; dz of every hop and example; B packed for dH. */
function backwardScratchFloats(batch: i32, slots: i32, width: i32, hops: i32): i32 {
  return 3 * lanes(width) + lanes(slots) + lanes(hops * slots) + lanes(hops * width) + lanes(hops * batch * width) + packBytes(hops * batch, width) / 4;
}

// Where the backward's scratch pieces start (globals, set by layoutScratch: the stub runtime never frees an object).
let sG: usize = 0;
let sDz: usize = 0;
let sDp: usize = 0;
let sDs: usize = 0;
let sGo: usize = 0;
let sDmRow: usize = 0;
let sDzAll: usize = 0;
let sPacked: usize = 0;

/** Lays the backward's scratch out from `base` (backwardScratchFloats floats). */
function layoutScratch(base: usize, batch: i32, slots: i32, width: i32, hops: i32): void {
  sG = base;
  sDz = at(sG, lanes(width));
  sDp = at(sDz, lanes(width));
  sDs = at(sDp, lanes(slots));
  sGo = at(sDs, lanes(hops * slots));
  sDmRow = at(sGo, lanes(hops * width));
  sDzAll = at(sDmRow, lanes(width));
  sPacked = at(sDzAll, lanes(hops * batch * width));
}

/**
 * The backward of example b's hops down to u¹ (memories and H as hopsOne reads them): writes du, keeps dz of every
 * hop in sDzAll (for dH, when there is an H), and ds^k, do^k
 * in sDs, sGo for {@link encodingRow}. dp_i = gp_i + do·c_i, ds_i = p_i (dp_i − Σ_j p_j dp_j) (or dp_i·mask_i
 * for linear start), and the gradient of uᵏ is its own + dz Hᵀ + Σ_i ds_i m_i.
 */
function hopsBackwardOne(
  mBase: usize,
  cBase: usize,
  stride: i32,
  maskb: usize,
  hop: usize,
  forward: usize,
  grad: usize,
  du: usize,
  b: i32,
  batch: i32,
  slots: i32,
  width: i32,
  hops: i32,
  linearUnits: i32,
  normalize: bool,
): void {
  const pBase = (hops + 1) * batch * width;
  const oBase = pBase + hops * batch * slots;
  const g = sG;
  const dz = sDz;
  const dp = sDp;
  memory.copy(g, at(grad, (hops * batch + b) * width), (<usize>width) * F);
  for (let k = hops - 1; k >= 0; k--) {
    const mb = at(mBase, k * stride);
    const cb = at(cBase, k * stride);
    const next = at(forward, ((k + 1) * batch + b) * width);
    const p = at(forward, pBase + (k * batch + b) * slots);
    const own = at(grad, (k * batch + b) * width);
    const go = at(sGo, k * width);
    const ds = at(sDs, k * slots);
    // dz = g ⊙ act′: 1 on the linear units, [u^{k+1} > 0] on the ReLU ones; kept for dH.
    for (let j = 0; j < width; j++) store<f32>(at(dz, j), j >= linearUnits && !(load<f32>(at(next, j)) > 0) ? 0 : load<f32>(at(g, j)));
    if (hop != 0) memory.copy(at(sDzAll, (k * batch + b) * width), dz, (<usize>width) * F);
    // do = dz + the own gradient of oᵏ.
    const gradO = at(grad, oBase + (k * batch + b) * width);
    for (let j = 0; j < width; j++) store<f32>(at(go, j), load<f32>(at(dz, j)) + load<f32>(at(gradO, j)));
    // g = (own gradient of uᵏ) + dz Hᵀ (+ dz without H).
    if (hop != 0) rowDots(g, hop, dz, width, width);
    else memory.copy(g, dz, (<usize>width) * F);
    for (let j = 0; j < width; j++) store<f32>(at(g, j), load<f32>(at(g, j)) + load<f32>(at(own, j)));
    // dp_i = gp_i + do·c_i; ds.
    rowDots(dp, cb, go, slots, width);
    const gp = at(grad, pBase + (k * batch + b) * slots);
    let weighted: f32 = 0;
    for (let i = 0; i < slots; i++) {
      const dpi = load<f32>(at(dp, i)) + load<f32>(at(gp, i));
      store<f32>(at(dp, i), dpi);
      weighted += load<f32>(at(p, i)) * dpi;
    }
    for (let i = 0; i < slots; i++) {
      const dpi = load<f32>(at(dp, i));
      store<f32>(at(ds, i), normalize ? load<f32>(at(p, i)) * (dpi - weighted) : dpi * load<f32>(at(maskb, i)));
    }
    // g += Σ_i ds_i m_i.
    combineRows(g, ds, 1, mb, width, slots, width, true);
  }
  memory.copy(du, g, (<usize>width) * F);
}

/** dH = Σ_{k,b} (u^{k,b})ᵀ dz^{k,b}: one product over the K·batch rows of u¹…u^K and of the kept dz. */
function hopGradient(forward: usize, dH: usize, batch: i32, width: i32, hops: i32): void {
  const rows = hops * batch;
  pack(sDzAll, sPacked, rows, width, width, 1);
  multiplyPacked(forward, sPacked, dH, width, rows, width, 1, width);
}

/** Backward of memoryHops: out = [dm, dc (batch·slots·width each), du¹ (batch·width), dH (width·width)]. */
export function memoryHopsBackward(
  m: usize,
  c: usize,
  _u: usize,
  mask: usize,
  hop: usize,
  forward: usize,
  grad: usize,
  out: usize,
  batch: i32,
  slots: i32,
  width: i32,
  hops: i32,
  linearUnits: i32,
  normalize: bool,
  temp: usize,
): void {
  const cells = batch * slots * width;
  const duAt = 2 * cells;
  layoutScratch(temp, batch, slots, width, hops);
  for (let b = 0; b < batch; b++) {
    const block = b * slots * width;
    hopsBackwardOne(at(m, block), at(c, block), 0, at(mask, b * slots), hop, forward, grad, at(out, duAt + b * width), b, batch, slots, width, hops, linearUnits, normalize);
    // dm_i, then dc_i: the gradients of the two memories (encodings 0 and 1 of layer-wise tying).
    for (let i = 0; i < slots; i++)
      for (let t = 0; t < 2; t++) {
        encodingRow(forward, t, i, b, batch, slots, width, hops, false);
        memory.copy(at(out, t * cells + block + i * width), sDmRow, (<usize>width) * F);
      }
  }
  hopGradient(forward, at(out, duAt + batch * width), batch, width, hops);
}

/** Bytes of scratch memoryHopsBackward needs. */
export function memoryHopsTempBytes(batch: i32, slots: i32, width: i32, hops: i32): i32 {
  return backwardScratchFloats(batch, slots, width, hops) * 4;
}

/**
 * The gradient of example b's encoding t at slot i into sDmRow: ds_i^k u^k for each hop k that read encoding t as m,
 * plus p_i^k do^k for each hop that read it as c (layer-wise: encoding 0 is every hop's m, 1 every hop's c).
 */
function encodingRow(forward: usize, t: i32, i: i32, b: i32, batch: i32, slots: i32, width: i32, hops: i32, adjacent: bool): void {
  if (!adjacent) {
    if (t == 0) combineRows(sDmRow, at(sDs, i), slots, at(forward, b * width), batch * width, hops, width, false);
    else combineRows(sDmRow, at(forward, (hops + 1) * batch * width + b * slots + i), batch * slots, sGo, width, hops, width, false);
    return;
  }
  const pBase = (hops + 1) * batch * width;
  // Adjacent: hop t read it as m (t < K), hop t − 1 as c (t ≥ 1).
  if (t < hops) combineRows(sDmRow, at(sDs, t * slots + i), 0, at(forward, (t * batch + b) * width), 0, 1, width, false);
  if (t >= 1) combineRows(sDmRow, at(forward, pBase + ((t - 1) * batch + b) * slots + i), 0, at(sGo, (t - 1) * width), 0, 1, width, t < hops);
}

/**
 * Backward of bagMemoryHops: out = [dInput (rows·width), dOutput (1 or K tables of rows·width), du¹ (batch·width),
 * dH (width·width, layer-wise only)]. Per example: its encodings rebuilt in scratch, then each slot's encoding
 * gradients added into the tables' gradients (in the order embeddingBagBackward adds them).
 */
export function bagMemoryHopsBackward(
  input: usize,
  output: usize,
  indices: usize,
  weights: usize,
  weightIndices: usize,
  _u: usize,
  mask: usize,
  hop: usize,
  forward: usize,
  grad: usize,
  out: usize,
  rows: i32,
  batch: i32,
  slots: i32,
  words: i32,
  width: i32,
  hops: i32,
  linearUnits: i32,
  normalize: bool,
  adjacent: bool,
  temp: usize,
): void {
  const table = rows * width;
  const count = encodingCount(hops, adjacent);
  const duAt = count * table;
  memory.fill(out, 0, (<usize>(count * table)) * F);
  const cells = slots * width;
  layoutScratch(at(temp, count * cells), batch, slots, width, hops);
  for (let b = 0; b < batch; b++) {
    buildEncodings(input, output, indices, weights, weightIndices, temp, b, rows, slots, words, width, count);
    const stride = adjacent ? cells : 0;
    hopsBackwardOne(temp, at(temp, cells), stride, at(mask, b * slots), adjacent ? 0 : hop, forward, grad, at(out, duAt + b * width), b, batch, slots, width, hops, linearUnits, normalize);
    for (let i = 0; i < slots; i++) {
      const slotItem = b * slots * words + i * words;
      for (let t = 0; t < count; t++) {
        encodingRow(forward, t, i, b, batch, slots, width, hops, adjacent);
        bagAccumulate(sDmRow, at(indices, slotItem), weights, at(weightIndices, slotItem), at(out, t * table), 1, words, width);
      }
    }
  }
  if (!adjacent) hopGradient(forward, at(out, duAt + batch * width), batch, width, hops);
}

/** Bytes of scratch bagMemoryHopsBackward needs. */
export function bagMemoryHopsBackwardTempBytes(batch: i32, slots: i32, width: i32, hops: i32, adjacent: bool): i32 {
  return (encodingCount(hops, adjacent) * slots * width + backwardScratchFloats(batch, slots, width, hops)) * 4;
}
