// The optimizers' per-element updates, in f64 lane pairs: the same operations in the same order as the JavaScript
// loops of src/optim.ts, so the results are the same bits (IEEE f64 arithmetic and its rounding to f32 are exact the
// same in both). The arrays are updated in place.

import { at } from './pointers';

/** Four f32 at p as two f64x2 (low and high halves). */
@inline function lowHalf(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
@inline function highHalf(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.swizzle(v, v128(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
}
/** Two f64x2 rounded to f32 and stored as four floats at p. */
@inline function storeFour(p: usize, low: v128, high: v128): void {
  const l = f32x4.demote_f64x2_zero(low);
  const h = f32x4.demote_f64x2_zero(high);
  v128.store(p, v128.shuffle<u8>(l, h, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
}

/** The gradient as RMSProp.updateScaled prepares it: scaled and rounded to f32, clipped to ±limit, rounded again. */
@inline function prepared(g: v128, scale: v128, low: v128, high: v128, prepare: bool): v128 {
  if (!prepare) return g;
  const scaled = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.mul(g, scale)));
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.min(high, f64x2.max(low, scaled))));
}

/** One f64x2 of the update: returns the new value; n, g and delta are written through the pointers' halves. */
@inline function rmspropPair(
  value: v128,
  grad: v128,
  square: v128,
  mean: v128,
  delta: v128,
  decay: v128,
  oneMinusDecay: v128,
  momentum: v128,
  rate: v128,
  epsilon: v128,
  centered: bool,
  out: usize,
): v128 {
  // ni = decay·n + ((1 − decay)·gi)·gi; mean = decay·g + (1 − decay)·gi (centered), else 0.
  const ni = f64x2.add(f64x2.mul(decay, square), f64x2.mul(f64x2.mul(oneMinusDecay, grad), grad));
  const mi = centered ? f64x2.add(f64x2.mul(decay, mean), f64x2.mul(oneMinusDecay, grad)) : f64x2.splat(0);
  // d = momentum·delta − (rate·gi) / √((ni − mi·mi) + ε).
  const d = f64x2.sub(f64x2.mul(momentum, delta), f64x2.div(f64x2.mul(rate, grad), f64x2.sqrt(f64x2.add(f64x2.sub(ni, f64x2.mul(mi, mi)), epsilon))));
  v128.store(out, ni);
  v128.store(out + 16, mi);
  v128.store(out + 32, d);
  return f64x2.add(value, d);
}

/**
 * RMSProp (Graves 2013's centered form when `centered`), as src/optim.ts's RMSProp.updateScaled computes it, over
 * `count` parameters: value, square (n), mean (g) and delta updated in place. `prepare` scales the gradient by `scale`
 * and clips it to ±`limit` first. `temp` holds 96 bytes.
 */
export function rmspropUpdate(
  value: usize,
  grad: usize,
  square: usize,
  mean: usize,
  delta: usize,
  count: i32,
  scale: f64,
  limit: f64,
  prepare: bool,
  decay: f64,
  momentum: f64,
  rate: f64,
  centered: bool,
  epsilon: f64,
  temp: usize,
): void {
  const vDecay = f64x2.splat(decay);
  const vOneMinus = f64x2.splat(1 - decay);
  const vMomentum = f64x2.splat(momentum);
  const vRate = f64x2.splat(rate);
  const vEpsilon = f64x2.splat(epsilon);
  const vScale = f64x2.splat(scale);
  const vLow = f64x2.splat(-limit);
  const vHigh = f64x2.splat(limit);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(at(value, i));
    const g = v128.load(at(grad, i));
    const n = v128.load(at(square, i));
    const m = v128.load(at(mean, i));
    const d = v128.load(at(delta, i));
    const gLow = prepared(lowHalf(g), vScale, vLow, vHigh, prepare);
    const gHigh = prepared(highHalf(g), vScale, vLow, vHigh, prepare);
    const low = rmspropPair(lowHalf(v), gLow, lowHalf(n), lowHalf(m), lowHalf(d), vDecay, vOneMinus, vMomentum, vRate, vEpsilon, centered, temp);
    const high = rmspropPair(highHalf(v), gHigh, highHalf(n), highHalf(m), highHalf(d), vDecay, vOneMinus, vMomentum, vRate, vEpsilon, centered, temp + 48);
    storeFour(at(value, i), low, high);
    storeFour(at(square, i), v128.load(temp), v128.load(temp + 48));
    storeFour(at(mean, i), v128.load(temp + 16), v128.load(temp + 64));
    storeFour(at(delta, i), v128.load(temp + 32), v128.load(temp + 80));
  }
  for (; i < count; i++) {
    let gi = <f64>load<f32>(at(grad, i));
    if (prepare) gi = <f64><f32>Math.min(limit, Math.max(-limit, <f64><f32>(gi * scale)));
    const ni = decay * <f64>load<f32>(at(square, i)) + (1 - decay) * gi * gi;
    const mi = centered ? decay * <f64>load<f32>(at(mean, i)) + (1 - decay) * gi : 0;
    const d = momentum * <f64>load<f32>(at(delta, i)) - (rate * gi) / Math.sqrt(ni - mi * mi + epsilon);
    store<f32>(at(square, i), <f32>ni);
    store<f32>(at(mean, i), <f32>mi);
    store<f32>(at(delta, i), <f32>d);
    store<f32>(at(value, i), <f32>(<f64>load<f32>(at(value, i)) + d));
  }
}
