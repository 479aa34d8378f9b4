// WebAssembly version of @engram/tensor's cumulative product along rows and its backward (the DNC's
// allocation weighting). Same arithmetic as src/cpu/reference-kernels.ts; f64 running products, as there.

import { lanesSum } from './attention';
import { demoteFour, promoteHigh, promoteLow } from './fastmath';
import { multiplyAdd } from './matmul';
import { F, at } from './pointers';

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

/**
 * The DNC's link update: out[b, i, j] = (1 − w_i − w_j)·L[b, i, j] + w_i·p_j, 0 on the diagonal. In f64, four
 * columns at a time as two f64x2 (the same operations per element as one at a time, so the same bits).
 */
export function temporalLink(link: usize, precedence: usize, write: usize, out: usize, batch: i32, slots: i32): void {
  const one = f64x2.splat(1);
  for (let b = 0; b < batch; b++) {
    const row0 = b * slots;
    const wb = at(write, row0);
    const pb = at(precedence, row0);
    for (let i = 0; i < slots; i++) {
      const wi = <f64>load<f32>(at(write, row0 + i));
      const vwi = f64x2.splat(wi);
      const oneLessWi = f64x2.sub(one, vwi);
      const base = (row0 + i) * slots;
      let j = 0;
      for (; j + 4 <= slots; j += 4) {
        const l = v128.load(at(link, base + j));
        const w = v128.load(at(wb, j));
        const p = v128.load(at(pb, j));
        const low = f64x2.add(f64x2.mul(f64x2.sub(oneLessWi, promoteLow(w)), promoteLow(l)), f64x2.mul(vwi, promoteLow(p)));
        const high = f64x2.add(f64x2.mul(f64x2.sub(oneLessWi, promoteHigh(w)), promoteHigh(l)), f64x2.mul(vwi, promoteHigh(p)));
        v128.store(at(out, base + j), demoteFour(low, high));
      }
      for (; j < slots; j++) {
        const keep = <f64>1 - wi - <f64>load<f32>(at(wb, j));
        store<f32>(at(out, base + j), <f32>(keep * <f64>load<f32>(at(link, base + j)) + wi * <f64>load<f32>(at(pb, j))));
      }
      store<f32>(at(out, base + i), 0);
    }
  }
}

/**
 * Backward of temporalLink: out = [dL (batch·N·N), dp (batch·N), dw (batch·N)]; temp holds 2·N f64 column sums. `out`
 * may be `grad` (the DNC's kernel passes its dL, with room after it, for both): each dL element is written after its
 * gradient was read. Four columns at a time in f64x2 pairs, the block holding the diagonal one at a time; each
 * element's operations, and the order in which dw_i adds its row's terms, are those of one column at a time.
 */
