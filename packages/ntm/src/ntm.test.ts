import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyTask, sampleBatch } from '@engram/datasets';
import { Adam, Random, type Tensor, concat, countParameters, parameterList, randomNormal, tensor } from '@engram/tensor';
import { gradientCheck } from '@engram/tensor/testing';
import { describe, expect, it } from 'vitest';
import { createNtmWorkers } from './workers.js';
import {
  NTM_RECIPE,
  NonFiniteError,
  createNtm,
  defaultNtmConfig,
  evaluateBatch,
  initialNtmState,
  inspectSequence,
  loadCheckpoint,
  loadNtm,
  newNtm,
  ntmOptimizer,
  ntmFromSafetensors,
  ntmToSafetensors,
  ntmStep,
  saveCheckpoint,
  saveNtm,
  trainBatch,
  trainNtm,
} from './index.js';

const tinyConfig = () => defaultNtmConfig(5, 4, { controller: { kind: 'lstm', hiddenSize: 32, layers: 1 }, memorySlots: 12, memoryWidth: 6 });
const tinyCopy = { width: 4, maxLength: 4 };

describe('NTM', () => {
  it('has the reference configuration’s parameter count', () => {
    // LSTM 100 over [9 inputs, 20-wide read] (52,000), heads 100 → 92 (9,292), output 120 → 8 (968),
    // learned initial read vector (20) and weightings (2 × 128): pytorch-ntm's 62,860 less its second LSTM bias.
    expect(countParameters(createNtm(defaultNtmConfig(9, 8), new Random(1)).params)).toBe(62_536);
  });

  it('learns to copy short sequences (seeded, tiny)', () => {
    const rng = new Random(1);
    const model = createNtm(tinyConfig(), rng);
    const optimizer = new Adam(parameterList(model.params), 1e-2);
    const fresh = sampleBatch(copyTask, new Random(99), 64, tinyCopy);
    const before = evaluateBatch(model, fresh).errorBits;
    for (let step = 1; step <= 1200; step++) trainBatch(model, optimizer, sampleBatch(copyTask, rng, 16, tinyCopy), { clipNorm: 10 });
    const after = evaluateBatch(model, fresh).errorBits;
    expect(before).toBeGreaterThan(1.5);
    expect(after).toBeLessThan(0.25);
  });

  it('has finite-difference gradients through two full steps (LSTM and feed-forward controllers)', () => {
    for (const kind of ['lstm', 'feedforward'] as const) {
      const rng = new Random(3);
      const config = defaultNtmConfig(3, 2, { controller: { kind, hiddenSize: 6, layers: 1 }, memorySlots: 5, memoryWidth: 3, writeHeads: 1, readHeads: 2 });
      const model = createNtm(config, rng);
      const xs = [randomNormal([2, 3], rng), randomNormal([2, 3], rng)];
      const headWeight = model.params.heads.weight;
      const report = gradientCheck(
        (w, x0) => {
          const m = { ...model, params: { ...model.params, heads: { ...model.params.heads, weight: w as Tensor } } };
          let state = initialNtmState(m, 2);
          const a = ntmStep(m, state, x0 as Tensor);
          state = a.state;
          const b = ntmStep(m, state, xs[1] as Tensor);
          return concat([b.output as Tensor, b.state.memory.reshape([2, -1])], 1);
        },
        [headWeight, xs[0] as Tensor],
      );
      expect(report.maxError, kind).toBeLessThan(2e-2);
    }
  });

  it('resumes from a checkpoint exactly where it stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engram-ntm-'));
    const train = async (resumeAt: number | null): Promise<Float32Array> => {
      let rng = new Random(5);
      let model = createNtm(tinyConfig(), new Random(6));
      let optimizer = new Adam(parameterList(model.params), 1e-2);
      for (let step = 1; step <= 6; step++) {
        if (step === resumeAt) {
          const path = join(dir, 'checkpoint.safetensors');
          await saveCheckpoint(path, model, optimizer, { step: step - 1, sequences: 0, seconds: 0, rngState: rng.state(), curriculumLevel: null, extra: {} });
          const checkpoint = await loadCheckpoint(path, new Random(123));
          model = checkpoint.model;
          optimizer = new Adam(parameterList(model.params), checkpoint.learningRate);
          optimizer.loadState(checkpoint.optimizerState);
          rng = Random.fromState(checkpoint.training.rngState);
        }
        trainBatch(model, optimizer, sampleBatch(copyTask, rng, 4, tinyCopy));
      }
      return model.params.heads.weight.toArray();
    };
    expect(await train(4)).toEqual(await train(null));
    expect(readdirSync(dir)).toEqual(['checkpoint.safetensors']);
  });

  it('saves and loads a model for inference, and names a file that is not one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engram-ntm-'));
    const model = createNtm(tinyConfig(), new Random(7));
    await saveNtm(join(dir, 'model.safetensors'), model);
    const { model: loaded } = await loadNtm(join(dir, 'model.safetensors'), new Random(0));
    const batch = sampleBatch(copyTask, new Random(8), 3, tinyCopy);
    expect(evaluateBatch(loaded, batch)).toEqual(evaluateBatch(model, batch));
    const { saveSafetensorsFile } = await import('@engram/tensor');
    await saveSafetensorsFile(join(dir, 'other.safetensors'), { w: tensor([1]) });
    await expect(loadNtm(join(dir, 'other.safetensors'), new Random(0))).rejects.toThrow(/other\.safetensors: not an Engram NTM file/);
    // The same file from its bytes (what a browser fetches), and a source name in the errors.
    const fromBytes = ntmFromSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))), new Random(0), 'models/copy.safetensors');
    expect(evaluateBatch(fromBytes.model, batch)).toEqual(evaluateBatch(model, batch));
    // ...and bytes made without a file system are the same file.
    expect(ntmToSafetensors(model)).toEqual(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    expect(() => ntmFromSafetensors(new Uint8Array(readFileSync(join(dir, 'other.safetensors'))), new Random(0), 'models/x.safetensors')).toThrow(
      /models\/x\.safetensors: not an Engram NTM file/,
    );
  });

  it('stops on NaN with the step number, before touching the weights', () => {
    const model = createNtm(tinyConfig(), new Random(9));
    const optimizer = new Adam(parameterList(model.params), 1e-2);
    const weights = model.params.output.weight.toArray();
    weights[0] = Number.NaN;
    model.params.output.weight.assign(weights);
    const before = model.params.heads.weight.toArray();
    expect(() => trainBatch(model, optimizer, sampleBatch(copyTask, new Random(1), 2, tinyCopy), { step: 17 })).toThrow(NonFiniteError);
    expect(() => trainBatch(model, optimizer, sampleBatch(copyTask, new Random(1), 2, tinyCopy), { step: 17 })).toThrow(/training step 17: the loss/);
    expect(model.params.heads.weight.toArray()).toEqual(before);
  });

  it('lets you inspect every head at every step', () => {
    const model = createNtm(tinyConfig(), new Random(10));
    const sequence = copyTask.sample(new Random(11), tinyCopy);
    const steps = inspectSequence(model, sequence.inputs, { memory: true });
    expect(steps).toHaveLength(sequence.inputs.length);
    for (const step of steps) {
      for (const w of [...step.readWeightings, ...step.writeWeightings]) {
        expect(w).toHaveLength(12);
        expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      }
      expect(step.output.every((p) => p >= 0 && p <= 1)).toBe(true);
      expect(step.memory).toHaveLength(12);
      expect(step.erase[0]).toHaveLength(6);
    }
  });

  it('names bad input', () => {
    const model = createNtm(tinyConfig(), new Random(12));
    expect(() => ntmStep(model, initialNtmState(model, 2), tensor(new Float32Array(6), [2, 3]))).toThrow(/ntmStep: input x must be \[2, 5\]/);
    expect(() => defaultNtmConfig(5, 4, { shiftWidth: 4 })).toThrow(/shiftWidth must be odd/);
    expect(() => evaluateBatch(model, sampleBatch(copyTask, new Random(1), 2, { width: 8 }))).toThrow(
      /input width 9 and output width 8; the NTM expects 5 and 4/,
    );
  });
});

