import type { Kernels, MatmulArgs } from '../backend.js';
import { SLAB_MAX_FLOATS, allocateFloats } from './allocate.js';
import { KERNELS_RELAXED_SIMD_WASM, KERNELS_SIMD_WASM } from './kernels-wasm.generated.js';

/**
 * Where the data lives: tensor data stays in JavaScript `Float32Array`s (every other kernel, the
 * optimizers and user code work on them without pointers or views invalidated by
 * `memory.grow`); the matmul kernel runs in WebAssembly linear memory.
 *
 * At the NTM's shapes, copying operands in costs more than the arithmetic (1×129·129×400: the
 * kernel needs ~4 µs, copying B in ~5 µs), and the same weight matrix is multiplied at every time
 * step, forward and backward. So large operands seen a second time are kept in an
 * {@link OPERAND_CACHE_BYTES} arena inside wasm memory, raw and packed, keyed by the array itself.
 * That is safe because storage arrays are immutable: kernels always return fresh arrays, and
 * parameter updates swap in a new array. When the arena fills, it is emptied at once.
 */
interface KernelExports {
  memory: WebAssembly.Memory;
  memoryWrite(memory: number, w: number, e: number, a: number, out: number, batch: number, rows: number, width: number): void;
  memoryWriteBackward(memory: number, w: number, e: number, a: number, grad: number, out: number, batch: number, rows: number, width: number): void;
  rowCosine(memory: number, key: number, out: number, batch: number, rows: number, width: number, epsilon: number): void;
  rowCosineBackward(memory: number, key: number, grad: number, out: number, batch: number, rows: number, width: number, epsilon: number): void;
  locationTempBytes(slots: number): number;
  locationAddress(
    wc: number,
    wp: number,
    g: number,
    s: number,
    gamma: number,
    out: number,
    batch: number,
    slots: number,
    shifts: number,
    epsilon: number,
    temp: number,
  ): void;
  locationAddressBackward(
    wc: number,
    wp: number,
    g: number,
    s: number,
    gamma: number,
    grad: number,
    out: number,
    batch: number,
    slots: number,
    shifts: number,
    epsilon: number,
    temp: number,
  ): void;
  attentionRead(m: number, c: number, u: number, mask: number, out: number, batch: number, slots: number, width: number, normalize: boolean): void;
  attentionReadBackward(
    m: number,
    c: number,
    u: number,
    mask: number,
    forward: number,
    grad: number,
    out: number,
    batch: number,
    slots: number,
    width: number,
    normalize: boolean,
    temp: number,
  ): void;
  attentionTempBytes(slots: number): number;
  embeddingBag(table: number, indices: number, weights: number, weightIndices: number, out: number, bags: number, words: number, width: number): void;
  embeddingBagBackward(
    grad: number,
    indices: number,
    weights: number,
    weightIndices: number,
    out: number,
    rows: number,
    bags: number,
    words: number,
    width: number,
  ): void;
  pack(b: number, dst: number, k: number, n: number, sBk: number, sBj: number): void;
  multiplyPacked(a: number, packed: number, c: number, m: number, k: number, n: number, sAi: number, sAk: number): void;
  multiplyDirect(a: number, b: number, c: number, m: number, k: number, n: number, sAi: number, sAk: number, sBk: number): void;
  packBytes(k: number, n: number): number;
  multiplySmallBatched(
    a: number,
    b: number,
    c: number,
    batch: number,
    m: number,
    k: number,
    n: number,
    sAi: number,
    sAk: number,
    sBk: number,
    sBj: number,
    strideA: number,
    strideB: number,
  ): void;
  heapBase(): number;
  softmaxCrossEntropy(x: number, labels: number, out: number, rows: number, cols: number): void;
  softmaxCrossEntropyBackward(x: number, labels: number, grad: number, out: number, rows: number, cols: number): void;
}

