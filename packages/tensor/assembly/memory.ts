// WebAssembly SIMD versions of @engram/tensor's fused external-memory kernels (NTM eq. 3–4 and 6).
// Same arithmetic as the TypeScript reference in src/cpu/reference-kernels.ts, four memory columns
// per instruction. Pointers are byte offsets into linear memory; all arrays are f32, row-major.

import { demoteFour, exp4, log4, promoteHigh, promoteLow } from './fastmath';
import { highHalves, interleaveHigh, interleaveLow, lowHalves, multiplyAdd } from './matmul';
import { F, at } from './pointers';

/**
 * a·b − c·d, four lanes: with relaxed SIMD c·d is subtracted by a fused multiply-add; plain SIMD rounds each product,
 * as the scalar loops do.
 */
@inline function productDifference(a: v128, b: v128, c: v128, d: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_nmadd(c, d, f32x4.mul(a, b));
  return f32x4.sub(f32x4.mul(a, b), f32x4.mul(c, d));
}

/** c − a·b, four lanes (fused with relaxed SIMD). */
@inline function multiplySubtract(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_nmadd(a, b, c);
  return f32x4.sub(c, f32x4.mul(a, b));
}

/** out(b, i, j) = M(b, i, j)·(1 − w(b, i)·e(b, j)) + w(b, i)·a(b, j). */
export function memoryWrite(mem: usize, w: usize, e: usize, a: usize, out: usize, batch: i32, rows: i32, width: i32): void {
  for (let b = 0; b < batch; b++) {
    const eb = at(e, b * width);
    const ab = at(a, b * width);
    for (let i = 0; i < rows; i++) {
      const wi = load<f32>(at(w, b * rows + i));
      const ws = f32x4.splat(wi);
      const one = f32x4.splat(1);
      const base = (b * rows + i) * width;
      let j = 0;
      for (; j + 4 <= width; j += 4) {
        const m = v128.load(at(mem, base + j));
        const ev = v128.load(at(eb, j));
        const av = v128.load(at(ab, j));
        v128.store(at(out, base + j), multiplyAdd(m, multiplySubtract(ws, ev, one), f32x4.mul(ws, av)));
      }
      for (; j < width; j++) {
        store<f32>(at(out, base + j), load<f32>(at(mem, base + j)) * (1 - wi * load<f32>(at(eb, j))) + wi * load<f32>(at(ab, j)));
      }
    }
  }
}

/**
 * Backward of memoryWrite: out = [dM (batch·rows·width), dw (batch·rows), de (batch·width), da (batch·width)]. `out`
 * may be `grad` (the whole-sequence kernels pass their dM, with room after it, for both): each element of dM is
 * written only after its gradient was read.
 */
export function memoryWriteBackward(mem: usize, w: usize, e: usize, a: usize, grad: usize, out: usize, batch: i32, rows: i32, width: i32): void {
  const cells = batch * rows * width;
  const dw = at(out, cells);
  const de = at(dw, batch * rows);
  const da = at(de, batch * width);
  memory.fill(de, 0, (<usize>(2 * batch * width)) * F);
  for (let b = 0; b < batch; b++) {
    const eb = at(e, b * width);
    const ab = at(a, b * width);
    const deb = at(de, b * width);
    const dab = at(da, b * width);
    // Four rows at a time where the width allows: e, a, de and da stay in registers across the four rows, de and da
    // add the rows in order and each row's dw sums its columns in order (in rowSums), as one row at a time does.
    const blockedRows = width % 4 == 0 ? rows & ~3 : 0;
    const row = (<usize>width) * F;
    const one = f32x4.splat(1);
    for (let i = 0; i < blockedRows; i += 4) {
      const base = (b * rows + i) * width;
      const pw = at(w, b * rows + i);
      memory.fill(rowSums, 0, 64);
      for (let j = 0; j < width; j += 4) {
        const ev = v128.load(at(eb, j));
        const av = v128.load(at(ab, j));
        let dev = v128.load(at(deb, j));
        let dav = v128.load(at(dab, j));
        let pg = at(grad, base + j);
        let pm = at(mem, base + j);
        let po = at(out, base + j);
        for (let r: usize = 0; r < 16; r += 4) {
          const ws = v128.load32_splat(pw + r);
          const g = v128.load(pg);
          const m = v128.load(pm);
          v128.store(po, f32x4.mul(g, multiplySubtract(ws, ev, one)));
          v128.store(rowSums + 4 * r, multiplyAdd(g, multiplySubtract(m, ev, av), v128.load(rowSums + 4 * r)));
          const gw = f32x4.mul(g, ws);
          dev = multiplySubtract(gw, m, dev);
          dav = f32x4.add(dav, gw);
          pg += row;
          pm += row;
          po += row;
        }
        v128.store(at(deb, j), dev);
        v128.store(at(dab, j), dav);
      }
      // The one-row sum's order, its (empty) scalar tail included: + 0 keeps a −0 sum +0 as there.
      const tail: f32 = 0;
      for (let r: usize = 0; r < 4; r++) {
        const sums = v128.load(rowSums + 16 * r);
        const total = f32x4.extract_lane(sums, 0) + f32x4.extract_lane(sums, 1) + f32x4.extract_lane(sums, 2) + f32x4.extract_lane(sums, 3) + tail;
        store<f32>(at(dw, b * rows + i) + 4 * r, total);
      }
    }
    for (let i = blockedRows; i < rows; i++) {
      const wi = load<f32>(at(w, b * rows + i));
      const ws = f32x4.splat(wi);
      const one = f32x4.splat(1);
      const base = (b * rows + i) * width;
      let dwv = f32x4.splat(0);
      let dws: f32 = 0;
      let j = 0;
      for (; j + 4 <= width; j += 4) {
        const g = v128.load(at(grad, base + j));
        const m = v128.load(at(mem, base + j));
        const ev = v128.load(at(eb, j));
        const av = v128.load(at(ab, j));
        v128.store(at(out, base + j), f32x4.mul(g, multiplySubtract(ws, ev, one)));
        dwv = multiplyAdd(g, multiplySubtract(m, ev, av), dwv);
        const gw = f32x4.mul(g, ws);
        v128.store(at(deb, j), multiplySubtract(gw, m, v128.load(at(deb, j))));
        v128.store(at(dab, j), f32x4.add(v128.load(at(dab, j)), gw));
      }
      for (; j < width; j++) {
        const g = load<f32>(at(grad, base + j));
        const m = load<f32>(at(mem, base + j));
        const ej = load<f32>(at(eb, j));
        store<f32>(at(out, base + j), g * (1 - wi * ej));
        dws += g * (load<f32>(at(ab, j)) - m * ej);
        store<f32>(at(deb, j), load<f32>(at(deb, j)) - g * m * wi);
        store<f32>(at(dab, j), load<f32>(at(dab, j)) + g * wi);
      }
      const total = f32x4.extract_lane(dwv, 0) + f32x4.extract_lane(dwv, 1) + f32x4.extract_lane(dwv, 2) + f32x4.extract_lane(dwv, 3) + dws;
      store<f32>(at(dw, b * rows + i), total);
    }
  }
}

