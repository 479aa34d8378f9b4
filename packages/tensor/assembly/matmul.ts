// WebAssembly SIMD matrix multiply for @engram/tensor's cpu backend (AssemblyScript).
//
// C[m×n] = A[m×k] · B[k×n], row-major C; A and B are read through element strides, so transposed
// operands need no copy. Large products pack B into panels of PANEL_WIDTH columns (zero-padded,
// k rows each, contiguous) and run a 4×8 register-blocked micro-kernel over blocks of
// ROW_BLOCK rows of A, so a block of A stays in L2 while the panels stream past. Products with
// fewer than 4 rows (the NTM's batch-1 shapes) skip packing and stream B's rows directly.
//
// Built twice by scripts/build-wasm.mjs: plain SIMD, and relaxed SIMD where multiply-add is fused.

import { F as FLOAT_BYTES, at } from './pointers';

const PANEL_WIDTH: i32 = 8;
const ROW_BLOCK: i32 = 64;
const SCRATCH: usize = memory.data(16 * 4 * 2);

@inline export function multiplyAdd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(f32x4.mul(a, b), acc);
}


// The two steps of a 4 × 4 transpose of vectors r0..r3 (transposeFour below; laneSums in memory.ts): interleave rows
// (0, 1) and (2, 3) with interleaveLow and interleaveHigh, then join those with lowHalves and highHalves.

/** Lanes 0 and 1 of a and b interleaved: (a0, b0, a1, b1). */
@inline export function interleaveLow(a: v128, b: v128): v128 {
  return i32x4.shuffle(a, b, 0, 4, 1, 5);
}

/** Lanes 2 and 3 of a and b interleaved: (a2, b2, a3, b3). */
@inline export function interleaveHigh(a: v128, b: v128): v128 {
  return i32x4.shuffle(a, b, 2, 6, 3, 7);
}

/** The low halves of a and b joined: (a0, a1, b0, b1). */
@inline export function lowHalves(a: v128, b: v128): v128 {
  return i32x4.shuffle(a, b, 0, 1, 4, 5);
}

/** The high halves of a and b joined: (a2, a3, b2, b3). */
@inline export function highHalves(a: v128, b: v128): v128 {
  return i32x4.shuffle(a, b, 2, 3, 6, 7);
}

/**
 * Four floats from each of four columns (column c's at src + c·column bytes, contiguous) written as four rows of a
 * panel: row r (32 bytes apart from the next) gets the four columns' r-th floats, at `out` + 32·r.
 */
@inline function transposeFour(src: usize, column: usize, out: usize): void {
  const r0 = v128.load(src);
  const r1 = v128.load(src + column);
  const r2 = v128.load(src + 2 * column);
  const r3 = v128.load(src + 3 * column);
  const t0 = interleaveLow(r0, r1);
  const t1 = interleaveLow(r2, r3);
  const t2 = interleaveHigh(r0, r1);
  const t3 = interleaveHigh(r2, r3);
  v128.store(out, lowHalves(t0, t1));
  v128.store(out, highHalves(t0, t1), 32);
  v128.store(out, lowHalves(t2, t3), 64);
  v128.store(out, highHalves(t2, t3), 96);
}

/** Copies B (element (p, j) at b[p*sBk + j*sBj]) into zero-padded panels of PANEL_WIDTH columns. */
function packB(b: usize, pack: usize, k: i32, n: i32, sBk: i32, sBj: i32): void {
  const panels = (n + PANEL_WIDTH - 1) / PANEL_WIDTH;
  let out = pack;
  for (let panel = 0; panel < panels; panel++) {
    const j0 = panel * PANEL_WIDTH;
    const width = min(PANEL_WIDTH, n - j0);
    if (width == PANEL_WIDTH && sBj == 1) {
      for (let p = 0; p < k; p++) {
        const src = at(b, p * sBk + j0);
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
        out += 32;
      }
    } else if (width == PANEL_WIDTH && sBk == 1) {
      // B transposed (each of the panel's columns contiguous in p): four p at a time from each of the eight columns,
      // transposed in registers, two 4 × 4 blocks per four rows of the panel.
      const column = (<usize>sBj) * FLOAT_BYTES;
      const c0 = at(b, j0 * sBj);
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const src = c0 + (<usize>p) * FLOAT_BYTES;
        transposeFour(src, column, out);
        transposeFour(src + 4 * column, column, out + 16);
        out += 128;
      }
      for (; p < k; p++) {
        for (let c = 0; c < PANEL_WIDTH; c++) store<f32>(out + (<usize>c) * FLOAT_BYTES, load<f32>(at(b, p + (j0 + c) * sBj)));
        out += 32;
      }
    } else {
      for (let p = 0; p < k; p++) {
        for (let c = 0; c < PANEL_WIDTH; c++) {
          const value: f32 = c < width ? load<f32>(at(b, p * sBk + (j0 + c) * sBj)) : 0;
          store<f32>(out + (<usize>c) * FLOAT_BYTES, value);
        }
        out += 32;
      }
    }
  }
}