export function temporalLinkBackward(link: usize, precedence: usize, write: usize, grad: usize, out: usize, batch: i32, slots: i32, temp: usize): void {
  const cells = batch * slots * slots;
  const dpAt = cells;
  const dwAt = cells + batch * slots;
  const dp = temp;
  const dwColumn = temp + (<usize>slots) * 8;
  const one = f64x2.splat(1);
  for (let b = 0; b < batch; b++) {
    memory.fill(temp, 0, (<usize>slots) * 16);
    const row0 = b * slots;
    const wb = at(write, row0);
    const pb = at(precedence, row0);
    for (let i = 0; i < slots; i++) {
      const wi = <f64>load<f32>(at(write, row0 + i));
      const vwi = f64x2.splat(wi);
      const oneLessWi = f64x2.sub(one, vwi);
      let dwi: f64 = 0;
      const base = (row0 + i) * slots;
      let j = 0;
      for (; j + 4 <= slots; j += 4) {
        if (i >= j && i < j + 4) {
          for (let q = j; q < j + 4; q++) dwi = linkBackwardOne(link, pb, wb, grad, out, dp, dwColumn, base, i, q, wi, dwi);
          continue;
        }
        const g4 = v128.load(at(grad, base + j));
        const l4 = v128.load(at(link, base + j));
        const w4 = v128.load(at(wb, j));
        const p4 = v128.load(at(pb, j));
        const pdp = dp + (<usize>j) * 8;
        const pdw = dwColumn + (<usize>j) * 8;
        const gLow = promoteLow(g4), gHigh = promoteHigh(g4), lLow = promoteLow(l4), lHigh = promoteHigh(l4);
        v128.store(at(out, base + j), demoteFour(f64x2.mul(gLow, f64x2.sub(oneLessWi, promoteLow(w4))), f64x2.mul(gHigh, f64x2.sub(oneLessWi, promoteHigh(w4)))));
        v128.store(pdp, f64x2.add(v128.load(pdp), f64x2.mul(gLow, vwi)));
        v128.store(pdp, f64x2.add(v128.load(pdp, 16), f64x2.mul(gHigh, vwi)), 16);
        const tLow = f64x2.mul(gLow, f64x2.sub(promoteLow(p4), lLow));
        const tHigh = f64x2.mul(gHigh, f64x2.sub(promoteHigh(p4), lHigh));
        dwi += f64x2.extract_lane(tLow, 0);
        dwi += f64x2.extract_lane(tLow, 1);
        dwi += f64x2.extract_lane(tHigh, 0);
        dwi += f64x2.extract_lane(tHigh, 1);
        v128.store(pdw, f64x2.sub(v128.load(pdw), f64x2.mul(gLow, lLow)));
        v128.store(pdw, f64x2.sub(v128.load(pdw, 16), f64x2.mul(gHigh, lHigh)), 16);
      }
      for (; j < slots; j++) dwi = linkBackwardOne(link, pb, wb, grad, out, dp, dwColumn, base, i, j, wi, dwi);
      store<f32>(at(out, dwAt + row0 + i), <f32>dwi);
    }
    for (let j = 0; j < slots; j++) {
      store<f32>(at(out, dpAt + row0 + j), <f32>load<f64>(dp + (<usize>j) * 8));
      const w = at(out, dwAt + row0 + j);
      store<f32>(w, <f32>(<f64>load<f32>(w) + load<f64>(dwColumn + (<usize>j) * 8)));
    }
  }
}

/** One element (i, j) of temporalLinkBackward (0 on the diagonal): its dL, dp_j and dw column terms; returns dw_i with its term. */
@inline function linkBackwardOne(link: usize, pb: usize, wb: usize, grad: usize, out: usize, dp: usize, dwColumn: usize, base: i32, i: i32, j: i32, wi: f64, dwi: f64): f64 {
  if (i == j) {
    store<f32>(at(out, base + j), 0);
    return dwi;
  }
  const g = <f64>load<f32>(at(grad, base + j));
  const l = <f64>load<f32>(at(link, base + j));
  store<f32>(at(out, base + j), <f32>(g * (<f64>1 - wi - <f64>load<f32>(at(wb, j)))));
  const dpj = dp + (<usize>j) * 8;
  store<f64>(dpj, load<f64>(dpj) + g * wi);
  const dwj = dwColumn + (<usize>j) * 8;
  store<f64>(dwj, load<f64>(dwj) - g * l);
  return dwi + g * (<f64>load<f32>(at(pb, j)) - l);
}

/** Bytes of scratch temporalLinkBackward needs. */
export function temporalLinkTempBytes(slots: i32): i32 {
  return slots * 16;
}

/**
 * out = [batch, 2, heads, slots]: f_r = L w_r and b_r = Lᵀ w_r for every read head r, one pass over the rows of L
 * (row i gives f_r(i) = L_i · w_r and adds w_r(i) L_i into b_r).
 */
