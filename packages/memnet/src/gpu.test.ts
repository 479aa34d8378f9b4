/**
 * MemN2N end to end on the gpu backend (gpu.js on headless-gl; run under xvfb-run): two training
 * steps give the same losses and gradients as on the cpu backend, for both tyings. Skipped loudly
 * without a GL context, and a failure with ENGRAM_REQUIRE_GPU=1 (CI).
 */
import { Vocabulary, parseBabi } from '@engram/datasets';
import { Random, SGD, type Tensor, createCpuBackend, getDefaultBackend, parameterList, setDefaultBackend } from '@engram/tensor';
import { createGpuBackend } from '@engram/tensor/gpu';
import { describe, expect, it } from 'vitest';
import { type WeightTying, createMemnet, defaultMemnetConfig, encodeBatch, trainStep } from './index.js';

const gpu = await createGpuBackend({ onFallback: () => {} });
const examples = parseBabi(
  `1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary?\tbathroom\t1
4 Daniel went back to the hallway.
5 Mary travelled to the garden.
6 Where is Mary?\tgarden\t5
`,
  'story.txt',
);
const vocabulary = Vocabulary.fromExamples(examples);

function twoSteps(tying: WeightTying, linear: boolean): { losses: number[]; grad: Float32Array } {
  const config = defaultMemnetConfig(vocabulary.size, { embeddingSize: 6, memorySize: 5, tying });
  const model = createMemnet(config, new Random(3));
  const optimizer = new SGD(parameterList(model.params), 0.01);
  const batch = encodeBatch(examples, vocabulary, config, { timeNoise: 0.1, rng: new Random(4) });
  const losses = [1, 2].map((step) => trainStep(model, optimizer, batch, { linear, maxGradNorm: 40, step }).loss);
  return { losses, grad: (model.params.embeddings[1] as Tensor).grad?.toArray() ?? new Float32Array() };
}

describe('MemN2N on the gpu backend', () => {
  it.runIf(gpu.usingGpu)('trains like the cpu backend (adjacent and layer-wise tying, softmax and linear start)', () => {
    const previous = getDefaultBackend();
    try {
      for (const [tying, linear] of [
        ['adjacent', false],
        ['layerwise', true],
      ] as const) {
        setDefaultBackend(createCpuBackend());
        const cpu = twoSteps(tying, linear);
        setDefaultBackend(gpu.backend);
        const onGpu = twoSteps(tying, linear);
        for (const [i, loss] of cpu.losses.entries()) expect(onGpu.losses[i]).toBeCloseTo(loss, 2);
        expect(onGpu.grad.length).toBe(cpu.grad.length);
        for (const [i, g] of cpu.grad.entries()) expect(onGpu.grad[i]).toBeCloseTo(g, 2);
      }
    } finally {
      setDefaultBackend(previous);
    }
  });

  it.runIf(!gpu.usingGpu)('is skipped without a GL context (loudly; a failure when ENGRAM_REQUIRE_GPU=1)', () => {
    console.warn(`!! MEMNET GPU TEST SKIPPED: ${gpu.fallbackReason}`);
    expect(process.env.ENGRAM_REQUIRE_GPU, `ENGRAM_REQUIRE_GPU=1 but no GPU: ${gpu.fallbackReason}`).not.toBe('1');
  });
});
