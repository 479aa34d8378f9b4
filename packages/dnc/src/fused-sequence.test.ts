import { associativeRecallTask, copyTask, repeatCopyTask, sampleBatch } from '@engram/datasets';
import { errorBits, evaluateBatch, sequenceLoss, trainBatch } from '@engram/ntm';
import { RMSProp, Random, noGrad, parameterList } from '@engram/tensor';
import { describe, expect, it } from 'vitest';
import { dncSequenceEvaluation, dncSequenceGradients, dncSequenceSupported } from './fused-sequence.js';
import { type DncConfig, createDnc, defaultDncConfig, dncRecurrent } from './index.js';

/** The tape's loss and gradients and the hand-written pass's, for the same model and batch. */
function expectSameGradients(config: DncConfig, seed: number, batchSize: number, task = copyTask, taskOptions: Record<string, number> = {}) {
  const rng = new Random(seed);
  const model = createDnc(config, rng);
  // Move the weights off their initial values so every path (gates, modes, allocation, links) matters.
  for (const p of parameterList(model.params)) {
    const values = p.toArray();
    for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + rng.normal(0, 0.3);
    p.assign(values);
  }
  const batch = sampleBatch(task, rng, batchSize, taskOptions);
  const composed = sequenceLoss(dncRecurrent(model), batch);
  composed.loss.backward();
  expect(dncSequenceSupported(model)).toBe(true);
  expect(model.params.output.weight.backend.models, 'the CPU backend has the whole-sequence kernel').toBeDefined();
  for (const kernel of [false, true]) {
    const fused = dncSequenceGradients(model, batch, batch.batch, { kernel });
    expectClose(model, composed.loss.item(), fused, kernel ? 'WebAssembly kernel' : 'separate kernels');
  }
}

function expectClose(model: ReturnType<typeof createDnc>, composedLoss: number, fused: ReturnType<typeof dncSequenceGradients>, path: string) {
  expect(fused.loss, path).toBeCloseTo(composedLoss, 3);
  for (const [i, p] of parameterList(model.params).entries()) {
    const expected = p.grad?.toArray() ?? new Float32Array(p.size);
    const actual = fused.gradients.get(p) ?? new Float32Array(p.size);
    const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
    // Each element to 0.2% of itself (small ones to 5e-4 of the parameter's largest): a path that matters little
    // overall (the free gates, say) cannot hide behind the large ones.
    let worst = 0;
    for (let j = 0; j < expected.length; j++) {
      const e = expected[j] as number;
      worst = Math.max(worst, Math.abs((actual[j] as number) - e) / (Math.abs(e) + 5e-4 * scale));
    }
    expect(worst, `${path}: parameter ${i} ${p.shape.join('×')}`).toBeLessThan(2e-3);
  }
}