const WASM_PAGE_BYTES = 65536;
const ALIGNMENT = 16;
const FLOAT_BYTES = 4;
/** Capacity of the arena that keeps reused operands (weights) inside wasm memory. */
export const OPERAND_CACHE_BYTES = 32 * 1024 * 1024;
/** Operands smaller than this are copied every time: the copy is cheaper than the bookkeeping. */
const CACHE_MIN_FLOATS = 4096;
/** Batched products with at most this many multiply-adds per entry run in one call, without packing. */
export const SMALL_BATCHED_MAX_MACS = 8192;
/** Products with fewer rows than this stream B directly instead of packing it. */
const DIRECT_MAX_ROWS = 4;

/** Which matmul kernel is in use. */
export type WasmMatmulFlavor = 'relaxed-simd' | 'simd';

/** The loaded WebAssembly kernels, over Float32Arrays (operands are copied in, results copied out). */
export interface WasmKernels {
  /** Which build runs. */
  readonly flavor: WasmMatmulFlavor;
  /** See {@link Kernels.matmul}. */
  matmul(a: Float32Array, b: Float32Array, args: MatmulArgs): Float32Array;
  /** See {@link Kernels.memoryWrite}. */
  memoryWrite: Kernels<Float32Array>['memoryWrite'];
  /** See {@link Kernels.memoryWriteBackward}. */
  memoryWriteBackward: Kernels<Float32Array>['memoryWriteBackward'];
  /** See {@link Kernels.rowCosine}. */
  rowCosine: Kernels<Float32Array>['rowCosine'];
  /** See {@link Kernels.rowCosineBackward}. */
  rowCosineBackward: Kernels<Float32Array>['rowCosineBackward'];
  /** See {@link Kernels.locationAddress}. */
  locationAddress: Kernels<Float32Array>['locationAddress'];
  /** See {@link Kernels.locationAddressBackward}. */
  locationAddressBackward: Kernels<Float32Array>['locationAddressBackward'];
  /** See {@link Kernels.attentionRead}. */
  attentionRead: Kernels<Float32Array>['attentionRead'];
  /** See {@link Kernels.attentionReadBackward}. */
  attentionReadBackward: Kernels<Float32Array>['attentionReadBackward'];
  /** See {@link Kernels.embeddingBag}. */
  embeddingBag: Kernels<Float32Array>['embeddingBag'];
  /** See {@link Kernels.embeddingBagBackward}. */
  embeddingBagBackward: Kernels<Float32Array>['embeddingBagBackward'];
  /** See {@link Kernels.softmaxCrossEntropy}. */
  softmaxCrossEntropy: Kernels<Float32Array>['softmaxCrossEntropy'];
  /** See {@link Kernels.softmaxCrossEntropyBackward}. */
  softmaxCrossEntropyBackward: Kernels<Float32Array>['softmaxCrossEntropyBackward'];
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const alignUp = (bytes: number): number => Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;

/** A bump arena of cached operands, emptied as a whole when full. */
class OperandCache {
  private readonly entries = new WeakMap<Float32Array, Map<string, { pointer: number; generation: number }>>();
  private readonly seen = new WeakSet<Float32Array>();
  private generation = 0;
  private used = 0;

  constructor(
    private readonly base: number,
    private readonly capacity: number,
  ) {}