/** Dot product of row `base` of `x` with `y` at `yBase` (result in lane sum), and the row's squared norm. */
@inline function dotAndSquares(x: usize, base: i32, y: usize, yBase: i32, width: i32): v128 {
  let dot = f32x4.splat(0);
  let squares = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= width; j += 4) {
    const m = v128.load(at(x, base + j));
    dot = multiplyAdd(m, v128.load(at(y, yBase + j)), dot);
    squares = multiplyAdd(m, m, squares);
  }
  let d: f32 = f32x4.extract_lane(dot, 0) + f32x4.extract_lane(dot, 1) + f32x4.extract_lane(dot, 2) + f32x4.extract_lane(dot, 3);
  let s: f32 = f32x4.extract_lane(squares, 0) + f32x4.extract_lane(squares, 1) + f32x4.extract_lane(squares, 2) + f32x4.extract_lane(squares, 3);
  for (; j < width; j++) {
    const m = load<f32>(at(x, base + j));
    d += m * load<f32>(at(y, yBase + j));
    s += m * m;
  }
  return f32x4(d, s, 0, 0);
}

/** Where {@link rowsDotsAndSquares} leaves four rows' dot products (16 bytes) and squared norms (the next 16). */
const fourRows: usize = memory.data(32, 16);
/** rowCosineBackward's per-row factors for four rows: g/denominator, g·memoryTerm, g·keyTerm (16 bytes each). */
/** memoryWriteBackward's running sums of dw for four rows (16 bytes each). */
const rowSums: usize = memory.data(64, 16);
const rowTerms: usize = memory.data(48, 16);

/**
 * Each lane's sum ((l0 + l1) + l2) + l3 of four vectors, as four lanes: the order {@link dotAndSquares} adds them in,
 * so four rows at a time give the same bits as one at a time.
 */
@inline function laneSums(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  // The 4 × 4 transpose of transposeFour (matmul.ts), its rows added in order.
  const t0 = interleaveLow(a0, a1);
  const t1 = interleaveLow(a2, a3);
  const t2 = interleaveHigh(a0, a1);
  const t3 = interleaveHigh(a2, a3);
  return f32x4.add(f32x4.add(f32x4.add(lowHalves(t0, t1), highHalves(t0, t1)), lowHalves(t2, t3)), highHalves(t2, t3));
}

/**
 * {@link dotAndSquares} for rows base, base + width, base + 2·width, base + 3·width of x against y, width a multiple
 * of 4: their dot products at fourRows and their squared norms at fourRows + 16.
 */
