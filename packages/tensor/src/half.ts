/** IEEE 754 half precision (float16), for files that store weights or keys in half the bytes. */

const halfScratch = new Float32Array(1);
const halfBits = new Uint32Array(halfScratch.buffer);

/**
 * A float's nearest IEEE half (round half to even; subnormals kept; ±∞ above the range).
 * @param value - the number to round
 */
export function float32ToHalf(value: number): number {
  halfScratch[0] = value;
  const x = halfBits[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = x & 0x7fffff;
  if (exponent < -10) return sign; // below half's smallest subnormal: ±0
  if (exponent <= 0) {
    // Subnormal half: the mantissa with its implicit 1, shifted into place, rounded to nearest.
    const m = mantissa | 0x800000;
    const shift = 14 - exponent;
    const sub = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (sub + (rest > halfway || (rest === halfway && (sub & 1) === 1) ? 1 : 0));
  }
  if (exponent >= 31) return sign | 0x7c00;
  const half = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  const up = rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? 1 : 0;
  return sign | (half + up);
}

/**
 * The float an IEEE half stands for.
 * @param h - the 16-bit pattern
 */
export function halfToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (mantissa / 1024);
  if (exponent === 31) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

/**
 * Every value of `values` as float16 bits.
 * @param values - the float32 values
 */
export function encodeFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToHalf(values[i] as number);
  return out;
}
