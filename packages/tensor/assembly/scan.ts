// WebAssembly version of @engram/tensor's cumulative product along rows and its backward (the DNC's
// allocation weighting). Same arithmetic as src/cpu/reference-kernels.ts; f64 running products, as there.

import { at } from './pointers';

/** out[r, i] = Π_{j<i} x[r, j] (exclusive) or Π_{j≤i} x[r, j]. */
export function cumulativeProduct(x: usize, out: usize, rows: i32, cols: i32, exclusive: bool): void {
  for (let r = 0; r < rows; r++) {
    let product: f64 = 1;
    for (let i = 0; i < cols; i++) {
      const v = <f64>load<f32>(at(x, r * cols + i));
      if (!exclusive) product *= v;
      store<f32>(at(out, r * cols + i), <f32>product);
      if (exclusive) product *= v;
    }
  }
}

/** Backward: dx_j = (Π_{k<j} x_k)·S_j, S_j run from the end of the row (no division). */
export function cumulativeProductBackward(x: usize, grad: usize, out: usize, rows: i32, cols: i32, exclusive: bool): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let later: f64 = 0;
    for (let j = cols - 1; j >= 0; j--) {
      const next: f64 = j + 1 < cols ? <f64>load<f32>(at(x, base + j + 1)) : 0;
      if (exclusive) later = j + 1 < cols ? <f64>load<f32>(at(grad, base + j + 1)) + next * later : 0;
      else later = <f64>load<f32>(at(grad, base + j)) + next * later;
      store<f32>(at(out, base + j), <f32>later);
    }
    let prefix: f64 = 1;
    for (let j = 0; j < cols; j++) {
      store<f32>(at(out, base + j), <f32>(<f64>load<f32>(at(out, base + j)) * prefix));
      prefix *= <f64>load<f32>(at(x, base + j));
    }
  }
}