@inline function rowsDotsAndSquares(x: usize, base: i32, y: usize, yBase: i32, width: i32): void {
  let d0 = f32x4.splat(0), d1 = f32x4.splat(0), d2 = f32x4.splat(0), d3 = f32x4.splat(0);
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  for (let j = 0; j < width; j += 4) {
    const k = v128.load(at(y, yBase + j));
    const m0 = v128.load(at(x, base + j));
    const m1 = v128.load(at(x, base + width + j));
    const m2 = v128.load(at(x, base + 2 * width + j));
    const m3 = v128.load(at(x, base + 3 * width + j));
    d0 = multiplyAdd(m0, k, d0);
    d1 = multiplyAdd(m1, k, d1);
    d2 = multiplyAdd(m2, k, d2);
    d3 = multiplyAdd(m3, k, d3);
    s0 = multiplyAdd(m0, m0, s0);
    s1 = multiplyAdd(m1, m1, s1);
    s2 = multiplyAdd(m2, m2, s2);
    s3 = multiplyAdd(m3, m3, s3);
  }
  v128.store(fourRows, laneSums(d0, d1, d2, d3));
  v128.store(fourRows, laneSums(s0, s1, s2, s3), 16);
}

/** out(b, i) = M(b, i)·k(b) / (‖M(b, i)‖·‖k(b)‖ + ε). */
export function rowCosine(mem: usize, key: usize, out: usize, batch: i32, rows: i32, width: i32, epsilon: f32): void {
  cosineForward(mem, key, out, 0, batch, rows, width, epsilon, false);
}

/**
 * {@link rowCosine} that also keeps each row's norm ‖M(b, i)‖ at `norms` (batch·rows), for
 * {@link rowCosineBackwardKept}, which then need not read the memory for them again.
 */
export function rowCosineKeeping(mem: usize, key: usize, out: usize, norms: usize, batch: i32, rows: i32, width: i32, epsilon: f32): void {
  cosineForward(mem, key, out, norms, batch, rows, width, epsilon, true);
}

@inline function cosineForward(mem: usize, key: usize, out: usize, norms: usize, batch: i32, rows: i32, width: i32, epsilon: f32, keep: bool): void {
  const blocked = width % 4 == 0;
  for (let b = 0; b < batch; b++) {
    const keyNorm = Mathf.sqrt(f32x4.extract_lane(dotAndSquares(key, b * width, key, b * width, width), 1));
    let i = 0;
    // Four rows at a time where the width allows: the same operations per row, lane by lane.
    if (blocked)
      for (; i + 4 <= rows; i += 4) {
        rowsDotsAndSquares(mem, (b * rows + i) * width, key, b * width, width);
        const norm = f32x4.sqrt(v128.load(fourRows, 16));
        if (keep) v128.store(at(norms, b * rows + i), norm);
        const denominator = f32x4.add(f32x4.mul(norm, f32x4.splat(keyNorm)), f32x4.splat(epsilon));
        v128.store(at(out, b * rows + i), f32x4.div(v128.load(fourRows), denominator));
      }
    for (; i < rows; i++) {
      const ds = dotAndSquares(mem, (b * rows + i) * width, key, b * width, width);
      const norm = Mathf.sqrt(f32x4.extract_lane(ds, 1));
      if (keep) store<f32>(at(norms, b * rows + i), norm);
      store<f32>(at(out, b * rows + i), f32x4.extract_lane(ds, 0) / (norm * keyNorm + epsilon));
    }
  }
}

/** Backward of rowCosine: out = [dM (batch·rows·width), dk (batch·width)]. */
export function rowCosineBackward(mem: usize, key: usize, grad: usize, out: usize, batch: i32, rows: i32, width: i32, epsilon: f32): void {
  cosineBackward(mem, key, grad, out, at(out, batch * rows * width), 0, 0, batch, rows, width, epsilon, false);
}

/**
 * Backward of rowCosine for the whole-sequence kernels, from the forward's cosines (`cosines`, rowCosineKeeping's
 * `out`) and row norms (`norms`) instead of computing them again from the memory (one pass over the memory instead of
 * two; the same bits). dM is added into `dMemory` (batch·rows·width; each element gets the one addition `addFloats`
 * would give it, so the same bits as writing dM apart and adding it), dk written to `dKey` (batch·width).
 */
export function rowCosineBackwardKept(
  mem: usize,
  key: usize,
  grad: usize,
  cosines: usize,
  norms: usize,
  dMemory: usize,
  dKey: usize,
  batch: i32,
  rows: i32,
  width: i32,
  epsilon: f32,
): void {
  cosineBackward(mem, key, grad, dMemory, dKey, cosines, norms, batch, rows, width, epsilon, true);
}

/**
 * dk at `dk`, and dM stored at `out` from the memory alone (rowCosineBackward), or, `kept`, added to it from the
 * forward's `cosines` and `norms` (rowCosineBackwardKept).
 */
