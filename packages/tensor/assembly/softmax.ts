// WebAssembly SIMD version of @engram/tensor's fused softmax cross-entropy and its backward (the
// language model's output layer: rows × a vocabulary of 10,000). Same arithmetic as
// src/cpu/reference-kernels.ts, four classes per instruction, with a vectorised exp.

import { exp4 } from './fastmath';
import { at } from './pointers';

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

/** A row's gradient from its terms e^(x_j − top) at `o` and their sum: o_j ← g·(o_j / total) − g·[j = label], in place. */
@inline function gradientFromTerms(o: usize, cols: i32, total: f32, label: i32, g: f32): void {
  const s = f32x4.splat(g / total);
  let j = 0;
  for (; j + 4 <= cols; j += 4) v128.store(at(o, j), f32x4.mul(v128.load(at(o, j)), s));
  for (; j < cols; j++) store<f32>(at(o, j), load<f32>(at(o, j)) * (g / total));
  const picked = at(o, label);
  store<f32>(picked, load<f32>(picked) - g);
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

/**
 * Row r of the cross-entropy with its gradient: the row's terms e^(x_j − top) into `o`, then o_j ← g·softmax_j −
 * g·[j = label]; returns the row's cross-entropy.
 */
@inline function rowWithGradient(x: usize, labels: usize, r: i32, cols: i32, o: usize, g: f32): f32 {
  const row = at(x, r * cols);
  const top = rowMax(row, cols);
  const total = rowExpSum(row, cols, top, o);
  const label = load<i32>(at(labels, r));
  const loss = <f32>Math.log(<f64>total) + top - load<f32>(at(row, label));
  gradientFromTerms(o, cols, total, label, g);
  return loss;
}

/** out(r, j) = grad(r)·(softmax(x_r)_j − [j = label_r]). */
export function softmaxCrossEntropyBackward(x: usize, labels: usize, grad: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) rowWithGradient(x, labels, r, cols, at(out, r * cols), load<f32>(at(grad, r)));
}

/**
 * softmaxCrossEntropy and softmaxCrossEntropyBackward with grad(r) = 1 (a summed loss) in one pass over each row:
 * loss(r) the cross-entropy, dx(r, j) = softmax(x_r)_j − [j = label_r]. The same operations as the two kernels, so
 * the same bits, with the row's maximum and exponentials computed once.
 */
export function softmaxCrossEntropyWithGradient(x: usize, labels: usize, loss: usize, dx: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) store<f32>(at(loss, r), rowWithGradient(x, labels, r, cols, at(dx, r * cols), 1));
}
