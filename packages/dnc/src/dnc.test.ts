import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { algorithmicTask, sampleBatch } from '@engram/datasets';
import { evaluateBatch, ntmOptimizer, runSequence, sequenceLoss, trainNtm } from '@engram/ntm';
import { Random, type Tensor, concat, parameterList, tensor } from '@engram/tensor';
import { gradientCheck } from '@engram/tensor/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createDncWorkers } from './workers.js';
import {
  DNC_RECIPE,
  type DncModel,
  type DncState,
  allocationWeighting,
  backwardWeighting,
  createDnc,
  defaultDncConfig,
  dncFromSafetensors,
  dncRecurrent,
  dncStep,
  dncToSafetensors,
  forwardWeighting,
  linkReadWeightings,
  freeList,
  initialDncState,
  inspectDnc,
  linkMatrix,
  loadDncCheckpoint,
  newDnc,
  precedenceWeighting,
  readWeighting,
  retentionVector,
  saveDncCheckpoint,
  usageVector,
  writeAllocationWeightings,
  writeWeighting,
} from './index.js';

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});
const scratch = (): string => {
  const folder = mkdtempSync(join(tmpdir(), 'engram-dnc-'));
  folders.push(folder);
  return folder;
};

const values = (t: Tensor): number[] => Array.from(t.toArray());
const close = (actual: Tensor, expected: number[], digits = 5): void => {
  const a = values(actual);
  expect(a.length).toBe(expected.length);
  for (const [i, v] of a.entries()) expect(v, `element ${i}`).toBeCloseTo(expected[i] as number, digits);
};

