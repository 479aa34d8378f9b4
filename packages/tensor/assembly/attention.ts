// WebAssembly SIMD version of @engram/tensor's fused memory-network attention (End-to-End Memory
// Networks, eq. 1–2) and its backward. Same arithmetic as src/cpu/reference-kernels.ts, four
// embedding columns per instruction. Pointers are byte offsets; all arrays are f32, row-major.

import { F, at } from './pointers';

/** The sum of a vector's four lanes, in lane order. */
@inline export function lanesSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Σ_k x(k)·y(k) over `width` floats. */
@inline export function dot(x: usize, y: usize, width: i32): f32 {
  let acc = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= width; k += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(at(x, k)), v128.load(at(y, k))));
  let total = lanesSum(acc);
  for (; k < width; k++) total += load<f32>(at(x, k)) * load<f32>(at(y, k));
  return total;
}

/** out(k) += scale·x(k) over `width` floats. */
@inline export function axpy(out: usize, scale: f32, x: usize, width: i32): void {
  const s = f32x4.splat(scale);
  let k = 0;
  for (; k + 4 <= width; k += 4) v128.store(at(out, k), f32x4.add(v128.load(at(out, k)), f32x4.mul(s, v128.load(at(x, k)))));
  for (; k < width; k++) store<f32>(at(out, k), load<f32>(at(out, k)) + scale * load<f32>(at(x, k)));
}

/** p = softmax over the real slots of m_iᵀu (or m_iᵀu·mask_i), written at `p`. */
@inline export function scores(m: usize, u: usize, mask: usize, p: usize, slots: i32, width: i32, normalize: bool): void {
  for (let i = 0; i < slots; i++) store<f32>(at(p, i), dot(at(m, i * width), u, width));
  normalizeScores(p, mask, slots, normalize);
}

/** The raw scores at `p` turned into the attention in place: a softmax over the real slots (0 on masked ones), or score·mask for linear start. */
@inline export function normalizeScores(p: usize, mask: usize, slots: i32, normalize: bool): void {
  if (normalize) {
    let top: f32 = -Infinity;
    for (let i = 0; i < slots; i++) {
      const s = load<f32>(at(p, i));
      if (load<f32>(at(mask, i)) != 0 && s > top) top = s;
    }
    let total: f32 = 0;
    for (let i = 0; i < slots; i++) {
      const e: f32 = load<f32>(at(mask, i)) != 0 ? <f32>Math.exp(<f64>(load<f32>(at(p, i)) - top)) : 0;
      store<f32>(at(p, i), e);
      total += e;
    }
    for (let i = 0; i < slots; i++) store<f32>(at(p, i), total > 0 ? load<f32>(at(p, i)) / total : 0);
  } else {
    for (let i = 0; i < slots; i++) store<f32>(at(p, i), load<f32>(at(p, i)) * load<f32>(at(mask, i)));
  }
}

/** out = [o (batch·width), p (batch·slots)]: p = softmax of uᵀm over the real slots (or uᵀm·mask), o = Σ p_i c_i. */
export function attentionRead(m: usize, c: usize, u: usize, mask: usize, out: usize, batch: i32, slots: i32, width: i32, normalize: bool): void {
  memory.fill(out, 0, (<usize>(batch * (slots + width))) * F);
  for (let b = 0; b < batch; b++) {
    const p = at(out, batch * width + b * slots);
    scores(at(m, b * slots * width), at(u, b * width), at(mask, b * slots), p, slots, width, normalize);
    const o = at(out, b * width);
    for (let i = 0; i < slots; i++) {
      const pi = load<f32>(at(p, i));
      if (pi != 0) axpy(o, pi, at(c, (b * slots + i) * width), width);
    }
  }
}

/**
 * One example's backward of the attention read (the body of attentionReadBackward for one row), adding into dm and dc
 * (its slots × width block each) and du: dp_i = gp_i + do·c_i, dc_i += p_i do, ds_i = p_i (dp_i − Σ_j p_j dp_j) (or
 * dp_i·mask_i for linear start), dm_i += ds_i u, du += Σ_i ds_i m_i. `dp` is scratch of `slots` floats.
 */
@inline export function readBackwardOne(
  m: usize,
  c: usize,
  u: usize,
  mask: usize,
  p: usize,
  gp: usize,
  go: usize,
  dm: usize,
  dc: usize,
  du: usize,
  slots: i32,
  width: i32,
  normalize: bool,
  dp: usize,
): void {
  let weighted: f32 = 0;
  for (let i = 0; i < slots; i++) {
    const pi = load<f32>(at(p, i));
    const dpi = load<f32>(at(gp, i)) + dot(go, at(c, i * width), width);
    if (pi != 0) axpy(at(dc, i * width), pi, go, width);
    store<f32>(at(dp, i), dpi);
    weighted += pi * dpi;
  }
  for (let i = 0; i < slots; i++) {
    const dpi = load<f32>(at(dp, i));
    const ds: f32 = normalize ? load<f32>(at(p, i)) * (dpi - weighted) : dpi * load<f32>(at(mask, i));
    if (ds == 0) continue;
    axpy(at(dm, i * width), ds, u, width);
    axpy(du, ds, at(m, i * width), width);
  }
}

/** Backward of attentionRead: out = [dm (batch·slots·width), dc (batch·slots·width), du (batch·width)]; temp holds `slots` floats. */
export function attentionReadBackward(
  m: usize,
  c: usize,
  u: usize,
  mask: usize,
  forward: usize,
  grad: usize,
  out: usize,
  batch: i32,
  slots: i32,
  width: i32,
  normalize: bool,
  temp: usize,
): void {
  const cells = batch * slots * width;
  memory.fill(out, 0, (<usize>(2 * cells + batch * width)) * F);
  for (let b = 0; b < batch; b++) {
    const block = b * slots * width;
    readBackwardOne(
      at(m, block),
      at(c, block),
      at(u, b * width),
      at(mask, b * slots),
      at(forward, batch * width + b * slots),
      at(grad, batch * width + b * slots),
      at(grad, b * width),
      at(out, block),
      at(out, cells + block),
      at(out, 2 * cells + b * width),
      slots,
      width,
      normalize,
      temp,
    );
  }
}

/** Bytes of scratch attentionReadBackward needs. */
export function attentionTempBytes(slots: i32): i32 {
  return slots * 4;
}
