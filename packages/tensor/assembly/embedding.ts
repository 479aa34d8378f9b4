// WebAssembly SIMD versions of @engram/tensor's fused embedding bag (a memory network's sentence
// encoding) and its table gradient. Same arithmetic as src/cpu/reference-kernels.ts, four
// embedding columns per instruction. Pointers are byte offsets; indices are i32, the rest f32.

import { F, at } from './pointers';

/** out(n, k) = Σ_l weights(weightIndices(i), k)·table(indices(i), k), i = n·words + l. Sixteen columns at a time stay in registers while the words stream past. */
export function embeddingBag(table: usize, indices: usize, weights: usize, weightIndices: usize, out: usize, bags: i32, words: i32, width: i32): void {
  for (let n = 0; n < bags; n++) {
    const o = at(out, n * width);
    const items = at(indices, n * words);
    const weightItems = at(weightIndices, n * words);
    let k = 0;
    for (; k + 16 <= width; k += 16) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let l = 0; l < words; l++) {
        const row = at(table, load<i32>(at(items, l)) * width + k);
        const weight = at(weights, load<i32>(at(weightItems, l)) * width + k);
        a0 = f32x4.add(a0, f32x4.mul(v128.load(weight), v128.load(row)));
        a1 = f32x4.add(a1, f32x4.mul(v128.load(weight, 16), v128.load(row, 16)));
        a2 = f32x4.add(a2, f32x4.mul(v128.load(weight, 32), v128.load(row, 32)));
        a3 = f32x4.add(a3, f32x4.mul(v128.load(weight, 48), v128.load(row, 48)));
      }
      const po = o + (<usize>k) * F;
      v128.store(po, a0);
      v128.store(po, a1, 16);
      v128.store(po, a2, 32);
      v128.store(po, a3, 48);
    }
    for (; k + 4 <= width; k += 4) {
      let acc = f32x4.splat(0);
      for (let l = 0; l < words; l++) {
        const row = load<i32>(at(items, l)) * width;
        const weight = load<i32>(at(weightItems, l)) * width;
        acc = f32x4.add(acc, f32x4.mul(v128.load(at(weights, weight + k)), v128.load(at(table, row + k))));
      }
      v128.store(o + (<usize>k) * F, acc);
    }
    for (; k < width; k++) {
      let acc: f32 = 0;
      for (let l = 0; l < words; l++) {
        const row = load<i32>(at(items, l)) * width;
        acc += load<f32>(at(weights, load<i32>(at(weightItems, l)) * width + k)) * load<f32>(at(table, row + k));
      }
      store<f32>(o + (<usize>k) * F, acc);
    }
  }
}

/** Table gradient: out(rows, width) = 0, then out(indices(i), k) += weights(weightIndices(i), k)·grad(n, k), i = n·words + l. */
export function embeddingBagBackward(
  grad: usize,
  indices: usize,
  weights: usize,
  weightIndices: usize,
  out: usize,
  rows: i32,
  bags: i32,
  words: i32,
  width: i32,
): void {
  memory.fill(out, 0, (<usize>rows) * (<usize>width) * F);
  bagAccumulate(grad, indices, weights, weightIndices, out, bags, words, width);
}

/** out(indices(i), k) += weights(weightIndices(i), k)·grad(n, k), i = n·words + l, bags in order (embeddingBagBackward without the zeroing). */
export function bagAccumulate(grad: usize, indices: usize, weights: usize, weightIndices: usize, out: usize, bags: i32, words: i32, width: i32): void {
  for (let n = 0; n < bags; n++) {
    const g = at(grad, n * width);
    for (let l = 0; l < words; l++) {
      const item = n * words + l;
      const target = at(out, load<i32>(at(indices, item)) * width);
      const w = at(weights, load<i32>(at(weightIndices, item)) * width);
      let k = 0;
      for (; k + 4 <= width; k += 4) {
        const off = (<usize>k) * F;
        v128.store(target + off, f32x4.add(v128.load(target + off), f32x4.mul(v128.load(w + off), v128.load(g + off))));
      }
      for (; k < width; k++) {
        const off = (<usize>k) * F;
        store<f32>(target + off, load<f32>(target + off) + load<f32>(w + off) * load<f32>(g + off));
      }
    }
  }
}
