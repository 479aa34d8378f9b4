import type { MatmulArgs } from '../backend.js';
import { MATMUL_RELAXED_SIMD_WASM, MATMUL_SIMD_WASM } from './matmul-wasm.generated.js';

/**
 * Tensor data lives in JavaScript `Float32Array`s; the matmul kernel lives in WebAssembly linear
 * memory. Each call copies A and B in and C out. We measured (see the package README) that the
 * copies are cheaper than the arithmetic from about 1×129·129×400 upward, and keeping all data in
 * JS arrays means every other kernel, the optimizers and user code need no wasm memory management
 * (no pointers, no views invalidated by `memory.grow`).
 */
interface MatmulExports {
  memory: WebAssembly.Memory;
  matmul(a: number, b: number, c: number, pack: number, m: number, k: number, n: number, sAi: number, sAk: number, sBk: number, sBj: number): void;
  packBytes(k: number, n: number): number;
  heapBase(): number;
}

const WASM_PAGE_BYTES = 65536;
const ALIGNMENT = 16;

/** Which matmul kernel is in use. */
export type WasmMatmulFlavor = 'relaxed-simd' | 'simd';

/** A loaded WebAssembly matmul: multiplies Float32Arrays with the SIMD kernel. */
export interface WasmMatmul {
  readonly flavor: WasmMatmulFlavor;
  matmul(a: Float32Array, b: Float32Array, args: MatmulArgs): Float32Array;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const alignUp = (bytes: number): number => Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;

function instantiate(bytes: Uint8Array, flavor: WasmMatmulFlavor): WasmMatmul {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: {
      abort: () => {
        throw new Error('wasm matmul aborted');
      },
    },
  });
  const exports = instance.exports as unknown as MatmulExports;
  const heapBase = alignUp(exports.heapBase());
  let heap = new Float32Array(exports.memory.buffer);

  const ensureBytes = (bytes: number): void => {
    const missing = heapBase + bytes - exports.memory.buffer.byteLength;
    if (missing > 0) {
      exports.memory.grow(Math.ceil(missing / WASM_PAGE_BYTES));
      heap = new Float32Array(exports.memory.buffer);
    }
  };

  return {
    flavor,
    matmul(a, b, args) {
      const { batch, m, k, n, transA, transB, batchedA, batchedB } = args;
      const out = new Float32Array(batch * m * n);
      if (m === 0 || n === 0 || k === 0) return out;
      const aBytes = alignUp(a.length * 4);
      const bBytes = alignUp(b.length * 4);
      const cBytes = alignUp(m * n * 4);
      const packBytes = alignUp(exports.packBytes(k, n));
      ensureBytes(aBytes + bBytes + cBytes + packBytes);
      const aPtr = heapBase;
      const bPtr = aPtr + aBytes;
      const cPtr = bPtr + bBytes;
      const packPtr = cPtr + cBytes;
      heap.set(a, aPtr / 4);
      heap.set(b, bPtr / 4);
      const [sAi, sAk] = transA ? [1, m] : [k, 1];
      const [sBk, sBj] = transB ? [1, k] : [n, 1];
      for (let t = 0; t < batch; t++) {
        const offA = batchedA ? t * m * k * 4 : 0;
        const offB = batchedB ? t * k * n * 4 : 0;
        exports.matmul(aPtr + offA, bPtr + offB, cPtr, packPtr, m, k, n, sAi, sAk, sBk, sBj);
        out.set(heap.subarray(cPtr / 4, cPtr / 4 + m * n), t * m * n);
      }
      return out;
    },
  };
}

/**
 * Loads the fastest matmul this runtime validates: relaxed SIMD (fused multiply-add; browsers,
 * Node ≥ 22), then plain SIMD (Node 20). Returns null where WebAssembly SIMD is unavailable;
 * the cpu backend then uses the TypeScript reference loop.
 */
export function loadWasmMatmul(): WasmMatmul | null {
  if (typeof WebAssembly === 'undefined') return null;
  const candidates: [string, WasmMatmulFlavor][] = [
    [MATMUL_RELAXED_SIMD_WASM, 'relaxed-simd'],
    [MATMUL_SIMD_WASM, 'simd'],
  ];
  for (const [encoded, flavor] of candidates) {
    const bytes = decodeBase64(encoded);
    if (WebAssembly.validate(bytes as BufferSource)) return instantiate(bytes, flavor);
  }
  return null;
}
