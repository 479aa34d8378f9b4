import { defineConfig } from 'vitest/config';
import { kernelProjects } from '../../vitest.projects';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: kernelProjects([
      'src/cpu/wasm-kernels.test.ts',
      'src/conformance-cpu.test.ts',
      'src/memory-hops-composed.test.ts',
      'src/cumulative-product.test.ts',
      'src/optim.test.ts',
    ]),
  },
});
