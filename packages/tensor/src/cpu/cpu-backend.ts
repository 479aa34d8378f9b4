import type { Backend, Kernels, MatmulArgs } from '../backend.js';
import { referenceKernels, referenceMatmul } from './reference-kernels.js';
import { loadWasmKernels } from './wasm-kernels.js';

/**
 * Products smaller than this many multiply-adds run in TypeScript: below it the wasm call and
 * the copies in and out cost more than the loop.
 */
export const WASM_MATMUL_MIN_MACS = 512;

/** Options for {@link createCpuBackend}. */
export interface CpuBackendOptions {
  /** Use the WebAssembly SIMD matmul when the runtime supports it (default true). */
  simd?: boolean;
}

/**
 * The CPU backend: the TypeScript reference kernels, with matmul and the fused memory kernels
 * (memoryWrite, rowCosine, locationAddress, embeddingBag, attentionRead, memoryHops, cumulativeProduct, softmaxCrossEntropy and their backward) on WebAssembly SIMD where the runtime has it.
 * @param options - whether to use the WebAssembly kernels (default: when available)
 */
export function createCpuBackend(options: CpuBackendOptions = {}): Backend {
  const wasm = options.simd === false ? null : loadWasmKernels();
  const matmul = wasm
    ? (a: Float32Array, b: Float32Array, args: MatmulArgs): Float32Array =>
        args.batch * args.m * args.k * args.n < WASM_MATMUL_MIN_MACS ? referenceMatmul(a, b, args) : wasm.matmul(a, b, args)
    : referenceMatmul;
  const kernels = wasm
    ? ({
        ...referenceKernels,
        matmul,
        // Every kernel of the WebAssembly table: none can be forgotten here.
        ...wasm.fused,
      } satisfies Kernels<Float32Array>)
    : referenceKernels;
  const backend: Backend<Float32Array> = {
    name: 'cpu',
    description: wasm ? `cpu (TypeScript kernels; WebAssembly ${wasm.flavor} matmul and memory kernels)` : 'cpu (TypeScript kernels)',
    kernels,
    fromArray: (data) => data,
    toArray: (storage) => storage,
    ...(wasm ? { models: wasm.models, optimizers: wasm.optimizers } : {}),
    addInPlace: (target, source, size) => {
      for (let i = 0; i < size; i++) target[i] = (target[i] as number) + (source[i] as number);
    },
  };
  return backend as Backend;
}