@inline function cosineBackward(
  mem: usize,
  key: usize,
  grad: usize,
  out: usize,
  dk: usize,
  cosines: usize,
  norms: usize,
  batch: i32,
  rows: i32,
  width: i32,
  epsilon: f32,
  kept: bool,
): void {
  // Rows below this go four at a time (the width must be a multiple of 4 for that); the rest one at a time.
  const blockedRows = width % 4 == 0 ? rows & ~3 : 0;
  memory.fill(dk, 0, (<usize>(batch * width)) * F);
  for (let b = 0; b < batch; b++) {
    const kb = b * width;
    const keyNorm = Mathf.sqrt(f32x4.extract_lane(dotAndSquares(key, kb, key, kb, width), 1));
    const dkb = at(dk, kb);
    const vKeyNorm = f32x4.splat(keyNorm);
    const zero = f32x4.splat(0);
    for (let i = 0; i < blockedRows; i += 4) {
      const base = (b * rows + i) * width;
      // The four rows' scalars, lane by lane the one-row operations below (the cosines and norms the forward's).
      if (!kept) rowsDotsAndSquares(mem, base, key, kb, width);
      const norm = kept ? v128.load(at(norms, b * rows + i)) : f32x4.sqrt(v128.load(fourRows, 16));
      const denominator = f32x4.add(f32x4.mul(norm, vKeyNorm), f32x4.splat(epsilon));
      const g = v128.load(at(grad, b * rows + i));
      const s = kept ? v128.load(at(cosines, b * rows + i)) : f32x4.div(v128.load(fourRows), denominator);
      const memoryTerm = v128.and(f32x4.div(f32x4.mul(s, vKeyNorm), f32x4.mul(norm, denominator)), f32x4.gt(norm, zero));
      const keyTerm = keyNorm > 0 ? f32x4.div(f32x4.mul(s, norm), f32x4.mul(vKeyNorm, denominator)) : zero;
      v128.store(rowTerms, f32x4.div(g, denominator));
      v128.store(rowTerms, f32x4.mul(g, memoryTerm), 16);
      v128.store(rowTerms, f32x4.mul(g, keyTerm), 32);
      // Four columns of k and dk stay in registers across the four rows; dk adds the rows in order, as one at a time.
      const row = (<usize>width) * F;
      for (let j = 0; j < width; j += 4) {
        const k = v128.load(at(key, kb + j));
        let d = v128.load(at(dkb, j));
        let pm = at(mem, base + j);
        let po = at(out, base + j);
        for (let r: usize = 0; r < 16; r += 4) {
          const m = v128.load(pm);
          const gOverD = v128.load32_splat(rowTerms + r);
          const dm = productDifference(gOverD, k, v128.load32_splat(rowTerms + 16 + r), m);
          v128.store(po, kept ? f32x4.add(v128.load(po), dm) : dm);
          d = f32x4.add(d, productDifference(gOverD, m, v128.load32_splat(rowTerms + 32 + r), k));
          pm += row;
          po += row;
        }
        v128.store(at(dkb, j), d);
      }
    }
    for (let i = blockedRows; i < rows; i++) {
      const base = (b * rows + i) * width;
      let norm: f32, s: f32, denominator: f32;
      if (kept) {
        norm = load<f32>(at(norms, b * rows + i));
        denominator = norm * keyNorm + epsilon;
        s = load<f32>(at(cosines, b * rows + i));
      } else {
        const ds = dotAndSquares(mem, base, key, kb, width);
        norm = Mathf.sqrt(f32x4.extract_lane(ds, 1));
        denominator = norm * keyNorm + epsilon;
        s = f32x4.extract_lane(ds, 0) / denominator;
      }
      const g = load<f32>(at(grad, b * rows + i));
      const memoryTerm: f32 = norm > 0 ? (s * keyNorm) / (norm * denominator) : 0;
      const keyTerm: f32 = keyNorm > 0 ? (s * norm) / (keyNorm * denominator) : 0;
      const gOverD = f32x4.splat(g / denominator);
      const gMemory = f32x4.splat(g * memoryTerm);
      const gKey = f32x4.splat(g * keyTerm);
      let j = 0;
      for (; j + 4 <= width; j += 4) {
        const m = v128.load(at(mem, base + j));
        const k = v128.load(at(key, kb + j));
        const dm = productDifference(gOverD, k, gMemory, m);
        v128.store(at(out, base + j), kept ? f32x4.add(v128.load(at(out, base + j)), dm) : dm);
        v128.store(at(dkb, j), f32x4.add(v128.load(at(dkb, j)), productDifference(gOverD, m, gKey, k)));
      }
      for (; j < width; j++) {
        const m = load<f32>(at(mem, base + j));
        const k = load<f32>(at(key, kb + j));
        const dm: f32 = g * (k / denominator - memoryTerm * m);
        store<f32>(at(out, base + j), kept ? load<f32>(at(out, base + j)) + dm : dm);
        store<f32>(at(dkb, j), load<f32>(at(dkb, j)) + g * (m / denominator - keyTerm * k));
      }
    }
  }
}

/**
 * Bytes of temporary space locationAddress and its backward need for `slots` memory rows: locationRow's five rows of
 * f64 and their Σ powered.
 */
export function locationTempBytes(slots: i32): i32 {
  return 5 * slots * 8 + 8;
}