export function linkWeightings(link: usize, reads: usize, out: usize, batch: i32, slots: i32, heads: i32): void {
  memory.fill(out, 0, (<usize>(batch * 2 * heads * slots)) * F);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < slots; i++) {
      const row = at(link, (b * slots + i) * slots);
      for (let r = 0; r < heads; r++) {
        const w = at(reads, (b * heads + r) * slots);
        const wi = load<f32>(at(w, i));
        // f_r(i) = L_i · w_r beside b_r += w_r(i) L_i in one pass (the dot's and the axpy's operations, in their order).
        const back = at(out, (b * 2 * heads + heads + r) * slots);
        const vwi = f32x4.splat(wi);
        let sums = f32x4.splat(0);
        let j = 0;
        for (; j + 4 <= slots; j += 4) {
          const l = v128.load(at(row, j));
          sums = multiplyAdd(l, v128.load(at(w, j)), sums);
          if (wi != 0) v128.store(at(back, j), multiplyAdd(vwi, l, v128.load(at(back, j))));
        }
        let total = lanesSum(sums);
        for (let k = j; k < slots; k++) {
          const l = load<f32>(at(row, k));
          total += l * load<f32>(at(w, k));
          if (wi != 0) store<f32>(at(back, k), load<f32>(at(back, k)) + wi * l);
        }
        store<f32>(at(out, (b * 2 * heads + r) * slots + i), total);
      }
    }
  }
}

/**
 * Backward of linkWeightings: out = [dL (batch·slots·slots), dw (batch·heads·slots)]. Row i of dL is
 * Σ_r gf_r(i) w_r + w_r(i) gb_r; dw_r gets gf_r(i) L_i (Lᵀ gf_r) and, at i, L_i · gb_r (L gb_r); one pass over L.
 */
export function linkWeightingsBackward(link: usize, reads: usize, grad: usize, out: usize, batch: i32, slots: i32, heads: i32): void {
  const cells = batch * slots * slots;
  memory.fill(out, 0, (<usize>(cells + batch * heads * slots)) * F);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < slots; i++) {
      const row = at(link, (b * slots + i) * slots);
      const dRow = at(out, (b * slots + i) * slots);
      for (let r = 0; r < heads; r++) {
        const w = at(reads, (b * heads + r) * slots);
        const gf = at(grad, (b * 2 * heads + r) * slots);
        const gb = at(grad, (b * 2 * heads + heads + r) * slots);
        const dw = at(out, cells + (b * heads + r) * slots);
        const gfi = load<f32>(at(gf, i));
        const wi = load<f32>(at(w, i));
        // dRow += gfi·w, then += w_i·gb, element by element (two axpy passes in one); dw += gfi·row beside L_i · gb
        // (an axpy and a dot in one pass). The same operations in the same order as the four passes.
        const vgf = f32x4.splat(gfi);
        const vwi = f32x4.splat(wi);
        let sums = f32x4.splat(0);
        let j = 0;
        for (; j + 4 <= slots; j += 4) {
          const g = v128.load(at(gb, j));
          const l = v128.load(at(row, j));
          const pr = at(dRow, j);
          v128.store(pr, multiplyAdd(vwi, g, multiplyAdd(vgf, v128.load(at(w, j)), v128.load(pr))));
          if (gfi != 0) {
            const pd = at(dw, j);
            v128.store(pd, multiplyAdd(vgf, l, v128.load(pd)));
          }
          sums = multiplyAdd(l, g, sums);
        }
        let total = lanesSum(sums);
        for (let k = j; k < slots; k++) {
          const pr = at(dRow, k);
          store<f32>(pr, load<f32>(pr) + gfi * load<f32>(at(w, k)) + wi * load<f32>(at(gb, k)));
          if (gfi != 0) store<f32>(at(dw, k), load<f32>(at(dw, k)) + gfi * load<f32>(at(row, k)));
          total += load<f32>(at(row, k)) * load<f32>(at(gb, k));
        }
        store<f32>(at(dw, i), load<f32>(at(dw, i)) + total);
      }
    }
  }
}
