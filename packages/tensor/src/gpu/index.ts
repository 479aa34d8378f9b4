/**
 * `@engram/tensor/gpu`: the gpu.js backend. Import it only when you want the GPU; it loads gpu.js
 * (an optional peer dependency) on demand.
 *
 * ```ts
 * import { setDefaultBackend } from '@engram/tensor';
 * import { createGpuBackend } from '@engram/tensor/gpu';
 * const { backend, usingGpu } = await createGpuBackend();
 * setDefaultBackend(backend);
 * console.log(backend.description); // "gpu (gpu.js webgl2)", or the cpu backend after a warning
 * ```
 *
 * @packageDocumentation
 */
export { type GpuBackendOptions, type GpuBackendResult, type GpuStorage, type GpuTexture, createGpuBackend } from './gpu-backend.js';
export { MAX_RANK } from './kernel-sources.js';
