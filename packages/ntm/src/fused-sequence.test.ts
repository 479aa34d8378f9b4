import { associativeRecallTask, copyTask, sampleBatch } from '@engram/datasets';
import { Random, noGrad, parameterList } from '@engram/tensor';
import { describe, expect, it } from 'vitest';
import { type NtmConfig, createNtm, defaultNtmConfig } from './index.js';
import { fusedSequenceEvaluation, fusedSequenceGradients, fusedSequenceSupported } from './fused-sequence.js';
import { errorBits, evaluateBatch, sequenceLoss } from './train.js';

/** The composed path's loss and gradients (the tape), and the fused path's, for the same model and batch. */
function bothPaths(
  kernel: boolean,
  config: NtmConfig,
  seed: number,
  batchSize: number,
  task = copyTask,
  taskOptions: Record<string, number> = { width: 4, minLength: 1, maxLength: 4 },
) {
  const rng = new Random(seed);
  const model = createNtm(config, rng);
  // Move the weights off their initial values so every path (gates, shifts, sharpening) matters.
  for (const p of parameterList(model.params)) {
    const values = p.toArray();
    for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + rng.normal(0, 0.3);
    p.assign(values);
  }
  const batch = sampleBatch(task, rng, batchSize, taskOptions);
  const composed = sequenceLoss(model, batch);
  composed.loss.backward();
  const fused = fusedSequenceGradients(model, batch, batch.batch, { kernel });
  return { model, composedLoss: composed.loss.item(), fused };
}

function expectSameGradients(config: NtmConfig, seed: number, batchSize: number, task = copyTask, taskOptions?: Record<string, number>) {
  for (const kernel of [false, true]) expectSameGradientsOn(kernel, config, seed, batchSize, task, taskOptions);
}

function expectSameGradientsOn(kernel: boolean, config: NtmConfig, seed: number, batchSize: number, task = copyTask, taskOptions?: Record<string, number>) {
  const { model, composedLoss, fused } = bothPaths(kernel, config, seed, batchSize, task, taskOptions);
  expect(fusedSequenceSupported(model)).toBe(true);
  expect(fused.loss).toBeCloseTo(composedLoss, 4);
  if (kernel) expect(model.params.output.weight.backend.models, 'the CPU backend has the whole-sequence kernel').toBeDefined();
  const params = parameterList(model.params);
  for (const [i, p] of params.entries()) {
    const expected = p.grad?.toArray() ?? new Float32Array(p.size);
    const actual = fused.gradients.get(p) ?? new Float32Array(p.size);
    const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
    let worst = 0;
    for (let j = 0; j < expected.length; j++) worst = Math.max(worst, Math.abs((actual[j] as number) - (expected[j] as number)));
    expect(worst / scale, `${kernel ? 'WebAssembly kernel' : 'separate kernels'}: parameter ${i} ${p.shape.join('×')}`).toBeLessThan(1e-3);
  }
}

describe('the NTM sequence without the tape', () => {
  it('gives the composed path’s loss and gradients: one head each, batch 1', () => {
    expectSameGradients(defaultNtmConfig(5, 4, { memorySlots: 12, memoryWidth: 5, controller: { kind: 'lstm', hiddenSize: 16, layers: 1 } }), 1, 1);
  });

  it('…with several heads, two layers, a learned memory, clipping that bites and sequences of different lengths', () => {
    const config = defaultNtmConfig(5, 4, {
      memorySlots: 10,
      memoryWidth: 4,
      readHeads: 2,
      writeHeads: 3,
      controller: { kind: 'lstm', hiddenSize: 12, layers: 2 },
      memoryInit: 'learned',
      controllerClip: 0.8,
    });
    expectSameGradients(config, 2, 3);
  });

  it('…with a five-wide shift, a random fixed memory and associative recall', () => {
    const config = defaultNtmConfig(8, 6, {
      memorySlots: 9,
      memoryWidth: 6,
      shiftWidth: 5,
      memoryInit: 'random',
      controllerClip: 0,
      controller: { kind: 'lstm', hiddenSize: 10, layers: 1 },
    });
    expectSameGradients(config, 3, 2, associativeRecallTask as unknown as typeof copyTask, { width: 6, itemLength: 1, minItems: 2, maxItems: 3 });
  });

  it('…at a batch past a multiple of four (the blocked products and their leftover rows), odd widths everywhere', () => {
    const config = defaultNtmConfig(6, 5, {
      memorySlots: 11,
      memoryWidth: 7,
      readHeads: 2,
      writeHeads: 1,
      controller: { kind: 'lstm', hiddenSize: 13, layers: 2 },
    });
    expectSameGradients(config, 4, 6, copyTask, { width: 5, minLength: 1, maxLength: 4 });
  });

  it('refuses a batch of another width (a resumed run on the wrong task) on both paths instead of reading it with the wrong strides', () => {
    const model = createNtm(defaultNtmConfig(6, 4, { memorySlots: 8, memoryWidth: 4 }), new Random(1));
    const batch = sampleBatch(copyTask, new Random(2), 1, { width: 5, minLength: 1, maxLength: 3 });
    for (const kernel of [true, false])
      expect(() => fusedSequenceGradients(model, batch, 1, { kernel })).toThrow(/input width 6 and output width 5; the NTM expects 6 and 4/);
  });

  it('evaluates a batch with the kernel’s forward pass alone (two steps’ activations kept): the tape’s loss and error bits', () => {
    const config = defaultNtmConfig(6, 5, {
      memorySlots: 11,
      memoryWidth: 7,
      readHeads: 2,
      writeHeads: 2,
      controller: { kind: 'lstm', hiddenSize: 13, layers: 2 },
      memoryInit: 'learned',
    });
    const rng = new Random(5);
    const model = createNtm(config, rng);
    for (const p of parameterList(model.params)) {
      const values = p.toArray();
      for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + rng.normal(0, 0.3);
      p.assign(values);
    }
    const batch = sampleBatch(copyTask, rng, 7, { width: 5, minLength: 1, maxLength: 6 });
    const fast = fusedSequenceEvaluation(model, batch);
    const tape = noGrad(() => sequenceLoss(model, batch));
    expect(fast).not.toBeNull();
    expect(fast?.loss).toBeCloseTo(tape.loss.item(), 4);
    expect((fast?.wrongBits ?? -1) / batch.batch).toBe(errorBits(batch, tape.run.logits));
    expect(evaluateBatch(model, batch)).toEqual({ loss: fast?.loss, errorBits: (fast?.wrongBits ?? 0) / batch.batch });
    // Another task's batch is not read with the model's strides: the tape's error instead.
    const other = sampleBatch(copyTask, rng, 1, { width: 4, minLength: 1, maxLength: 3 });
    expect(fusedSequenceEvaluation(model, other)).toBeNull();
    expect(() => evaluateBatch(model, other)).toThrow(/input width 5 and output width 4/);
  });

  it('applies only to an LSTM controller', () => {
    const gru = createNtm(defaultNtmConfig(6, 5, { controller: { kind: 'gru', hiddenSize: 8, layers: 1 }, memorySlots: 8, memoryWidth: 4 }), new Random(1));
    expect(fusedSequenceSupported(gru)).toBe(false);
  });
});