describe('the DNC sequence without the tape', () => {
  it('gives the tape’s loss and gradients: one read head, batch 1', () => {
    const config = defaultDncConfig(5, 4, { memorySlots: 8, memoryWidth: 5, readHeads: 1, controller: { kind: 'lstm', hiddenSize: 12, layers: 1 } });
    expectSameGradients(config, 1, 1, copyTask, { width: 4, minLength: 2, maxLength: 5 });
  });

  it('…with four read heads, two layers, a clip that bites, a batch of sequences of different lengths', () => {
    const config = defaultDncConfig(6, 5, {
      memorySlots: 10,
      memoryWidth: 4,
      readHeads: 4,
      clip: 0.5,
      controller: { kind: 'lstm', hiddenSize: 10, layers: 2 },
    });
    expectSameGradients(config, 2, 3, repeatCopyTask, { width: 4, minLength: 1, maxLength: 3, minRepeats: 1, maxRepeats: 2 });
  });

  it('…on associative recall, the NTM settings’ shape (smaller), without a clip', () => {
    const config = defaultDncConfig(8, 6, { memorySlots: 12, memoryWidth: 6, readHeads: 2, clip: 0, controller: { kind: 'lstm', hiddenSize: 16, layers: 1 } });
    expectSameGradients(config, 3, 2, associativeRecallTask, { width: 6, itemLength: 2, minItems: 2, maxItems: 3 });
  });

  it('trains through trainBatch: the same step as the tape (ENGRAM_NTM_TAPE) up to rounding', () => {
    const config = defaultDncConfig(5, 4, { memorySlots: 8, memoryWidth: 5, readHeads: 2, controller: { kind: 'lstm', hiddenSize: 12, layers: 1 } });
    const batch = sampleBatch(copyTask, new Random(9), 2, { width: 4, minLength: 2, maxLength: 4 });
    const run = (useTape: boolean) => {
      const model = createDnc(config, new Random(4));
      const recurrent = dncRecurrent(model);
      const tape = useTape ? { ...recurrent, sequenceGradients: undefined } : recurrent;
      const optimizer = new RMSProp(parameterList(model.params), 1e-3);
      const result = trainBatch(tape, optimizer, batch, { clipValue: 10 });
      return { result, weights: parameterList(model.params).map((p) => p.toArray()) };
    };
    const fused = run(false);
    const tape = run(true);
    expect(fused.result.loss).toBeCloseTo(tape.result.loss, 4);
    expect(fused.result.errorBits).toBe(tape.result.errorBits);
    expect(fused.result.gradientNorm).toBeCloseTo(tape.result.gradientNorm, 3);
    for (const [i, w] of fused.weights.entries()) {
      const other = tape.weights[i] as Float32Array;
      for (let j = 0; j < w.length; j++) expect(Math.abs((w[j] as number) - (other[j] as number))).toBeLessThan(1e-5);
    }
  });

  it('evaluates a batch with the kernel’s forward pass alone: the tape’s loss and error bits', () => {
    const config = defaultDncConfig(6, 5, {
      memorySlots: 10,
      memoryWidth: 4,
      readHeads: 3,
      clip: 0.7,
      controller: { kind: 'lstm', hiddenSize: 10, layers: 2 },
    });
    const rng = new Random(6);
    const model = createDnc(config, rng);
    for (const p of parameterList(model.params)) {
      const values = p.toArray();
      for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + rng.normal(0, 0.3);
      p.assign(values);
    }
    const batch = sampleBatch(repeatCopyTask, rng, 5, { width: 4, minLength: 1, maxLength: 3, minRepeats: 1, maxRepeats: 3 });
    const fast = dncSequenceEvaluation(model, batch);
    const tape = noGrad(() => sequenceLoss(dncRecurrent(model), batch));
    expect(fast).not.toBeNull();
    expect(fast?.loss).toBeCloseTo(tape.loss.item(), 4);
    expect((fast?.wrongBits ?? -1) / batch.batch).toBe(errorBits(batch, tape.run.logits));
    expect(evaluateBatch(dncRecurrent(model), batch)).toEqual({ loss: fast?.loss, errorBits: (fast?.wrongBits ?? 0) / batch.batch });
    expect(dncSequenceEvaluation(model, sampleBatch(copyTask, rng, 1, { width: 4, maxLength: 2 }))).toBeNull();
  });

  it('covers LSTM controllers with one write head on the cpu backend, and says what it refuses', () => {
    const two = createDnc(defaultDncConfig(6, 5, { writeHeads: 2 }), new Random(1));
    expect(dncSequenceSupported(two)).toBe(false);
    expect(dncRecurrent(two).sequenceGradients?.(sampleBatch(copyTask, new Random(1), 1, { width: 4, maxLength: 2 }), 1)).toBeNull();
    const gru = createDnc(defaultDncConfig(6, 5, { controller: { kind: 'gru', hiddenSize: 8, layers: 1 } }), new Random(1));
    expect(dncSequenceSupported(gru)).toBe(false);
    const model = createDnc(defaultDncConfig(6, 5), new Random(1));
    expect(() => dncSequenceGradients(model, sampleBatch(copyTask, new Random(1), 1, { width: 4, maxLength: 2 }))).toThrow(
      /input width 5 and output width 4; the DNC expects 6 and 5/,
    );
    expect(() => dncSequenceGradients(two, sampleBatch(copyTask, new Random(1), 1, { width: 4, maxLength: 2 }))).toThrow(/one write head/);
  });
});
