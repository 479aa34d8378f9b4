import { defineConfig } from 'vitest/config';
import { kernelProjects } from '../../vitest.projects';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: kernelProjects(['src/fused-sequence.test.ts', 'src/dnc.test.ts']),
  },
});