/** index modulo slots, in 0 … slots − 1 (the indices here are a few slots outside at most). */
@inline function wrap(index: i32, slots: i32): i32 {
  while (index < 0) index += slots;
  while (index >= slots) index -= slots;
  return index;
}

/**
 * out(i) = Σ_k s(k)·x(wrap(i + sign·(k − half))) over f64 rows x and out of `slots`, s `shifts` f32 weights: the
 * location shift (sign −1, eq. 8) and its backward (sign +1). Each sum runs over k in order from 0; the slots that
 * need no wrap go two at a time.
 */
function circularShift(x: usize, s: usize, out: usize, slots: i32, shifts: i32, sign: i32): void {
  const half = (shifts - 1) / 2;
  // i + sign·(k − half) stays in 0 … slots − 1 for every k when half ≤ i < slots − half.
  const first = min(half, slots);
  const last = max(first, slots - half);
  for (let i = 0; i < first; i++) store<f64>(out + (<usize>i) * 8, shiftedAt(x, s, i, slots, shifts, half, sign));
  let i = first;
  if (shifts == 3) {
    // The usual three shifts with their weights in registers; the same sums as the loop below.
    const s0 = f64x2.splat(<f64>load<f32>(s));
    const s1 = f64x2.splat(<f64>load<f32>(at(s, 1)));
    const s2 = f64x2.splat(<f64>load<f32>(at(s, 2)));
    for (; i + 2 <= last; i += 2) {
      const from = x + (<usize>(i - sign)) * 8; // k = 0: i + sign·(0 − 1)
      let acc = f64x2.add(f64x2.splat(0), f64x2.mul(s0, v128.load(from)));
      acc = f64x2.add(acc, f64x2.mul(s1, v128.load(from + (<usize>sign) * 8)));
      acc = f64x2.add(acc, f64x2.mul(s2, v128.load(from + (<usize>(2 * sign)) * 8)));
      v128.store(out + (<usize>i) * 8, acc);
    }
  }
  for (; i + 2 <= last; i += 2) {
    let acc = f64x2.splat(0);
    for (let k = 0; k < shifts; k++) {
      const from = i + sign * (k - half);
      acc = f64x2.add(acc, f64x2.mul(f64x2.splat(<f64>load<f32>(at(s, k))), v128.load(x + (<usize>from) * 8)));
    }
    v128.store(out + (<usize>i) * 8, acc);
  }
  for (; i < slots; i++) store<f64>(out + (<usize>i) * 8, shiftedAt(x, s, i, slots, shifts, half, sign));
}

/** One slot of {@link circularShift}, with the wrap. */
@inline function shiftedAt(x: usize, s: usize, i: i32, slots: i32, shifts: i32, half: i32, sign: i32): f64 {
  let acc: f64 = 0;
  for (let k = 0; k < shifts; k++) acc += <f64>load<f32>(at(s, k)) * load<f64>(x + (<usize>wrap(i + sign * (k - half), slots)) * 8);
  return acc;
}

/**
 * Forward quantities of location addressing for batch row b, in f64, into temp:
 * gated at temp, shifted at temp + N·8, powered at temp + 2N·8, ln(shifted + ε) at temp + 4N·8.
 * Returns Σ powered. The power is exp(γ·ln(x)): one log (kept for the backward's dγ) and one exp
 * instead of `pow`, which costs about as much as both and was most of an NTM step's time; both
 * are the four-lane polynomials of fastmath.ts.
 */
function locationRow(wc: usize, wp: usize, g: f64, s: usize, gamma: f64, b: i32, slots: i32, shifts: i32, epsilon: f64, temp: usize): f64 {
  const gated = temp;
  const shifted = temp + (<usize>slots) * 8;
  const powered = temp + (<usize>(2 * slots)) * 8;
  const logs = temp + (<usize>(4 * slots)) * 8;
  // Interpolation (eq. 7), two slots at a time: g·w^c + (1 − g)·w_{t−1}.
  const vg = f64x2.splat(g);
  const vRest = f64x2.splat(1 - g);
  let n = 0;
  for (; n + 2 <= slots; n += 2) {
    const c = f64x2.promote_low_f32x4(v128.load64_zero(at(wc, b * slots + n)));
    const p = f64x2.promote_low_f32x4(v128.load64_zero(at(wp, b * slots + n)));
    v128.store(gated + (<usize>n) * 8, f64x2.add(f64x2.mul(vg, c), f64x2.mul(vRest, p)));
  }
  for (; n < slots; n++) store<f64>(gated + (<usize>n) * 8, g * <f64>load<f32>(at(wc, b * slots + n)) + (1 - g) * <f64>load<f32>(at(wp, b * slots + n)));
  // Circular convolution with the shift weighting (eq. 8): w̃(i) = Σ_k s(k)·w^g(i − (k − half)). Away from the ends the
  // indices need no wrap, two slots at a time; the same sums in the same order as at the ends.
  circularShift(gated, at(s, b * shifts), shifted, slots, shifts, -1);
  // ln(shifted + ε) in f32 (the results are stored as f32 anyway), four slots at a time.
  const vEpsilon = f64x2.splat(epsilon);
  let i = 0;
  for (; i + 4 <= slots; i += 4) {
    const from = shifted + (<usize>i) * 8;
    const lg = log4(demoteFour(f64x2.add(v128.load(from), vEpsilon), f64x2.add(v128.load(from, 16), vEpsilon)));
    v128.store(logs + (<usize>i) * 8, promoteLow(lg));
    v128.store(logs + (<usize>i) * 8, promoteHigh(lg), 16);
  }
  for (; i < slots; i++) store<f64>(logs + (<usize>i) * 8, <f64>f32x4.extract_lane(log4(f32x4.splat(<f32>(load<f64>(shifted + (<usize>i) * 8) + epsilon))), 0));
  const total = powers(logs, powered, gamma, 0, slots);
  // exp4 flushes e^x below e^−87 to 0, so a flat w̃ raised to a large γ (every w̃(i) near 1/N, γ·ln w̃(i) < −87) can
  // leave every power 0 and the weighting 0/0. Then the powers are taken relative to the largest, (w̃(i) / max w̃)^γ,
  // the largest 1: every power scaled by one factor, so the weighting p / Σ p is unchanged, and so is the backward,
  // which uses only p / Σ p and the logs.
  if (total >= RESCALE_POWERS_BELOW) return total;
  let largest = load<f64>(logs);
  for (let j = 1; j < slots; j++) largest = max(largest, load<f64>(logs + (<usize>j) * 8));
  return powers(logs, powered, gamma, largest, slots);
}