describe('DNC memory access on a hand-worked 4-slot memory (Graves et al. 2016, Methods)', () => {
  it('usage after a free: ψ = Π(1 − f w^r) and u = (u + w^w − u∘w^w)∘ψ', () => {
    const retention = retentionVector(tensor([[1, 0.5]]), [tensor([[1, 0, 0, 0]]), tensor([[0, 0, 1, 0]])]);
    close(retention, [0, 1, 0.5, 1]);
    // Slot 3 was just written (w^w = 1): used; slot 0 was freed by read head 0; slot 2 half freed.
    close(usageVector(tensor([[1, 1, 0.5, 0]]), [tensor([[0, 0, 0, 1]])], retention), [0, 1, 0.25, 1]);
  });

  it('the free list and allocation: least used first, a[φ_j] = (1 − u[φ_j]) Π_{i<j} u[φ_i]', () => {
    const usage = tensor([[0.4, 0.1, 0.9, 0.2]]);
    expect(Array.from(freeList(usage))).toEqual([1, 3, 0, 2]);
    close(allocationWeighting(usage), [0.6 * 0.1 * 0.2, 0.9, 0.1 * 0.1 * 0.2 * 0.4, 0.8 * 0.1], 4);
    // Ties go to the lower index; a fully used memory allocates (almost) nothing.
    expect(Array.from(freeList(tensor([[0.5, 0.5, 0.1, 0.5]])))).toEqual([2, 0, 1, 3]);
    expect(Math.max(...values(allocationWeighting(tensor([[1, 1, 1, 1]]))))).toBeLessThan(1e-5);
  });

  it('two write heads allocate one after the other: the second avoids the first one’s slot', () => {
    const [first, second] = writeAllocationWeightings(tensor([[0.9, 0, 0.9, 0.5]]), [tensor([[1]]), tensor([[1]])]) as [Tensor, Tensor];
    expect(values(first).indexOf(Math.max(...values(first)))).toBe(1);
    expect(values(second).indexOf(Math.max(...values(second)))).toBe(3);
  });

  it('write weighting: g^w (g^a a + (1 − g^a) c)', () => {
    close(writeWeighting(tensor([[1, 0, 0, 0]]), tensor([[0, 0, 0, 1]]), tensor([[0.25]]), tensor([[0.5]])), [0.125, 0, 0, 0.375]);
  });

  it('link matrix and precedence after two writes (slot 0, then slot 2); forward and backward weightings', () => {
    let link = tensor(new Float32Array(16), [1, 4, 4]);
    let precedence = tensor([[0, 0, 0, 0]]);
    for (const w of [tensor([[1, 0, 0, 0]]), tensor([[0, 0, 1, 0]])]) {
      link = linkMatrix(link, precedence, w);
      precedence = precedenceWeighting(precedence, w);
    }
    // L[2, 0] = 1: slot 2 was written right after slot 0; the diagonal stays 0.
    close(link, [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    close(precedence, [0, 0, 1, 0]);
    close(forwardWeighting(link, tensor([[1, 0, 0, 0]])), [0, 0, 1, 0]);
    close(backwardWeighting(link, tensor([[0, 0, 1, 0]])), [1, 0, 0, 0]);
    // A write that covers half of slot 1 keeps half of the old links and links 1 after 2.
    const next = linkMatrix(link, precedence, tensor([[0, 0.5, 0, 0]]));
    close(next, [0, 0, 0, 0, 0, 0, 0.5, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('the fused link update equals the composed one, values and gradients', () => {
    const rng = new Random(8);
    const link = tensor(
      Float32Array.from({ length: 2 * 25 }, () => rng.uniform(0, 0.5)),
      [2, 5, 5],
    );
    const precedence = tensor(
      Float32Array.from({ length: 10 }, () => rng.uniform(0, 0.4)),
      [2, 5],
    );
    const write = tensor(
      Float32Array.from({ length: 10 }, () => rng.uniform(0, 0.4)),
      [2, 5],
    );
    close(linkMatrix(link, precedence, write), values(linkMatrix(link, precedence, write, { fused: false })));
    for (const fused of [true, false]) {
      const report = gradientCheck((l, p, w) => linkMatrix(l as Tensor, p as Tensor, w as Tensor, { fused }), [link, precedence, write]);
      expect(report.maxError).toBeLessThan(1e-2);
    }
  });

  it('every read head’s forward and backward weightings at once equal the per-head ones, values and gradients', () => {
    const rng = new Random(9);
    const random = (shape: number[], high: number) =>
      tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.uniform(0, high)),
        shape,
      );
    const link = random([2, 6, 6], 0.5);
    const reads = [random([2, 6], 0.4), random([2, 6], 0.4), random([2, 6], 0.4)];
    const both = linkReadWeightings(link, reads);
    reads.forEach((w, r) => {
      close(both.forward[r] as Tensor, values(forwardWeighting(link, w)));
      close(both.backward[r] as Tensor, values(backwardWeighting(link, w)));
    });
    // Gradients through a mix of all six outputs, against finite differences.
    const report = gradientCheck(
      (l, a, b, c) => {
        const out = linkReadWeightings(l as Tensor, [a as Tensor, b as Tensor, c as Tensor]);
        return concat([...out.forward, ...out.backward], 1);
      },
      [link, ...reads],
    );
    expect(report.maxError).toBeLessThan(1e-2);
  });

  it('read weighting mixes backward, forward and content by the read mode', () => {
    const modes = tensor([[0.2, 0.3, 0.5]]);
    close(readWeighting(modes, [tensor([[1, 0, 0, 0]])], tensor([[0, 0, 0, 1]]), [tensor([[0, 1, 0, 0]])]), [0.2, 0.3, 0, 0.5]);
  });
});

const tinyConfig = (writeHeads = 1) =>
  defaultDncConfig(3, 2, { controller: { kind: 'lstm', hiddenSize: 5, layers: 1 }, memorySlots: 4, memoryWidth: 3, readHeads: 2, writeHeads });

describe('the DNC step', () => {
  for (const writeHeads of [1, 2]) {
    it(`gradients match finite differences through two steps (links and precedence in play) (${writeHeads} write head${writeHeads > 1 ? 's' : ''})`, () => {
      const model = createDnc(tinyConfig(writeHeads), new Random(3));
      const rng = new Random(4);
      const xs = Array.from({ length: 2 }, () =>
        tensor(
          Float32Array.from({ length: 6 }, () => rng.uniform(-1, 1)),
          [2, 3],
        ),
      );
      const swapped = (iw: Tensor, ib: Tensor, ow: Tensor): DncModel => ({
        ...model,
        params: { ...model.params, interface: { weight: iw, bias: ib }, output: { weight: ow, bias: model.params.output.bias as Tensor } },
      });
      const report = gradientCheck(
        (iw, ib, ow) => {
          const m = swapped(iw as Tensor, ib as Tensor, ow as Tensor);
          let state: DncState = initialDncState(m, 2);
          const outputs: Tensor[] = [];
          for (const x of xs) {
            const step = dncStep(m, state, x);
            outputs.push(step.output as Tensor);
            state = step.state;
          }
          return outputs.reduce((a, b) => a.add(b));
        },
        [model.params.interface.weight, model.params.interface.bias as Tensor, model.params.output.weight],
        { step: 1e-3 },
      );
      expect(report.maxError).toBeLessThan(2e-2);
    });
  }

  it('keeps every weighting a distribution-like vector, usage in [0, 1] and the link diagonal 0', () => {
    const model = createDnc(tinyConfig(2), new Random(5));
    const rng = new Random(6);
    let state = initialDncState(model, 2);
    for (let t = 0; t < 6; t++) {
      state = dncStep(
        model,
        state,
        tensor(
          Float32Array.from({ length: 6 }, () => rng.uniform(-1, 1)),
          [2, 3],
        ),
      ).state;
      for (const w of [...state.readWeightings, ...state.writeWeightings]) for (const v of values(w)) expect(v).toBeGreaterThanOrEqual(-1e-6);
      for (const v of values(state.usage)) expect(v >= -1e-6 && v <= 1 + 1e-6).toBe(true);
      for (const link of state.links) {
        const l = values(link);
        for (let b = 0; b < 2; b++) for (let i = 0; i < 4; i++) expect(l[b * 16 + i * 5]).toBe(0);
      }
    }
  });

  it('inspection: per-step usage, allocation, weightings, read modes summing to 1, and the last links', () => {
    const model = createDnc(tinyConfig(2), new Random(5));
    const sequence = algorithmicTask('copy').sample(new Random(2), { width: 2, minLength: 3, maxLength: 3 });
    const { steps, links } = inspectDnc(model, sequence.inputs);
    expect(steps.length).toBe(sequence.inputs.length);
    for (const step of steps) {
      expect(step.readModes.length).toBe(2);
      for (const modes of step.readModes) expect(modes.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(step.allocations.length).toBe(2);
      expect(step.usage.length).toBe(4);
    }
    expect(links.length).toBe(2);
    expect(links[0]?.length).toBe(4);
  });

  it('names a wrong input width', () => {
    const model = createDnc(tinyConfig(), new Random(1));
    expect(() => dncStep(model, initialDncState(model, 1), tensor([[1, 2]]))).toThrow(/input x must be \[1, 3\]/);
    expect(() => evaluateBatch(dncRecurrent(model), sampleBatch(algorithmicTask('copy'), new Random(1), 1, { width: 4 }))).toThrow(/the DNC expects 3 and 2/);
  });

  it('refuses a bad config, naming the field', () => {
    expect(() => defaultDncConfig(3, 2, { readHeads: 0 })).toThrow(/readHeads/);
    expect(() => defaultDncConfig(3, 2, { memorySlots: 1e9 })).toThrow(/memorySlots/);
    expect(() => defaultDncConfig(3, 2, { clip: -1 })).toThrow(/clip/);
  });
});

describe('training the DNC through the NTM’s sequence loop', () => {
  const taskOptions = { width: 4, minLength: 1, maxLength: 3 };
  const recipe = { ...DNC_RECIPE, learningRate: 3e-3, batch: 8 };
  const config = { controller: { kind: 'lstm' as const, hiddenSize: 32, layers: 1 }, memorySlots: 8, memoryWidth: 8, readHeads: 1 };

  it('learns to copy short sequences (seeded; < 0.05 bits per sequence on 100 held-out ones)', async () => {
    const { model, ...start } = newDnc('copy', 1, { taskOptions, recipe, config });
    const outcome = await trainNtm(dncRecurrent(model), 'copy', {
      recipe,
      resume: start,
      taskOptions,
      maxSequences: 40_000,
      evaluation: { every: 50, size: 100, until: 0.05, stable: 2 },
    });
    expect(outcome.kind).toBe('solved');
  });

  it('trains on worker threads to the same weights as one thread, up to the order of sums', async () => {
    const train = async (threads: number) => {
      const { model, ...start } = newDnc('copy', 3, { taskOptions, recipe, config });
      const workers = threads > 1 ? await createDncWorkers(model, threads, recipe.batch) : undefined;
      const losses: number[] = [];
      try {
        await trainNtm(dncRecurrent(model), 'copy', {
          recipe,
          resume: start,
          taskOptions,
          maxSequences: 10 * recipe.batch,
          ...(workers ? { gradients: workers } : {}),
          onStep: (r) => void losses.push(r.loss),
        });
      } finally {
        await workers?.close();
      }
      return { losses, weights: parameterList(model.params).flatMap((p) => Array.from(p.toArray())) };
    };
    const one = await train(1);
    const two = await train(2);
    expect(two.losses).toHaveLength(10);
    for (const [i, loss] of two.losses.entries()) expect(loss).toBeCloseTo(one.losses[i] as number, 3);
    expect(Math.max(...two.weights.map((w, i) => Math.abs(w - (one.weights[i] as number))))).toBeLessThan(1e-4);
  });

  it('save → load gives the same outputs; a checkpoint resumes bit for bit', async () => {
    const run = async (stopAt: number | null, total: number) => {
      const { model, ...start } = newDnc('copy', 2, { taskOptions, recipe, config });
      if (stopAt === null) {
        await trainNtm(dncRecurrent(model), 'copy', { recipe, resume: start, taskOptions, maxSequences: total * recipe.batch });
        return parameterList(model.params).map((p) => Array.from(p.toArray()));
      }
      const path = join(scratch(), 'checkpoint.safetensors');
      await trainNtm(dncRecurrent(model), 'copy', {
        recipe,
        resume: start,
        taskOptions,
        maxSequences: stopAt * recipe.batch,
        onCheckpoint: (s) => saveDncCheckpoint(path, model, s.optimizer, s.training),
      });
      const loaded = await loadDncCheckpoint(path);
      expect(loaded.training.step).toBe(stopAt);
      const optimizer = ntmOptimizer(dncRecurrent(loaded.model), recipe);
      optimizer.loadState(loaded.optimizerState);
      await trainNtm(dncRecurrent(loaded.model), 'copy', {
        recipe,
        resume: { training: loaded.training, optimizer },
        taskOptions,
        maxSequences: total * recipe.batch,
      });
      return parameterList(loaded.model.params).map((p) => Array.from(p.toArray()));
    };
    const straight = await run(null, 30);
    const resumed = await run(12, 30);
    expect(resumed).toEqual(straight);

    const model = createDnc(tinyConfig(2), new Random(9));
    const batch = sampleBatch(algorithmicTask('copy'), new Random(3), 2, { width: 2, maxLength: 3 });
    const { model: loaded } = dncFromSafetensors(dncToSafetensors(model));
    const before = runSequence(dncRecurrent(model), batch).logits.map((l) => (l ? Array.from(l.toArray()) : null));
    const after = runSequence(dncRecurrent(loaded), batch).logits.map((l) => (l ? Array.from(l.toArray()) : null));
    expect(after).toEqual(before);
    expect(sequenceLoss(dncRecurrent(loaded), batch).loss.item()).toBe(sequenceLoss(dncRecurrent(model), batch).loss.item());
  });
});
