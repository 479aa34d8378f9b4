// Four-lane math for the kernels: e^x and ln x as one polynomial for four f32 lanes (softmax rows, the NTM's location
// addressing and head softmaxes), σ and tanh from them (the LSTM cell's gates), and the f32 ↔ f64 lane conversions
// the f64 passes use.

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const SQRT_HALF: f32 = 0.707106781186547524;

/**
 * e^x for four lanes: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by a degree-6 polynomial (Cephes' expf coefficients,
 * relative error < 2e-7), then 2^n built in the exponent bits. x is clamped to ≤ 88 (e^88 ≈ 1.7e38, below the f32
 * maximum); below −87 the result is flushed to 0.
 */
@inline export function exp4(x: v128): v128 {
  const clamped = f32x4.min(f32x4.max(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
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
  // Flush lanes that were clamped below (x < −87) to exactly 0.
  return v128.and(result, f32x4.ge(x, f32x4.splat(-87.0)));
}

/**
 * ln x for four lanes of positive, normal x: x = m·2^e with m in [√½, √2), ln m = ln(1 + f) by Cephes' logf
 * polynomial (relative error about 1e-7), plus e·ln 2 in two parts.
 */
@inline export function log4(x: v128): v128 {
  const bits = x;
  // Exponent e and mantissa m in [0.5, 1).
  let e = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(v128.and(bits, i32x4.splat(0x7f800000)), 23), i32x4.splat(126)));
  let m = v128.or(v128.and(bits, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000));
  // m < √½: take one from e and double m, so that f = m − 1 lies in [√½ − 1, √2 − 1).
  const small = f32x4.lt(m, f32x4.splat(SQRT_HALF));
  e = f32x4.sub(e, v128.and(small, f32x4.splat(1.0)));
  const f = f32x4.sub(f32x4.add(m, v128.and(small, m)), f32x4.splat(1.0));
  const z = f32x4.mul(f, f);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-1.151461031e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(1.167699874e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-1.666805766e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, f), z);
  y = f32x4.add(y, f32x4.mul(e, f32x4.splat(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  return f32x4.add(f32x4.add(f, y), f32x4.mul(e, f32x4.splat(LN2_HI)));
}

/** σ(x) for four lanes: 1 / (1 + e^{−x}) for x ≥ 0, e^x / (1 + e^x) below (no overflow either way). */
@inline export function sigmoid4(x: v128): v128 {
  const e = exp4(f32x4.neg(f32x4.abs(x)));
  const one = f32x4.splat(1);
  const inverse = f32x4.div(one, f32x4.add(one, e));
  return v128.bitselect(inverse, f32x4.mul(e, inverse), f32x4.ge(x, f32x4.splat(0)));
}
/** tanh(x) for four lanes: 1 − 2 / (e^{2x} + 1), x clamped to ±20 (where tanh is ±1 in f32). */
@inline export function tanh4(x: v128): v128 {
  const clamped = f32x4.min(f32x4.max(x, f32x4.splat(-20)), f32x4.splat(20));
  const e = exp4(f32x4.add(clamped, clamped));
  return f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
}
/** σ(x) of one value, by {@link sigmoid4} (the same bits as the four-lane path). */
@inline export function sigmoid32(x: f32): f32 {
  return f32x4.extract_lane(sigmoid4(f32x4.splat(x)), 0);
}
/** tanh(x) of one value, by {@link tanh4}. */
@inline export function tanh32(x: f32): f32 {
  return f32x4.extract_lane(tanh4(f32x4.splat(x)), 0);
}

/** Four f64 (two pairs) rounded to f32 in one vector: lanes low.0, low.1, high.0, high.1. */
@inline export function demoteFour(low: v128, high: v128): v128 {
  return v128.shuffle<u8>(f32x4.demote_f64x2_zero(low), f32x4.demote_f64x2_zero(high), 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

/** The two f64x2 halves of four f32 lanes. */
@inline export function promoteLow(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
@inline export function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.swizzle(v, v128(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)));
}