/**
 * Below this Σ w̃^γ, {@link locationRow} takes the powers relative to the largest. Above it the largest power (at least
 * Σ / N) is a normal f32, so the weighting keeps its precision.
 */
const RESCALE_POWERS_BELOW: f64 = 1e-30;

/**
 * e^{γ·(ln w̃(i) − shift)} in f32 (the four-lane exp4) into `powered`, from the logs; returns their sum, added in slot
 * order. `shift` 0 gives w̃(i)^γ; max ln w̃ gives the powers relative to the largest.
 */
function powers(logs: usize, powered: usize, gamma: f64, shift: f64, slots: i32): f64 {
  const vGamma = f64x2.splat(gamma);
  const vShift = f64x2.splat(shift);
  let i = 0;
  for (; i + 4 <= slots; i += 4) {
    const from = logs + (<usize>i) * 8;
    const low = f64x2.mul(vGamma, f64x2.sub(v128.load(from), vShift));
    const high = f64x2.mul(vGamma, f64x2.sub(v128.load(from, 16), vShift));
    const p = exp4(demoteFour(low, high));
    v128.store(powered + (<usize>i) * 8, promoteLow(p));
    v128.store(powered + (<usize>i) * 8, promoteHigh(p), 16);
  }
  for (; i < slots; i++) store<f64>(powered + (<usize>i) * 8, <f64>f32x4.extract_lane(exp4(f32x4.splat(<f32>(gamma * (load<f64>(logs + (<usize>i) * 8) - shift)))), 0));
  return sumRow(powered, slots);
}

/** NTM eq. 7–9 in one pass; see the TypeScript reference `locationAddress`. */
export function locationAddress(wc: usize, wp: usize, g: usize, s: usize, gamma: usize, out: usize, batch: i32, slots: i32, shifts: i32, epsilon: f64, temp: usize): void {
  for (let b = 0; b < batch; b++) locationForwardRow(wc, wp, g, s, gamma, out, b, slots, shifts, epsilon, temp);
}

/**
 * {@link locationAddress} that keeps each batch row's forward quantities ({@link locationRow}'s rows, `locationTempBytes`
 * per batch row, in turn from `kept`) for {@link locationAddressBackwardKept}, which then need not compute them again.
 */
export function locationAddressKept(wc: usize, wp: usize, g: usize, s: usize, gamma: usize, out: usize, batch: i32, slots: i32, shifts: i32, epsilon: f64, kept: usize): void {
  for (let b = 0; b < batch; b++) locationForwardRow(wc, wp, g, s, gamma, out, b, slots, shifts, epsilon, kept + (<usize>b) * <usize>locationTempBytes(slots));
}

/** Batch row b of {@link locationAddress}, its forward quantities in temp. */
@inline function locationForwardRow(wc: usize, wp: usize, g: usize, s: usize, gamma: usize, out: usize, b: i32, slots: i32, shifts: i32, epsilon: f64, temp: usize): void {
  const total = locationRow(wc, wp, <f64>load<f32>(at(g, b)), s, <f64>load<f32>(at(gamma, b)), b, slots, shifts, epsilon, temp);
  store<f64>(temp + (<usize>(5 * slots)) * 8, total);
  const powered = temp + (<usize>(2 * slots)) * 8;
  for (let i = 0; i < slots; i++) store<f32>(at(out, b * slots + i), <f32>(load<f64>(powered + (<usize>i) * 8) / total));
}