@inline function storeRow(c: usize, lo: v128, hi: v128, width: i32): void {
  if (width == PANEL_WIDTH) {
    v128.store(c, lo);
    v128.store(c, hi, 16);
  } else {
    v128.store(SCRATCH, lo);
    v128.store(SCRATCH, hi, 16);
    memory.copy(c, SCRATCH, (<usize>width) * FLOAT_BYTES);
  }
}

/** Four rows of A times one packed panel: 8 accumulators of 4 lanes. */
function kernel4x8(a: usize, panel: usize, c: usize, i: i32, j0: i32, width: i32, k: i32, n: i32, sAi: i32, sAk: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  const rowStride = (<usize>sAi) * FLOAT_BYTES;
  const step = (<usize>sAk) * FLOAT_BYTES;
  let pa = at(a, i * sAi);
  let pb = panel;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = v128.load32_splat(pa);
    const a1 = v128.load32_splat(pa + rowStride);
    const a2 = v128.load32_splat(pa + 2 * rowStride);
    const a3 = v128.load32_splat(pa + 3 * rowStride);
    c00 = multiplyAdd(a0, b0, c00);
    c01 = multiplyAdd(a0, b1, c01);
    c10 = multiplyAdd(a1, b0, c10);
    c11 = multiplyAdd(a1, b1, c11);
    c20 = multiplyAdd(a2, b0, c20);
    c21 = multiplyAdd(a2, b1, c21);
    c30 = multiplyAdd(a3, b0, c30);
    c31 = multiplyAdd(a3, b1, c31);
    pa += step;
    pb += 32;
  }
  const rowC = (<usize>n) * FLOAT_BYTES;
  const pc = at(c, i * n + j0);
  storeRow(pc, c00, c01, width);
  storeRow(pc + rowC, c10, c11, width);
  storeRow(pc + 2 * rowC, c20, c21, width);
  storeRow(pc + 3 * rowC, c30, c31, width);
}

/** One row of A times one packed panel. */
function kernel1x8(a: usize, panel: usize, c: usize, i: i32, j0: i32, width: i32, k: i32, n: i32, sAi: i32, sAk: i32): void {
  let lo = f32x4.splat(0), hi = f32x4.splat(0);
  const step = (<usize>sAk) * FLOAT_BYTES;
  let pa = at(a, i * sAi);
  let pb = panel;
  for (let p = 0; p < k; p++) {
    const av = v128.load32_splat(pa);
    lo = multiplyAdd(av, v128.load(pb), lo);
    hi = multiplyAdd(av, v128.load(pb, 16), hi);
    pa += step;
    pb += 32;
  }
  storeRow(at(c, i * n + j0), lo, hi, width);
}

/** Few rows, B with contiguous rows: stream B directly, 16 columns at a time. */
function rowsDirect(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, sAi: i32, sAk: i32, sBk: i32): void {
  for (let i = 0; i < m; i++) {
    const rowA = at(a, i * sAi);
    const step = (<usize>sAk) * FLOAT_BYTES;
    let j = 0;
    for (; j + 16 <= n; j += 16) {
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let pa = rowA;
      for (let p = 0; p < k; p++) {
        const av = v128.load32_splat(pa);
        const pb = at(b, p * sBk + j);
        s0 = multiplyAdd(av, v128.load(pb), s0);
        s1 = multiplyAdd(av, v128.load(pb, 16), s1);
        s2 = multiplyAdd(av, v128.load(pb, 32), s2);
        s3 = multiplyAdd(av, v128.load(pb, 48), s3);
        pa += step;
      }
      const pc = at(c, i * n + j);
      v128.store(pc, s0);
      v128.store(pc, s1, 16);
      v128.store(pc, s2, 32);
      v128.store(pc, s3, 48);
    }
    for (; j + 4 <= n; j += 4) {
      let s = f32x4.splat(0);
      let pa = rowA;
      for (let p = 0; p < k; p++) {
        s = multiplyAdd(v128.load32_splat(pa), v128.load(at(b, p * sBk + j)), s);
        pa += step;
      }
      v128.store(at(c, i * n + j), s);
    }
    for (; j < n; j++) {
      let s: f32 = 0;
      for (let p = 0; p < k; p++) s += load<f32>(at(a, i * sAi + p * sAk)) * load<f32>(at(b, p * sBk + j));
      store<f32>(at(c, i * n + j), s);
    }
  }
}

