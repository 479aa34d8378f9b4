// WebAssembly SIMD version of @engram/tensor's fused softmax cross-entropy and its backward (the
// language model's output layer: rows × a vocabulary of 10,000). Same arithmetic as
// src/cpu/reference-kernels.ts, four classes per instruction, with a vectorised exp.

import { at } from './pointers';

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;

/**
 * e^x for four lanes: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by a degree-6 polynomial (Cephes'
 * expf coefficients, relative error < 2e-7), then 2^n built in the exponent bits. Inputs here are
 * x − max ≤ 0; below −87 the result is flushed to 0.
 */
@inline function exp4(x: v128): v128 {
  const clamped = f32x4.max(x, f32x4.splat(-87.0));
  const n = f32x4.nearest(f32x4.mul(clamped, f32x4.splat(LOG2E)));
  let r = f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  p = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1.0));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  const result = f32x4.mul(p, scale);
  // Flush lanes that were clamped (x < −87) to exactly 0.
  return v128.and(result, f32x4.ge(x, f32x4.splat(-87.0)));
}

/** max over a row of `cols` floats. */
@inline function rowMax(row: usize, cols: i32): f32 {
  let acc = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= cols; j += 4) acc = f32x4.max(acc, v128.load(at(row, j)));
  let top = Mathf.max(Mathf.max(f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1)), Mathf.max(f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3)));
  for (; j < cols; j++) top = Mathf.max(top, load<f32>(at(row, j)));
  return top;
}

/** Σ_j e^(x_j − top) over a row; with `out` ≠ 0 also stores each term there. */
@inline function rowExpSum(row: usize, cols: i32, top: f32, out: usize): f32 {
  const t = f32x4.splat(top);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const e = exp4(f32x4.sub(v128.load(at(row, j)), t));
    if (out != 0) v128.store(at(out, j), e);
    acc = f32x4.add(acc, e);
  }
  let total: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; j < cols; j++) {
    const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(at(row, j)) - top)), 0);
    if (out != 0) store<f32>(at(out, j), e);
    total += e;
  }
  return total;
}

/** out(r) = log Σ_j e^{x(r,j)} − x(r, label_r): the cross-entropy of each row's softmax. */
export function softmaxCrossEntropy(x: usize, labels: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = at(x, r * cols);
    const top = rowMax(row, cols);
    const total = rowExpSum(row, cols, top, 0);
    store<f32>(at(out, r), <f32>Math.log(<f64>total) + top - load<f32>(at(row, load<i32>(at(labels, r)))));
  }
}

/** out(r, j) = grad(r)·(softmax(x_r)_j − [j = label_r]). */
export function softmaxCrossEntropyBackward(x: usize, labels: usize, grad: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = at(x, r * cols);
    const o = at(out, r * cols);
    const top = rowMax(row, cols);
    const total = rowExpSum(row, cols, top, o);
    const g = load<f32>(at(grad, r));
    const s = f32x4.splat(g / total);
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(at(o, j), f32x4.mul(v128.load(at(o, j)), s));
    for (; j < cols; j++) store<f32>(at(o, j), load<f32>(at(o, j)) * (g / total));
    const label = at(o, load<i32>(at(labels, r)));
    store<f32>(label, load<f32>(label) - g);
  }
}
