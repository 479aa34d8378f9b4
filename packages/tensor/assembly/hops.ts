// WebAssembly SIMD version of @engram/tensor's fused memory hops (End-to-End Memory Networks with
// layer-wise tying, §2.2, and the language model's half-ReLU layers, §5) and their backward. Same
// arithmetic as src/cpu/reference-kernels.ts. One example at a time through all K hops, so its two
// memories (slots·width floats each) stay in cache across the hops, and dm, dc are summed in place.

import { F, at } from './pointers';
import { axpy, dot, readBackwardOne, scores } from './attention';

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
  const pBase = (hops + 1) * batch * width;
  const oBase = pBase + hops * batch * slots;
  memory.fill(out, 0, (<usize>(oBase + hops * batch * width)) * F);
  memory.copy(out, u, (<usize>(batch * width)) * F);
  for (let b = 0; b < batch; b++) {
    const mb = at(m, b * slots * width);
    const cb = at(c, b * slots * width);
    const maskb = at(mask, b * slots);
    for (let k = 0; k < hops; k++) {
      const uk = at(out, (k * batch + b) * width);
      const next = at(out, ((k + 1) * batch + b) * width);
      const p = at(out, pBase + (k * batch + b) * slots);
      const o = at(out, oBase + (k * batch + b) * width);
      scores(mb, uk, maskb, p, slots, width, normalize);
      for (let i = 0; i < slots; i++) {
        const pi = load<f32>(at(p, i));
        if (pi != 0) axpy(o, pi, at(cb, i * width), width);
      }
      // z = uᵏH + oᵏ, then the ReLU on the units from linearUnits on.
      memory.copy(next, o, (<usize>width) * F);
      for (let i = 0; i < width; i++) axpy(next, load<f32>(at(uk, i)), at(hop, i * width), width);
      for (let j = linearUnits; j < width; j++) if (load<f32>(at(next, j)) < 0) store<f32>(at(next, j), 0);
    }
  }
}

/** Backward of memoryHops: out = [dm, dc (batch·slots·width each), du¹ (batch·width), dH (width·width)]; temp holds 2·width + slots floats. */
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
  const dH = at(out, duAt + batch * width);
  memory.fill(out, 0, (<usize>(duAt + batch * width + width * width)) * F);
  const pBase = (hops + 1) * batch * width;
  const oBase = pBase + hops * batch * slots;
  const g = temp;
  const dz = at(temp, width);
  const dp = at(temp, 2 * width);
  for (let b = 0; b < batch; b++) {
    const mb = at(m, b * slots * width);
    const cb = at(c, b * slots * width);
    const dmb = at(out, b * slots * width);
    const dcb = at(out, cells + b * slots * width);
    const maskb = at(mask, b * slots);
    memory.copy(g, at(grad, (hops * batch + b) * width), (<usize>width) * F);
    for (let k = hops - 1; k >= 0; k--) {
      const uk = at(forward, (k * batch + b) * width);
      const next = at(forward, ((k + 1) * batch + b) * width);
      const p = at(forward, pBase + (k * batch + b) * slots);
      // dz = g ⊙ act′: 1 on the linear units, [u^{k+1} > 0] on the ReLU ones.
      memory.copy(dz, g, (<usize>width) * F);
      for (let j = linearUnits; j < width; j++) if (!(load<f32>(at(next, j)) > 0)) store<f32>(at(dz, j), 0);
      // dH += (uᵏ)ᵀ dz; g = (own gradient of uᵏ) + dz Hᵀ.
      const own = at(grad, (k * batch + b) * width);
      for (let i = 0; i < width; i++) {
        axpy(at(dH, i * width), load<f32>(at(uk, i)), dz, width);
        store<f32>(at(g, i), load<f32>(at(own, i)) + dot(at(hop, i * width), dz, width));
      }
      // do = dz + the own gradient of oᵏ (kept in dz).
      axpy(dz, 1, at(grad, oBase + (k * batch + b) * width), width);
      readBackwardOne(mb, cb, uk, maskb, p, at(grad, pBase + (k * batch + b) * slots), dz, dmb, dcb, g, slots, width, normalize, dp);
    }
    memory.copy(at(out, duAt + b * width), g, (<usize>width) * F);
  }
}

/** Bytes of scratch memoryHopsBackward needs. */
export function memoryHopsTempBytes(slots: i32, width: i32): i32 {
  return (2 * width + slots) * 4;
}