/** Bytes that `pack` writes for a B with k rows and n columns. */
export function packBytes(k: i32, n: i32): i32 {
  return ((n + PANEL_WIDTH - 1) / PANEL_WIDTH) * PANEL_WIDTH * k * 4;
}

/** Packs B (element (p, j) at b[p*sBk + j*sBj]) into `dst` (packBytes(k, n) bytes). */
export function pack(b: usize, dst: usize, k: i32, n: i32, sBk: i32, sBj: i32): void {
  packB(b, dst, k, n, sBk, sBj);
}

/**
 * C = A · B with B already packed by `pack`. A's element (i, p) is at a[i*sAi + p*sAk]; C is
 * written row-major, m × n.
 */
export function multiplyPacked(a: usize, packed: usize, c: usize, m: i32, k: i32, n: i32, sAi: i32, sAk: i32): void {
  const panels = (n + PANEL_WIDTH - 1) / PANEL_WIDTH;
  const panelBytes = (<usize>k) * PANEL_WIDTH * FLOAT_BYTES;
  for (let i0 = 0; i0 < m; i0 += ROW_BLOCK) {
    const i1 = min(m, i0 + ROW_BLOCK);
    for (let panel = 0; panel < panels; panel++) {
      const bp = packed + (<usize>panel) * panelBytes;
      const j0 = panel * PANEL_WIDTH;
      const width = min(PANEL_WIDTH, n - j0);
      let i = i0;
      for (; i + 4 <= i1; i += 4) kernel4x8(a, bp, c, i, j0, width, k, n, sAi, sAk);
      for (; i < i1; i++) kernel1x8(a, bp, c, i, j0, width, k, n, sAi, sAk);
    }
  }
}

/** C = A · B for B with contiguous rows (sBj = 1), without packing: best for a few rows of A. */
export function multiplyDirect(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, sAi: i32, sAk: i32, sBk: i32): void {
  rowsDirect(a, b, c, m, k, n, sAi, sAk, sBk);
}

/**
 * A batch of small products in one call (attention scores and reads: [B, M, d]·[B, d, 1] and the
 * like), where packing and a call per product would cost more than the arithmetic. Entry t uses
 * A at a + t·strideA and B at b + t·strideB (strides in elements, 0 for a shared operand) and
 * writes C contiguously. Vectorised over B's columns when they are contiguous, else over k when
 * both operands are contiguous along it, else scalar.
 */
export function multiplySmallBatched(
  a: usize,
  b: usize,
  c: usize,
  batch: i32,
  m: i32,
  k: i32,
  n: i32,
  sAi: i32,
  sAk: i32,
  sBk: i32,
  sBj: i32,
  strideA: i32,
  strideB: i32,
): void {
  for (let t = 0; t < batch; t++) {
    const ta = at(a, t * strideA);
    const tb = at(b, t * strideB);
    const tc = at(c, t * m * n);
    for (let i = 0; i < m; i++) {
      const row = at(tc, i * n);
      if (sBj == 1) {
        let j = 0;
        for (; j + 4 <= n; j += 4) {
          let acc = f32x4.splat(0);
          for (let p = 0; p < k; p++) acc = multiplyAdd(v128.load32_splat(at(ta, i * sAi + p * sAk)), v128.load(at(tb, p * sBk + j)), acc);
          v128.store(at(row, j), acc);
        }
        for (; j < n; j++) {
          let acc: f32 = 0;
          for (let p = 0; p < k; p++) acc += load<f32>(at(ta, i * sAi + p * sAk)) * load<f32>(at(tb, p * sBk + j));
          store<f32>(at(row, j), acc);
        }
      } else if (sAk == 1 && sBk == 1) {
        for (let j = 0; j < n; j++) {
          const pa = at(ta, i * sAi);
          const pb = at(tb, j * sBj);
          let acc = f32x4.splat(0);
          let p = 0;
          for (; p + 4 <= k; p += 4) acc = multiplyAdd(v128.load(at(pa, p)), v128.load(at(pb, p)), acc);
          let total: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
          for (; p < k; p++) total += load<f32>(at(pa, p)) * load<f32>(at(pb, p));
          store<f32>(at(row, j), total);
        }
      } else {
        for (let j = 0; j < n; j++) {
          let acc: f32 = 0;
          for (let p = 0; p < k; p++) acc += load<f32>(at(ta, i * sAi + p * sAk)) * load<f32>(at(tb, p * sBk + j * sBj));
          store<f32>(at(row, j), acc);
        }
      }
    }
  }
}

/** First byte after the module's static data: JavaScript places operands from here on. */
export function heapBase(): usize {
  return __heap_base;
}
