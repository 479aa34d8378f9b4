// WebAssembly SIMD versions of @engram/tensor's fused external-memory kernels (NTM eq. 3–4 and 6).
// Same arithmetic as the TypeScript reference in src/cpu/reference-kernels.ts, four memory columns
// per instruction. Pointers are byte offsets into linear memory; all arrays are f32, row-major.

import { F, at } from './pointers';

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
        v128.store(at(out, base + j), f32x4.add(f32x4.mul(m, f32x4.sub(one, f32x4.mul(ws, ev))), f32x4.mul(ws, av)));
      }
      for (; j < width; j++) {
        store<f32>(at(out, base + j), load<f32>(at(mem, base + j)) * (1 - wi * load<f32>(at(eb, j))) + wi * load<f32>(at(ab, j)));
      }
    }
  }
}

/** Backward of memoryWrite: out = [dM (batch·rows·width), dw (batch·rows), de (batch·width), da (batch·width)]. */
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
    for (let i = 0; i < rows; i++) {
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
        v128.store(at(out, base + j), f32x4.mul(g, f32x4.sub(one, f32x4.mul(ws, ev))));
        dwv = f32x4.add(dwv, f32x4.mul(g, f32x4.sub(av, f32x4.mul(m, ev))));
        const gw = f32x4.mul(g, ws);
        v128.store(at(deb, j), f32x4.sub(v128.load(at(deb, j)), f32x4.mul(gw, m)));
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
    dot = f32x4.add(dot, f32x4.mul(m, v128.load(at(y, yBase + j))));
    squares = f32x4.add(squares, f32x4.mul(m, m));
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

/** out(b, i) = M(b, i)·k(b) / (‖M(b, i)‖·‖k(b)‖ + ε). */
export function rowCosine(mem: usize, key: usize, out: usize, batch: i32, rows: i32, width: i32, epsilon: f32): void {
  for (let b = 0; b < batch; b++) {
    const keyNorm = Mathf.sqrt(f32x4.extract_lane(dotAndSquares(key, b * width, key, b * width, width), 1));
    for (let i = 0; i < rows; i++) {
      const ds = dotAndSquares(mem, (b * rows + i) * width, key, b * width, width);
      store<f32>(at(out, b * rows + i), f32x4.extract_lane(ds, 0) / (Mathf.sqrt(f32x4.extract_lane(ds, 1)) * keyNorm + epsilon));
    }
  }
}

/** Backward of rowCosine: out = [dM (batch·rows·width), dk (batch·width)]. */
export function rowCosineBackward(mem: usize, key: usize, grad: usize, out: usize, batch: i32, rows: i32, width: i32, epsilon: f32): void {
  const cells = batch * rows * width;
  const dk = at(out, cells);
  memory.fill(dk, 0, (<usize>(batch * width)) * F);
  for (let b = 0; b < batch; b++) {
    const kb = b * width;
    const keyNorm = Mathf.sqrt(f32x4.extract_lane(dotAndSquares(key, kb, key, kb, width), 1));
    const dkb = at(dk, kb);
    for (let i = 0; i < rows; i++) {
      const base = (b * rows + i) * width;
      const ds = dotAndSquares(mem, base, key, kb, width);
      const dot = f32x4.extract_lane(ds, 0);
      const norm = Mathf.sqrt(f32x4.extract_lane(ds, 1));
      const denominator = norm * keyNorm + epsilon;
      const g = load<f32>(at(grad, b * rows + i));
      const s = dot / denominator;
      const memoryTerm: f32 = norm > 0 ? (s * keyNorm) / (norm * denominator) : 0;
      const keyTerm: f32 = keyNorm > 0 ? (s * norm) / (keyNorm * denominator) : 0;
      const gOverD = f32x4.splat(g / denominator);
      const gMemory = f32x4.splat(g * memoryTerm);
      const gKey = f32x4.splat(g * keyTerm);
      let j = 0;
      for (; j + 4 <= width; j += 4) {
        const m = v128.load(at(mem, base + j));
        const k = v128.load(at(key, kb + j));
        v128.store(at(out, base + j), f32x4.sub(f32x4.mul(gOverD, k), f32x4.mul(gMemory, m)));
        v128.store(at(dkb, j), f32x4.add(v128.load(at(dkb, j)), f32x4.sub(f32x4.mul(gOverD, m), f32x4.mul(gKey, k))));
      }
      for (; j < width; j++) {
        const m = load<f32>(at(mem, base + j));
        const k = load<f32>(at(key, kb + j));
        store<f32>(at(out, base + j), g * (k / denominator - memoryTerm * m));
        store<f32>(at(dkb, j), load<f32>(at(dkb, j)) + g * (m / denominator - keyTerm * k));
      }
    }
  }
}

/** Bytes of temporary space locationAddress and its backward need for `slots` memory rows. */
export function locationTempBytes(slots: i32): i32 {
  return 5 * slots * 8;
}

@inline function wrap(index: i32, slots: i32): i32 {
  return ((index % slots) + slots) % slots;
}

/**
 * Forward quantities of location addressing for batch row b, in f64, into temp:
 * gated at temp, shifted at temp + N·8, powered at temp + 2N·8, ln(shifted + ε) at temp + 4N·8.
 * Returns Σ powered. The power is exp(γ·ln(x)): one log (kept for the backward's dγ) and one exp
 * instead of `pow`, which costs about as much as both and was most of an NTM step's time.
 */
function locationRow(wc: usize, wp: usize, g: f64, s: usize, gamma: f64, b: i32, slots: i32, shifts: i32, epsilon: f64, temp: usize): f64 {
  const half = (shifts - 1) / 2;
  const gated = temp;
  const shifted = temp + (<usize>slots) * 8;
  const powered = temp + (<usize>(2 * slots)) * 8;
  const logs = temp + (<usize>(4 * slots)) * 8;
  for (let i = 0; i < slots; i++) {
    store<f64>(gated + (<usize>i) * 8, g * <f64>load<f32>(at(wc, b * slots + i)) + (1 - g) * <f64>load<f32>(at(wp, b * slots + i)));
  }
  let total: f64 = 0;
  for (let i = 0; i < slots; i++) {
    let acc: f64 = 0;
    for (let k = 0; k < shifts; k++) acc += <f64>load<f32>(at(s, b * shifts + k)) * load<f64>(gated + (<usize>wrap(i - (k - half), slots)) * 8);
    store<f64>(shifted + (<usize>i) * 8, acc);
    // f32 log and exp (the results are stored as f32 anyway): about half the cost of f64's.
    const lg = <f64>Mathf.log(<f32>(acc + epsilon));
    store<f64>(logs + (<usize>i) * 8, lg);
    const p = <f64>Mathf.exp(<f32>(gamma * lg));
    store<f64>(powered + (<usize>i) * 8, p);
    total += p;
  }
  return total;
}

/** NTM eq. 7–9 in one pass; see the TypeScript reference `locationAddress`. */
export function locationAddress(wc: usize, wp: usize, g: usize, s: usize, gamma: usize, out: usize, batch: i32, slots: i32, shifts: i32, epsilon: f64, temp: usize): void {
  for (let b = 0; b < batch; b++) {
    const total = locationRow(wc, wp, <f64>load<f32>(at(g, b)), s, <f64>load<f32>(at(gamma, b)), b, slots, shifts, epsilon, temp);
    const powered = temp + (<usize>(2 * slots)) * 8;
    for (let i = 0; i < slots; i++) store<f32>(at(out, b * slots + i), <f32>(load<f64>(powered + (<usize>i) * 8) / total));
  }
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
  for (let b = 0; b < batch; b++) {
    const gb = <f64>load<f32>(at(g, b));
    const gammaB = <f64>load<f32>(at(gamma, b));
    const total = locationRow(wc, wp, gb, s, gammaB, b, slots, shifts, epsilon, temp);
    let weighted: f64 = 0;
    for (let i = 0; i < slots; i++) weighted += <f64>load<f32>(at(grad, b * slots + i)) * (load<f64>(powered + (<usize>i) * 8) / total);
    let dGamma: f64 = 0;
    for (let i = 0; i < slots; i++) {
      const dp = (<f64>load<f32>(at(grad, b * slots + i)) - weighted) / total;
      const base = load<f64>(shifted + (<usize>i) * 8) + epsilon;
      const p = load<f64>(powered + (<usize>i) * 8);
      store<f64>(dShifted + (<usize>i) * 8, (dp * gammaB * p) / base);
      dGamma += dp * p * load<f64>(logs + (<usize>i) * 8);
    }
    store<f32>(at(out, dGammaBase + b), <f32>dGamma);
    // Gradient of the gated weighting accumulates in out's dwc slot (as f32) via an f64 pass per j.
    let dg: f64 = 0;
    for (let j = 0; j < slots; j++) {
      let d: f64 = 0;
      for (let k = 0; k < shifts; k++) d += <f64>load<f32>(at(s, b * shifts + k)) * load<f64>(dShifted + (<usize>wrap(j + (k - half), slots)) * 8);
      store<f32>(at(out, b * slots + j), <f32>(gb * d));
      store<f32>(at(out, n + b * slots + j), <f32>((1 - gb) * d));
      dg += d * (<f64>load<f32>(at(wc, b * slots + j)) - <f64>load<f32>(at(wp, b * slots + j)));
    }
    store<f32>(at(out, dgBase + b), <f32>dg);
    for (let k = 0; k < shifts; k++) {
      let ds: f64 = 0;
      for (let i = 0; i < slots; i++) ds += load<f64>(dShifted + (<usize>i) * 8) * load<f64>(gated + (<usize>wrap(i - (k - half), slots)) * 8);
      store<f32>(at(out, dsBase + b * shifts + k), <f32>ds);
    }
  }
}
