/**
 * The composed hops (what the gpu backend runs) on the CPU: the whole conformance suite on a cpu
 * backend whose memoryHops and memoryHopsBackward are {@link composeMemoryHops} of its other kernels,
 * so the composition is checked against the reference loops and finite differences without a GPU.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Kernels } from './backend.js';
import { createCpuBackend } from './index.js';
import { composeMemoryHops } from './memory-hops-composed.js';
import { conformanceSuite } from './test-support/conformance.js';

function composedBackend(): Backend {
  const base = createCpuBackend();
  const kernels = base.kernels as Kernels<Float32Array>;
  return { ...base, kernels: { ...kernels, ...composeMemoryHops(kernels) } } as Backend;
}

conformanceSuite('cpu with the composed memoryHops', composedBackend);

describe('composeMemoryHops', () => {
  it('is what the composed backend runs (not the reference loop)', () => {
    const kernels = composedBackend().kernels as Kernels<Float32Array>;
    expect(kernels.memoryHops).not.toBe((createCpuBackend().kernels as Kernels<Float32Array>).memoryHops);
  });
});
