import { createCpuBackend } from './index.js';
import { conformanceSuite, kernelCoverageSuite } from './test-support/conformance.js';

conformanceSuite('cpu (WebAssembly SIMD matmul)', () => createCpuBackend());
conformanceSuite('cpu (TypeScript reference)', () => createCpuBackend({ simd: false }));
kernelCoverageSuite();