describe('trainNtm (the training loop)', () => {
  const small = {
    config: { controller: { kind: 'lstm' as const, hiddenSize: 16, layers: 1 }, memorySlots: 8, memoryWidth: 4 },
    taskOptions: { width: 3, maxLength: 4 },
  };
  const recipe = { ...NTM_RECIPE, optimizer: 'adam' as const, learningRate: 1e-2, batch: 4, clipValue: 0, clipNorm: 10 };

  it('resumes exactly: stopped at a checkpoint, saved, loaded and continued equals an uninterrupted run (curriculum on)', async () => {
    const options = { recipe, taskOptions: small.taskOptions, curriculum: true, maxSequences: 200, evaluation: { every: 5, size: 20, until: 0, stable: 1 } };
    const whole = newNtm('copy', 3, { ...small, recipe });
    const curve: string[] = [];
    await trainNtm(whole.model, 'copy', { ...options, resume: whole, onStep: (r) => void curve.push(JSON.stringify({ ...r, seconds: 0 })) });

    const part = newNtm('copy', 3, { ...small, recipe });
    const path = join(mkdtempSync(join(tmpdir(), 'engram-ntm-')), 'checkpoint.safetensors');
    let steps = 0;
    const first = await trainNtm(part.model, 'copy', {
      ...options,
      resume: part,
      checkpointEvery: 1000,
      shouldStop: () => steps >= 23,
      onStep: (r) => {
        steps = r.step;
      },
      onCheckpoint: (s) => saveCheckpoint(path, part.model, s.optimizer, s.training),
    });
    expect(first).toEqual({ kind: 'interrupted', step: 23 });
    const checkpoint = await loadCheckpoint(path, new Random(0));
    const optimizer = ntmOptimizer(checkpoint.model, recipe);
    optimizer.learningRate = checkpoint.learningRate;
    optimizer.loadState(checkpoint.optimizerState);
    const rest: string[] = [];
    const outcome = await trainNtm(checkpoint.model, 'copy', {
      ...options,
      resume: { training: checkpoint.training, optimizer },
      onStep: (r) => void rest.push(JSON.stringify({ ...r, seconds: 0 })),
    });
    expect(outcome).toEqual({ kind: 'budget', step: 50 });
    expect(rest).toEqual(curve.slice(23));
    expect(ntmToSafetensors(checkpoint.model)).toEqual(ntmToSafetensors(whole.model));
  });

  it('trains on worker threads to the same weights as one thread, up to the order of sums', async () => {
    const options = { recipe: { ...recipe, batch: 5 }, taskOptions: small.taskOptions, maxSequences: 5 * 12 };
    const train = async (threads: number) => {
      const run = newNtm('copy', 4, { ...small, recipe: options.recipe });
      const workers = threads > 1 ? await createNtmWorkers(run.model, threads, 5) : undefined;
      const curve: { loss: number; errorBits: number }[] = [];
      try {
        await trainNtm(run.model, 'copy', { ...options, resume: run, ...(workers ? { gradients: workers } : {}), onStep: (r) => void curve.push(r) });
      } finally {
        await workers?.close();
      }
      return { curve, weights: parameterList(run.model.params).flatMap((p) => Array.from(p.toArray())), used: workers?.threads ?? 1 };
    };
    const one = await train(1);
    for (const threads of [2, 3, 9]) {
      const many = await train(threads);
      expect(many.used).toBe(Math.min(threads, 5));
      for (const [i, r] of many.curve.entries()) {
        expect(r.loss).toBeCloseTo((one.curve[i] as { loss: number }).loss, 3);
        expect(r.errorBits).toBe((one.curve[i] as { errorBits: number }).errorBits);
      }
      expect(Math.max(...many.weights.map((w, i) => Math.abs(w - (one.weights[i] as number))))).toBeLessThan(1e-4);
    }
    const run = newNtm('copy', 4, { ...small, recipe: options.recipe });
    const workers = await createNtmWorkers(run.model, 2, 5);
    try {
      await expect(workers.compute(run.model, sampleBatch(copyTask, new Random(1), 4, small.taskOptions))).rejects.toThrow(/started for batches of 5, given 4/);
      await expect(workers.compute(newNtm('copy', 5, { ...small, recipe }).model, sampleBatch(copyTask, new Random(1), 5, small.taskOptions))).rejects.toThrow(
        /started for another model/,
      );
    } finally {
      await workers.close();
    }
  });

  it('stops when held-out sequences are solved, and on a non-finite loss with the step', async () => {
    const run = newNtm('copy', 1, { ...small, recipe });
    const outcome = await trainNtm(run.model, 'copy', {
      recipe,
      taskOptions: small.taskOptions,
      resume: run,
      evaluation: { every: 10, size: 20, until: 1e9, stable: 2 },
    });
    expect(outcome).toMatchObject({ kind: 'solved', step: 20 });
    const broken = newNtm('copy', 1, { ...small, recipe });
    const bias = broken.model.params.output.bias as Tensor;
    bias.assign(new Float32Array(bias.size).fill(Number.NaN));
    expect(await trainNtm(broken.model, 'copy', { recipe, taskOptions: small.taskOptions, resume: broken })).toMatchObject({ kind: 'non-finite', step: 1 });
  });
});

