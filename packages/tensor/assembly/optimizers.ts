// The optimizers' per-element updates, in f64 lane pairs: the same operations in the same order as the JavaScript
// loops of src/optim.ts, so the results are the same bits (IEEE f64 arithmetic and its rounding to f32 are exact the
// same in both). The arrays are updated in place.

import { demoteFour, promoteHigh, promoteLow } from './fastmath';
import { at } from './pointers';

/** Two f64x2 rounded to f32 and stored as four floats at p. */
@inline function storeFour(p: usize, low: v128, high: v128): void {
  v128.store(p, demoteFour(low, high));
}

/** The gradient as RMSProp.updateScaled prepares it: scaled and rounded to f32, clipped to ±limit, rounded again. */
@inline function prepared(g: v128, scale: v128, low: v128, high: v128, prepare: bool): v128 {
  if (!prepare) return g;
  const scaled = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.mul(g, scale)));
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.min(high, f64x2.max(low, scaled))));
}

/** ni = decay·n + ((1 − decay)·gi)·gi, one f64x2. */
@inline function squareAverage(square: v128, grad: v128, decay: v128, oneMinusDecay: v128): v128 {
  return f64x2.add(f64x2.mul(decay, square), f64x2.mul(f64x2.mul(oneMinusDecay, grad), grad));
}

/** mean = decay·g + (1 − decay)·gi when centered, else 0, one f64x2. */
@inline function meanAverage(mean: v128, grad: v128, decay: v128, oneMinusDecay: v128, centered: bool): v128 {
  return centered ? f64x2.add(f64x2.mul(decay, mean), f64x2.mul(oneMinusDecay, grad)) : f64x2.splat(0);
}

/** d = momentum·delta − (rate·gi) / √((ni − mi·mi) + ε), one f64x2. */
@inline function rmspropDelta(delta: v128, grad: v128, ni: v128, mi: v128, momentum: v128, rate: v128, epsilon: v128): v128 {
  return f64x2.sub(f64x2.mul(momentum, delta), f64x2.div(f64x2.mul(rate, grad), f64x2.sqrt(f64x2.add(f64x2.sub(ni, f64x2.mul(mi, mi)), epsilon))));
}

/**
 * RMSProp (Graves 2013's centered form when `centered`), as src/optim.ts's RMSProp.updateScaled computes it, over
 * `count` parameters: value, square (n), mean (g) and delta updated in place. `prepare` scales the gradient by `scale`
 * and clips it to ±`limit` first.
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
    const gLow = prepared(promoteLow(g), vScale, vLow, vHigh, prepare);
    const gHigh = prepared(promoteHigh(g), vScale, vLow, vHigh, prepare);
    const nLow = squareAverage(promoteLow(n), gLow, vDecay, vOneMinus);
    const nHigh = squareAverage(promoteHigh(n), gHigh, vDecay, vOneMinus);
    const mLow = meanAverage(promoteLow(m), gLow, vDecay, vOneMinus, centered);
    const mHigh = meanAverage(promoteHigh(m), gHigh, vDecay, vOneMinus, centered);
    const dLow = rmspropDelta(promoteLow(d), gLow, nLow, mLow, vMomentum, vRate, vEpsilon);
    const dHigh = rmspropDelta(promoteHigh(d), gHigh, nHigh, mHigh, vMomentum, vRate, vEpsilon);
    storeFour(at(value, i), f64x2.add(promoteLow(v), dLow), f64x2.add(promoteHigh(v), dHigh));
    storeFour(at(square, i), nLow, nHigh);
    storeFour(at(mean, i), mLow, mHigh);
    storeFour(at(delta, i), dLow, dHigh);
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
