/**
 * Fast allocation of small Float32Arrays for kernel outputs.
 *
 * `new Float32Array(100)` costs ~1.4 µs in V8 (an off-heap backing store per array), more than
 * the arithmetic of a 100-element op. Small outputs are instead carved from a shared
 * {@link SLAB_BYTES} ArrayBuffer (~0.08 µs): a fresh ArrayBuffer is zero-filled and each region is
 * handed out once, so every view starts zeroed. The cost: a slab is freed only when every view
 * into it is garbage, so a long-lived small tensor can keep up to one slab alive. Arrays above
 * {@link SLAB_MAX_FLOATS} get their own buffer.
 */

/** Size of one slab. */
export const SLAB_BYTES = 1024 * 1024;
/** Largest array (in floats) carved from a slab. */
export const SLAB_MAX_FLOATS = 16384;
const FLOAT_BYTES = 4;

let slab = new ArrayBuffer(SLAB_BYTES);
let offset = 0;

/** A zero-filled Float32Array of length n. */
export function allocateFloats(n: number): Float32Array {
  if (n > SLAB_MAX_FLOATS) return new Float32Array(n);
  const bytes = n * FLOAT_BYTES;
  if (offset + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    offset = 0;
  }
  const view = new Float32Array(slab, offset, n);
  offset += bytes;
  return view;
}
