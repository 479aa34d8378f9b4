/**
 * The NTM end to end on the gpu backend (gpu.js on headless-gl; run under xvfb-run): two training
 * steps give the same losses and gradients as on the cpu backend. Skipped loudly without a GL
 * context, and a failure with ENGRAM_REQUIRE_GPU=1 (CI).
 */
import { copyTask, sampleBatch } from '@engram/datasets';
import { Adam, Random, type Tensor, createCpuBackend, getDefaultBackend, parameterList, setDefaultBackend } from '@engram/tensor';
import { createGpuBackend } from '@engram/tensor/gpu';
import { describe, expect, it } from 'vitest';
import { createNtm, defaultNtmConfig, trainBatch } from './index.js';

const gpu = await createGpuBackend({ onFallback: () => {} });

function twoSteps(): { losses: number[]; grad: Float32Array } {
  const rng = new Random(3);
  const model = createNtm(defaultNtmConfig(5, 4, { controller: { kind: 'lstm', hiddenSize: 8, layers: 1 }, memorySlots: 6, memoryWidth: 4 }), rng);
  const optimizer = new Adam(parameterList(model.params), 1e-2);
  const losses = [1, 2].map(() => trainBatch(model, optimizer, sampleBatch(copyTask, rng, 3, { width: 4, maxLength: 3 })).loss);
  return { losses, grad: (model.params.heads.weight.grad as Tensor).toArray() };
}

describe('NTM on the gpu backend', () => {
  it.runIf(gpu.usingGpu)('trains like the cpu backend', () => {
    const previous = getDefaultBackend();
    try {
      setDefaultBackend(createCpuBackend());
      const cpu = twoSteps();
      setDefaultBackend(gpu.backend);
      const onGpu = twoSteps();
      for (const [i, loss] of cpu.losses.entries()) expect(onGpu.losses[i]).toBeCloseTo(loss, 2);
      for (const [i, g] of cpu.grad.entries()) expect(onGpu.grad[i]).toBeCloseTo(g, 2);
    } finally {
      setDefaultBackend(previous);
    }
  });

  it.runIf(!gpu.usingGpu)('is skipped without a GL context (loudly; a failure when ENGRAM_REQUIRE_GPU=1)', () => {
    console.warn(`!! NTM GPU TEST SKIPPED: ${gpu.fallbackReason}`);
    expect(process.env.ENGRAM_REQUIRE_GPU, `ENGRAM_REQUIRE_GPU=1 but no GPU: ${gpu.fallbackReason}`).not.toBe('1');
  });
});
