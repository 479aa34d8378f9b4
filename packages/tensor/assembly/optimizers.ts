// The optimizers' per-element updates: the same float32 operations in the same order as the JavaScript loops of
// src/optim.ts (which round every operation to float32), four lanes at a time, so the results are the same bits. The
// gradient's scaling and clipping are in f64 lane pairs, as there. The arrays are updated in place.

import { demoteFour, promoteHigh, promoteLow } from './fastmath';
import { at } from './pointers';

/** Four f32 gradients times `scale` in f64, rounded back to f32 (RMSProp.updateScaled's `fround(g · scale)`). */
@inline function scaledFour(g: v128, scale: v128): v128 {
  return demoteFour(f64x2.mul(promoteLow(g), scale), f64x2.mul(promoteHigh(g), scale));
}

/**
 * Four f32 values clipped to [low, high], the f32 roundings of ±limit. updateScaled clips in f64 against the limit
 * and rounds after; for an f32 value the two agree, since no f32 lies strictly between the limit and its rounding.
 * pmin and pmax, with the value first, return a NaN unchanged, as Math.min and Math.max do.
 */
@inline function clippedFour(value: v128, low: v128, high: v128): v128 {
  return f32x4.pmin(f32x4.pmax(value, low), high);
}

/**
 * Four gradients at `grad` + i as the update uses them: as stored, or (when `prepare`) scaled (when `scale` ≠ 1)
 * and clipped to ±`limit` (f32 roundings of the limit, lanes `low` and `high`).
 */
@inline function preparedFour(grad: usize, i: i32, prepare: bool, scaled: bool, vScale: v128, low: v128, high: v128): v128 {
  const g = v128.load(at(grad, i));
  return prepare ? clippedFour(scaled ? scaledFour(g, vScale) : g, low, high) : g;
}

/** One gradient as the update uses it (the scalar tail of {@link preparedFour}): scaled, rounded, clipped in f64. */
@inline function preparedOne(grad: usize, i: i32, prepare: bool, scale: f64, limit: f64): f32 {
  const g = load<f32>(at(grad, i));
  return prepare ? <f32>Math.min(limit, Math.max(-limit, <f64><f32>(<f64>g * scale))) : g;
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
  const vDecay = f32x4.splat(<f32>decay);
  const vRest = f32x4.splat(<f32>(1 - decay));
  const vMomentum = f32x4.splat(<f32>momentum);
  const vRate = f32x4.splat(<f32>rate);
  const vEpsilon = f32x4.splat(<f32>epsilon);
  const vScale = f64x2.splat(scale);
  const vLow = f32x4.splat(<f32>-limit);
  const vHigh = f32x4.splat(<f32>limit);
  const scaled = scale != 1;
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const g = preparedFour(grad, i, prepare, scaled, vScale, vLow, vHigh);
    // n ← ρn + ((1 − ρ)g)g; ḡ ← ρḡ + (1 − ρ)g (centered, else 0); Δ ← μΔ − (ηg) / √((n − ḡ²) + ε); θ ← θ + Δ.
    const n = f32x4.add(f32x4.mul(vDecay, v128.load(at(square, i))), f32x4.mul(f32x4.mul(vRest, g), g));
    const m = centered ? f32x4.add(f32x4.mul(vDecay, v128.load(at(mean, i))), f32x4.mul(vRest, g)) : f32x4.splat(0);
    const root = f32x4.sqrt(f32x4.add(f32x4.sub(n, f32x4.mul(m, m)), vEpsilon));
    const d = f32x4.sub(f32x4.mul(vMomentum, v128.load(at(delta, i))), f32x4.div(f32x4.mul(vRate, g), root));
    v128.store(at(square, i), n);
    v128.store(at(mean, i), m);
    v128.store(at(delta, i), d);
    v128.store(at(value, i), f32x4.add(v128.load(at(value, i)), d));
  }
  const decay32 = <f32>decay;
  const rest32 = <f32>(1 - decay);
  for (; i < count; i++) {
    const gi = preparedOne(grad, i, prepare, scale, limit);
    const ni = decay32 * load<f32>(at(square, i)) + rest32 * gi * gi;
    const mi: f32 = centered ? decay32 * load<f32>(at(mean, i)) + rest32 * gi : 0;
    const d = <f32>momentum * load<f32>(at(delta, i)) - (<f32>rate * gi) / Mathf.sqrt(ni - mi * mi + <f32>epsilon);
    store<f32>(at(square, i), ni);
    store<f32>(at(mean, i), mi);
    store<f32>(at(delta, i), d);
    store<f32>(at(value, i), load<f32>(at(value, i)) + d);
  }
}

/**
 * Plain SGD (src/optim.ts's SGD.update and updateScaled, μ = 0) over `count` parameters, in place: θ ← θ − η·g, where
 * g is, when `prepare`, the gradient times `scale` rounded to f32 then clipped to ±`limit`. As there, θ − η·g is
 * computed in f64 and rounded once, so two f64 lanes at a time.
 */
export function sgdUpdate(value: usize, grad: usize, count: i32, scale: f64, limit: f64, prepare: bool, rate: f64): void {
  const vScale = f64x2.splat(scale);
  const vRate = f64x2.splat(rate);
  const vLow = f32x4.splat(<f32>-limit);
  const vHigh = f32x4.splat(<f32>limit);
  const scaled = scale != 1;
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const g = preparedFour(grad, i, prepare, scaled, vScale, vLow, vHigh);
    const v = v128.load(at(value, i));
    const low = f64x2.sub(promoteLow(v), f64x2.mul(vRate, promoteLow(g)));
    const high = f64x2.sub(promoteHigh(v), f64x2.mul(vRate, promoteHigh(g)));
    v128.store(at(value, i), demoteFour(low, high));
  }
  for (; i < count; i++) {
    const gi = preparedOne(grad, i, prepare, scale, limit);
    store<f32>(at(value, i), <f32>(<f64>load<f32>(at(value, i)) - rate * <f64>gi));
  }
}

/**
 * Adds the squares of `count` f32 values to four running f64 sums at `sums` (element i to sum i mod 4; a tail of
 * fewer than four to sum 0), as src/optim.ts's gradientNorm does: the same additions in the same order, so the same
 * bits. Each square of an f32 is exact in f64.
 */
export function sumOfSquares(values: usize, count: i32, sums: usize): void {
  let low = v128.load(sums);
  let high = v128.load(sums, 16);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const x = v128.load(at(values, i));
    const xl = promoteLow(x);
    const xh = promoteHigh(x);
    low = f64x2.add(low, f64x2.mul(xl, xl));
    high = f64x2.add(high, f64x2.mul(xh, xh));
  }
  v128.store(sums, low);
  v128.store(sums, high, 16);
  let first = load<f64>(sums);
  for (; i < count; i++) {
    const x = <f64>load<f32>(at(values, i));
    first += x * x;
  }
  store<f64>(sums, first);
}

/**
 * acc ← acc + x over `count` f32 values, in place: each sum rounded to f32, as `acc[i] + x[i]` stored in a
 * Float32Array is in JavaScript (an f32 sum computed in f64 and rounded once is the f32 sum), so the same bits as
 * src/worker-pool.ts's addGradients, one array at a time.
 */
export function addInPlace(acc: usize, x: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(at(acc, i), f32x4.add(v128.load(at(acc, i)), v128.load(at(x, i))));
  for (; i < count; i++) store<f32>(at(acc, i), load<f32>(at(acc, i)) + load<f32>(at(x, i)));
}
