import type { TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The test projects of a package with WebAssembly kernels: every test file with the plain-SIMD module (what Node 20
 * loads by default), and `relaxed` again with the relaxed-SIMD module (fused multiply-add; what browsers and the
 * `engram` executable load), whose kernels round differently and would otherwise go untested.
 *
 * @param relaxed - Test files (globs under the package) to run a second time with relaxed SIMD.
 */
export function kernelProjects(relaxed: string[]): TestProjectInlineConfiguration[] {
  return [
    { extends: true, test: { name: 'simd', include: ['src/**/*.test.ts'] } },
    { extends: true, test: { name: 'relaxed-simd', include: relaxed, execArgv: ['--experimental-wasm-relaxed-simd'] } },
  ];
}