  /** The cached pointer for (array, form), placing it with `write` on its second sighting. */
  lookup(array: Float32Array, form: string, bytes: number, write: (pointer: number) => void): number | null {
    if (array.length < CACHE_MIN_FLOATS || bytes > this.capacity / 4) return null;
    const forms = this.entries.get(array);
    const hit = forms?.get(form);
    if (hit !== undefined && hit.generation === this.generation) return hit.pointer;
    if (!this.seen.has(array)) {
      this.seen.add(array);
      return null;
    }
    if (this.used + bytes > this.capacity) {
      this.generation++;
      this.used = 0;
    }
    const pointer = this.base + this.used;
    this.used += alignUp(bytes);
    write(pointer);
    const map = forms ?? new Map();
    map.set(form, { pointer, generation: this.generation });
    this.entries.set(array, map);
    return pointer;
  }
}

function instantiate(bytes: Uint8Array, flavor: WasmMatmulFlavor): WasmKernels {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: {
      abort: () => {
        throw new Error('wasm matmul aborted');
      },
    },
  });
  const wasm = instance.exports as unknown as KernelExports;
  const cacheBase = alignUp(wasm.heapBase());
  const scratchBase = cacheBase + OPERAND_CACHE_BYTES;
  const cache = new OperandCache(cacheBase, OPERAND_CACHE_BYTES);
  let heap = new Float32Array(wasm.memory.buffer);
  let heapInts = new Int32Array(wasm.memory.buffer);

  const ensureScratch = (bytes: number): void => {
    const missing = scratchBase + bytes - wasm.memory.buffer.byteLength;
    if (missing > 0) {
      wasm.memory.grow(Math.ceil(missing / WASM_PAGE_BYTES));
      heap = new Float32Array(wasm.memory.buffer);
      heapInts = new Int32Array(wasm.memory.buffer);
    }
  };

  /**
   * Copies `array` into wasm memory: into the cache arena when it is reused, else at `scratch`.
   * Index arrays (Int32Array) are always copied.
   */
  const placeRaw = (array: Float32Array | Int32Array, scratch: number): number => {
    if (array instanceof Int32Array) {
      heapInts.set(array, scratch / FLOAT_BYTES);
      return scratch;
    }
    const cached = cache.lookup(array, 'raw', array.length * FLOAT_BYTES, (p) => heap.set(array, p / FLOAT_BYTES));
    if (cached !== null) return cached;
    heap.set(array, scratch / FLOAT_BYTES);
    return scratch;
  };

  /**
   * Runs a kernel over `inputs` into a fresh output of `outputLength` floats: lays the inputs out
   * in scratch (or finds them cached), calls `kernel(pointers, outPointer)`, copies the output out.
   */
  const run = (
    inputs: readonly (Float32Array | Int32Array)[],
    outputLength: number,
    kernel: (pointers: number[], out: number, temp: number) => void,
    tempBytes = 0,
  ): Float32Array => {
    const sizes = inputs.map((x) => alignUp(x.length * FLOAT_BYTES));
    const outBytes = alignUp(outputLength * FLOAT_BYTES);
    ensureScratch(sizes.reduce((a, b) => a + b, 0) + outBytes + alignUp(tempBytes));
    let next = scratchBase;
    const pointers = inputs.map((x, i) => {
      const pointer = placeRaw(x, next);
      next += sizes[i] as number;
      return pointer;
    });
    kernel(pointers, next, next + outBytes);
    const result = heap.subarray(next / FLOAT_BYTES, next / FLOAT_BYTES + outputLength);
    if (outputLength > SLAB_MAX_FLOATS) return result.slice();
    const out = allocateFloats(outputLength);
    out.set(result);
    return out;
  };
  const p = (pointers: number[], i: number): number => pointers[i] as number;

  return {
    flavor,
    memoryWrite: (memory, w, e, a, batch, rows, width) =>
      run([memory, w, e, a], batch * rows * width, (ptr, out) => wasm.memoryWrite(p(ptr, 0), p(ptr, 1), p(ptr, 2), p(ptr, 3), out, batch, rows, width)),
    memoryWriteBackward: (memory, w, e, a, grad, batch, rows, width) =>
      run([memory, w, e, a, grad], batch * rows * width + batch * rows + 2 * batch * width, (ptr, out) =>
        wasm.memoryWriteBackward(p(ptr, 0), p(ptr, 1), p(ptr, 2), p(ptr, 3), p(ptr, 4), out, batch, rows, width),
      ),
    rowCosine: (memory, key, batch, rows, width, epsilon) =>
      run([memory, key], batch * rows, (ptr, out) => wasm.rowCosine(p(ptr, 0), p(ptr, 1), out, batch, rows, width, epsilon)),
    rowCosineBackward: (memory, key, grad, batch, rows, width, epsilon) =>
      run([memory, key, grad], batch * rows * width + batch * width, (ptr, out) =>
        wasm.rowCosineBackward(p(ptr, 0), p(ptr, 1), p(ptr, 2), out, batch, rows, width, epsilon),
      ),
    locationAddress: (wc, wp, g, s, gamma, batch, slots, shifts, epsilon) =>
      run(
        [wc, wp, g, s, gamma],
        batch * slots,
        (ptr, out, temp) => wasm.locationAddress(p(ptr, 0), p(ptr, 1), p(ptr, 2), p(ptr, 3), p(ptr, 4), out, batch, slots, shifts, epsilon, temp),
        wasm.locationTempBytes(slots),
      ),
    locationAddressBackward: (wc, wp, g, s, gamma, grad, batch, slots, shifts, epsilon) =>
      run(
        [wc, wp, g, s, gamma, grad],
        2 * batch * slots + 2 * batch + batch * shifts,
        (ptr, out, temp) =>
          wasm.locationAddressBackward(p(ptr, 0), p(ptr, 1), p(ptr, 2), p(ptr, 3), p(ptr, 4), p(ptr, 5), out, batch, slots, shifts, epsilon, temp),
        wasm.locationTempBytes(slots),
      ),
    attentionRead: (m, c, u, mask, batch, slots, width, normalize) =>
      run([m, c, u, mask], batch * (slots + width), (ptr, out) =>
        wasm.attentionRead(p(ptr, 0), p(ptr, 1), p(ptr, 2), p(ptr, 3), out, batch, slots, width, normalize),
      ),
    attentionReadBackward: (m, c, u, mask, out, grad, batch, slots, width, normalize) =>
      run(
        [m, c, u, mask, out, grad],
        2 * batch * slots * width + batch * width,
        (ptr, result, temp) =>
          wasm.attentionReadBackward(p(ptr, 0), p(ptr, 1), p(ptr, 2), p(ptr, 3), p(ptr, 4), p(ptr, 5), result, batch, slots, width, normalize, temp),
        wasm.attentionTempBytes(slots),
      ),
    embeddingBag: (table, indices, weights, weightIndices, bags, words, width) =>
      run([table, indices, weights, weightIndices], bags * width, (ptr, out) =>
        wasm.embeddingBag(p(ptr, 0), p(ptr, 1), p(ptr, 2), p(ptr, 3), out, bags, words, width),
      ),
    embeddingBagBackward: (grad, indices, weights, weightIndices, rows, bags, words, width) =>
      run([grad, indices, weights, weightIndices], rows * width, (ptr, out) =>
        wasm.embeddingBagBackward(p(ptr, 0), p(ptr, 1), p(ptr, 2), p(ptr, 3), out, rows, bags, words, width),
      ),
    softmaxCrossEntropy: (x, labels, rows, cols) => run([x, labels], rows, (ptr, out) => wasm.softmaxCrossEntropy(p(ptr, 0), p(ptr, 1), out, rows, cols)),
    softmaxCrossEntropyBackward: (x, labels, grad, rows, cols) =>
      run([x, labels, grad], rows * cols, (ptr, out) => wasm.softmaxCrossEntropyBackward(p(ptr, 0), p(ptr, 1), p(ptr, 2), out, rows, cols)),
    matmul(a, b, args) {
      const { batch, m, k, n, transA, transB, batchedA, batchedB } = args;
      if (m === 0 || n === 0 || k === 0) return allocateFloats(batch * m * n);
      const [sAi, sAk] = transA ? [1, m] : [k, 1];
      const [sBk, sBj] = transB ? [1, k] : [n, 1];
      if (batch > 1 && m * k * n <= SMALL_BATCHED_MAX_MACS) {
        const outLength = batch * m * n;
        return run([a, b], outLength, (ptr, out) =>
          wasm.multiplySmallBatched(p(ptr, 0), p(ptr, 1), out, batch, m, k, n, sAi, sAk, sBk, sBj, batchedA ? m * k : 0, batchedB ? k * n : 0),
        );
      }
      const direct = m < DIRECT_MAX_ROWS && sBj === 1;
      const packBytes = alignUp(wasm.packBytes(k, n));
      // Scratch layout: [A][B raw][B packed][C]; cached operands live in the arena instead.
      const aBytes = alignUp(a.length * FLOAT_BYTES);
      const bBytes = alignUp(b.length * FLOAT_BYTES);
      const cBytes = alignUp(m * n * FLOAT_BYTES);
      ensureScratch(aBytes + bBytes + packBytes + cBytes);
      const aScratch = scratchBase;
      const bScratch = aScratch + aBytes;
      const packScratch = bScratch + bBytes;
      const cPointer = packScratch + packBytes;

      const aPointer = placeRaw(a, aScratch);
      let bRaw: number | null = null;
      const rawB = (): number => {
        bRaw ??= placeRaw(b, bScratch);
        return bRaw;
      };
      let packedShared: number | null = null;
      if (!direct && !batchedB) {
        const form = transB ? 'packed-transposed' : 'packed';
        packedShared = cache.lookup(b, form, packBytes, (p) => wasm.pack(rawB(), p, k, n, sBk, sBj));
        if (packedShared === null) {
          wasm.pack(rawB(), packScratch, k, n, sBk, sBj);
          packedShared = packScratch;
        }
      }
      // One large product: slice C straight out of wasm memory (no zero-filled array to copy into).
      const out = batch === 1 && m * n > SLAB_MAX_FLOATS ? null : allocateFloats(batch * m * n);
      for (let t = 0; t < batch; t++) {
        const offA = batchedA ? t * m * k * FLOAT_BYTES : 0;
        const offB = batchedB ? t * k * n * FLOAT_BYTES : 0;
        if (direct) {
          wasm.multiplyDirect(aPointer + offA, rawB() + offB, cPointer, m, k, n, sAi, sAk, sBk);
        } else {
          let packed = packedShared;
          if (packed === null) {
            wasm.pack(rawB() + offB, packScratch, k, n, sBk, sBj);
            packed = packScratch;
          }
          wasm.multiplyPacked(aPointer + offA, packed, cPointer, m, k, n, sAi, sAk);
        }
        const c = heap.subarray(cPointer / FLOAT_BYTES, cPointer / FLOAT_BYTES + m * n);
        if (out === null) return c.slice();
        out.set(c, t * m * n);
      }
      return out as Float32Array;
    },
  };
}

/**
 * Loads the fastest kernels this runtime validates: relaxed SIMD (fused multiply-add; browsers,
 * Node ≥ 22), then plain SIMD (Node 20). Returns null where WebAssembly SIMD is unavailable;
 * the cpu backend then uses the TypeScript reference loop.
 */
export function loadWasmKernels(): WasmKernels | null {
  if (typeof WebAssembly === 'undefined') return null;
  const candidates: [string, WasmMatmulFlavor][] = [
    [KERNELS_RELAXED_SIMD_WASM, 'relaxed-simd'],
    [KERNELS_SIMD_WASM, 'simd'],
  ];
  for (const [encoded, flavor] of candidates) {
    const bytes = decodeBase64(encoded);
    if (!WebAssembly.validate(bytes as BufferSource)) continue;
    try {
      return instantiate(bytes, flavor);
    } catch {
      // A browser's main thread may refuse to compile a module synchronously; use TypeScript there.
      return null;
    }
  }
  return null;
}