/** Σ of `count` f64 at row, added in order. */
@inline function sumRow(row: usize, count: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < count; i++) total += load<f64>(row + (<usize>i) * 8);
  return total;
}

/** Backward of locationAddress: out = [dwc (B·N), dwp (B·N), dg (B), ds (B·S), dγ (B)]. */
export function locationAddressBackward(
  wc: usize,
  wp: usize,
  g: usize,
  s: usize,
  gamma: usize,
  grad: usize,
  out: usize,
  batch: i32,
  slots: i32,
  shifts: i32,
  epsilon: f64,
  temp: usize,
): void {
  for (let b = 0; b < batch; b++) {
    const total = locationRow(wc, wp, <f64>load<f32>(at(g, b)), s, <f64>load<f32>(at(gamma, b)), b, slots, shifts, epsilon, temp);
    locationBackwardRow(wc, wp, g, s, gamma, grad, out, b, batch, slots, shifts, epsilon, temp, total);
  }
}

/**
 * {@link locationAddressBackward} from the forward quantities {@link locationAddressKept} kept at `kept` (which it
 * overwrites) instead of computing them again: the same bits.
 */
export function locationAddressBackwardKept(
  wc: usize,
  wp: usize,
  g: usize,
  s: usize,
  gamma: usize,
  grad: usize,
  out: usize,
  batch: i32,
  slots: i32,
  shifts: i32,
  epsilon: f64,
  kept: usize,
): void {
  for (let b = 0; b < batch; b++) {
    const temp = kept + (<usize>b) * <usize>locationTempBytes(slots);
    // locationRow's Σ powered, kept by the forward.
    const total = load<f64>(temp + (<usize>(5 * slots)) * 8);
    locationBackwardRow(wc, wp, g, s, gamma, grad, out, b, batch, slots, shifts, epsilon, temp, total);
  }
}

