/**
 * The conformance suite on the gpu backend (gpu.js on headless-gl in Node; run under xvfb-run).
 * Without a GL context the suite is skipped with a loud warning — unless ENGRAM_REQUIRE_GPU=1
 * (set by CI), which turns a missing GPU into a failure.
 */
import { describe, expect, it } from 'vitest';
import { createGpuBackend } from './gpu/index.js';
import { conformanceSuite } from './test-support/conformance.js';

const result = await createGpuBackend({ onFallback: () => {} });
const required = process.env.ENGRAM_REQUIRE_GPU === '1';

if (result.usingGpu) {
  conformanceSuite(`gpu (${result.backend.description})`, () => result.backend, { valueTolerance: 2e-4 });
} else {
  const banner = `\n${'!'.repeat(78)}\n!! GPU CONFORMANCE SUITE SKIPPED: ${result.fallbackReason}\n!! Run under 'xvfb-run -a' with the native 'gl' package built to test the gpu backend.\n${'!'.repeat(78)}\n`;
  console.warn(banner);
  describe('conformance: gpu', () => {
    it.runIf(required)('has a GL context (ENGRAM_REQUIRE_GPU=1)', () => {
      expect.fail(`ENGRAM_REQUIRE_GPU=1 but the gpu backend is unavailable: ${result.fallbackReason}`);
    });
    it('reports why it fell back', () => {
      expect(result.backend.name).toBe('cpu');
      expect(result.fallbackReason).toMatch(/gpu|gl|context|display/i);
    });
  });
}