it('drives a GRU controller through the same interface (a kind the model never switches on)', async () => {
  const small = {
    config: { controller: { kind: 'gru' as const, hiddenSize: 16, layers: 1 }, memorySlots: 8, memoryWidth: 4 },
    taskOptions: { width: 3, maxLength: 3 },
  };
  const recipe = { ...NTM_RECIPE, optimizer: 'adam' as const, learningRate: 1e-2, batch: 8, clipValue: 0, clipNorm: 10 };
  const run = newNtm('copy', 2, { ...small, recipe });
  expect(run.model.controller.kind).toBe('gru');
  const first: number[] = [];
  await trainNtm(run.model, 'copy', {
    recipe,
    taskOptions: small.taskOptions,
    resume: run,
    maxSequences: 8 * 150,
    onStep: (r) => void first.push(r.errorBits),
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(mean(first.slice(-20))).toBeLessThan(mean(first.slice(0, 20)) * 0.6);
});

it('refuses a model file whose config would allocate without bound or is not an object, naming the field', async () => {
  const { saveSafetensors, tensor } = await import('@engram/tensor');
  const config = defaultNtmConfig(5, 4, { controller: { kind: 'lstm', hiddenSize: 8, layers: 1 }, memorySlots: 8, memoryWidth: 4 });
  const file = (c: unknown) => saveSafetensors({ 'params.x': tensor([1]) }, { format: 'engram-ntm/1', config: JSON.stringify(c) });
  const cases: [unknown, RegExp][] = [
    [{ ...config, memorySlots: 1e9 }, /memorySlots must be an integer in 1\.\.65536/],
    [{ ...config, writeHeads: 2 ** 31 }, /writeHeads must be an integer in 0\.\.64/],
    [{ ...config, memorySlots: 65536, memoryWidth: 8192 }, /memorySlots × memoryWidth must be at most/],
    [null, /'config' metadata must be an object/],
    [{ ...config, controller: null }, /controller must be an object/],
    [{ ...config, memoryConstant: 'x' }, /memoryConstant must be a finite number/],
  ];
  for (const [c, message] of cases) expect(() => ntmFromSafetensors(file(c), new Random(0), 'f')).toThrow(message);
});

it('refuses a checkpoint whose training state is malformed, naming the field', async () => {
  const model = createNtm(tinyConfig(), new Random(1));
  const optimizer = new Adam(parameterList(model.params));
  const path = join(mkdtempSync(join(tmpdir(), 'engram-ntm-')), 'c.safetensors');
  const good = { step: 1, sequences: 1, seconds: 1, rngState: [1, 2, 3, 4] as [number, number, number, number], curriculumLevel: null, extra: {} };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...good, step: -1 }, /'training.step' must be a non-negative integer/],
    [{ ...good, rngState: [0, 0, 0, 0] }, /'training.rngState' must be four 32-bit integers/],
    [{ ...good, seconds: 'soon' }, /'training.seconds'/],
    [{ ...good, curriculumLevel: 1e9 }, /'training.curriculumLevel'/],
    [{ ...good, recentBits: [Number.NaN] }, /'training.recentBits'/],
  ];
  for (const [training, message] of cases) {
    await saveCheckpoint(path, model, optimizer, training as never);
    await expect(loadCheckpoint(path, new Random(0))).rejects.toThrow(message);
  }
  await saveCheckpoint(path, model, optimizer, good);
  await expect(loadCheckpoint(path, new Random(0))).resolves.toBeTruthy();
});