/** Batch row b of the location backward, from {@link locationRow}'s quantities in temp (overwritten) and their sum. */
function locationBackwardRow(
  wc: usize,
  wp: usize,
  g: usize,
  s: usize,
  gamma: usize,
  grad: usize,
  out: usize,
  b: i32,
  batch: i32,
  slots: i32,
  shifts: i32,
  epsilon: f64,
  temp: usize,
  total: f64,
): void {
  const n = batch * slots;
  const dgBase = 2 * n;
  const dsBase = dgBase + batch;
  const dGammaBase = dsBase + batch * shifts;
  const half = (shifts - 1) / 2;
  const gated = temp;
  const shifted = temp + (<usize>slots) * 8;
  const powered = temp + (<usize>(2 * slots)) * 8;
  const dShifted = temp + (<usize>(3 * slots)) * 8;
  const logs = temp + (<usize>(4 * slots)) * 8;
  const gb = <f64>load<f32>(at(g, b));
  const gammaB = <f64>load<f32>(at(gamma, b));
  // Each sum below adds its terms in slot order; the terms themselves are formed two slots at a time into a free row.
  const vTotal = f64x2.splat(total);
  const gradRow = at(grad, b * slots);
  // weighted = Σ_i grad(i)·(powered(i) / total), its terms formed two at a time and added in slot order as they come.
  let weighted: f64 = 0;
  let i = 0;
  for (; i + 2 <= slots; i += 2) {
    const gr = f64x2.promote_low_f32x4(v128.load64_zero(at(gradRow, i)));
    const terms = f64x2.mul(gr, f64x2.div(v128.load(powered + (<usize>i) * 8), vTotal));
    weighted += f64x2.extract_lane(terms, 0);
    weighted += f64x2.extract_lane(terms, 1);
  }
  for (; i < slots; i++) weighted += <f64>load<f32>(at(gradRow, i)) * (load<f64>(powered + (<usize>i) * 8) / total);
  // dp = (grad − weighted) / total; dw̃ = dp·γ·powered / (shifted + ε); dγ = Σ dp·powered·ln(shifted + ε), its terms
  // added in slot order as they come.
  const vWeighted = f64x2.splat(weighted);
  const vGamma = f64x2.splat(gammaB);
  const vEpsilon = f64x2.splat(epsilon);
  let dGamma: f64 = 0;
  i = 0;
  for (; i + 2 <= slots; i += 2) {
    const at8 = (<usize>i) * 8;
    const gr = f64x2.promote_low_f32x4(v128.load64_zero(at(gradRow, i)));
    const dp = f64x2.div(f64x2.sub(gr, vWeighted), vTotal);
    const base = f64x2.add(v128.load(shifted + at8), vEpsilon);
    const p = v128.load(powered + at8);
    v128.store(dShifted + at8, f64x2.div(f64x2.mul(f64x2.mul(dp, vGamma), p), base));
    const terms = f64x2.mul(f64x2.mul(dp, p), v128.load(logs + at8));
    dGamma += f64x2.extract_lane(terms, 0);
    dGamma += f64x2.extract_lane(terms, 1);
  }
  for (; i < slots; i++) {
    const at8 = (<usize>i) * 8;
    const dp = (<f64>load<f32>(at(gradRow, i)) - weighted) / total;
    const base = load<f64>(shifted + at8) + epsilon;
    const p = load<f64>(powered + at8);
    store<f64>(dShifted + at8, (dp * gammaB * p) / base);
    dGamma += dp * p * load<f64>(logs + at8);
  }
  store<f32>(at(out, dGammaBase + b), <f32>dGamma);
  // d(j) = Σ_k s(k)·dw̃(j + (k − half)): the shift's transpose, into the powered row (no longer needed); then
  // dw^c = g·d, dw_{t−1} = (1 − g)·d, and dg = Σ d·(w^c − w_{t−1}), added in slot order.
  circularShift(dShifted, at(s, b * shifts), powered, slots, shifts, 1);
  const vg = f64x2.splat(gb);
  const vRest = f64x2.splat(1 - gb);
  const dwc = at(out, b * slots);
  const dwp = at(out, n + b * slots);
  let dg: f64 = 0;
  i = 0;
  for (; i + 2 <= slots; i += 2) {
    const at8 = (<usize>i) * 8;
    const d = v128.load(powered + at8);
    v128.store64_lane(at(dwc, i), f32x4.demote_f64x2_zero(f64x2.mul(vg, d)), 0);
    v128.store64_lane(at(dwp, i), f32x4.demote_f64x2_zero(f64x2.mul(vRest, d)), 0);
    const c = f64x2.promote_low_f32x4(v128.load64_zero(at(wc, b * slots + i)));
    const p = f64x2.promote_low_f32x4(v128.load64_zero(at(wp, b * slots + i)));
    const terms = f64x2.mul(d, f64x2.sub(c, p));
    dg += f64x2.extract_lane(terms, 0);
    dg += f64x2.extract_lane(terms, 1);
  }
  for (; i < slots; i++) {
    const d = load<f64>(powered + (<usize>i) * 8);
    store<f32>(at(dwc, i), <f32>(gb * d));
    store<f32>(at(dwp, i), <f32>((1 - gb) * d));
    dg += d * (<f64>load<f32>(at(wc, b * slots + i)) - <f64>load<f32>(at(wp, b * slots + i)));
  }
  store<f32>(at(out, dgBase + b), <f32>dg);
  // ds(k) = Σ_i dw̃(i)·w^g(i − (k − half)), each sum in slot order. Two shifts at a time, one per f64 lane: lane 0 sums
  // shift k + 1's terms and lane 1 shift k's, whose w^g is the next slot, so both come from one load where no index
  // wraps.
  let k = 0;
  for (; k + 2 <= shifts; k += 2) {
    const lag = k + 1 - half; // lane 0 reads w^g(i − lag), lane 1 w^g(i − lag + 1)
    const first = min(max(lag, 0), slots);
    const last = max(first, min(slots - 1 + lag, slots));
    let sum0: f64 = 0;
    let sum1: f64 = 0;
    i = 0;
    for (; i < first; i++) {
      const d = load<f64>(dShifted + (<usize>i) * 8);
      sum0 += d * load<f64>(gated + (<usize>wrap(i - lag, slots)) * 8);
      sum1 += d * load<f64>(gated + (<usize>wrap(i - lag + 1, slots)) * 8);
    }
    let sums = f64x2.replace_lane(f64x2.splat(sum0), 1, sum1);
    for (; i < last; i++) sums = f64x2.add(sums, f64x2.mul(v128.load64_splat(dShifted + (<usize>i) * 8), v128.load(gated + (<usize>(i - lag)) * 8)));
    sum0 = f64x2.extract_lane(sums, 0);
    sum1 = f64x2.extract_lane(sums, 1);
    for (; i < slots; i++) {
      const d = load<f64>(dShifted + (<usize>i) * 8);
      sum0 += d * load<f64>(gated + (<usize>wrap(i - lag, slots)) * 8);
      sum1 += d * load<f64>(gated + (<usize>wrap(i - lag + 1, slots)) * 8);
    }
    store<f32>(at(out, dsBase + b * shifts + k), <f32>sum1);
    store<f32>(at(out, dsBase + b * shifts + k + 1), <f32>sum0);
  }
  for (; k < shifts; k++) {
    // One shift: no wrap between its first and last unwrapped slot.
    const lag = k - half;
    const first = min(max(lag, 0), slots);
    const last = max(first, min(slots + lag, slots));
    let ds: f64 = 0;
    i = 0;
    for (; i < first; i++) ds += load<f64>(dShifted + (<usize>i) * 8) * load<f64>(gated + (<usize>wrap(i - lag, slots)) * 8);
    for (; i < last; i++) ds += load<f64>(dShifted + (<usize>i) * 8) * load<f64>(gated + (<usize>(i - lag)) * 8);
    for (; i < slots; i++) ds += load<f64>(dShifted + (<usize>i) * 8) * load<f64>(gated + (<usize>wrap(i - lag, slots)) * 8);
    store<f32>(at(out, dsBase + b * shifts + k), <f32>ds);
  }
}
