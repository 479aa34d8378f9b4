import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngramError, Random, type Tensor, crossEntropy, saveSafetensors, tensor } from '@engram/tensor';
import { gradientCheck } from '@engram/tensor/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type LmConfig,
  type LmModel,
  type LmRecipe,
  type LmTrainingSnapshot,
  LmVocabulary,
  cacheDistribution,
  cacheGrid,
  completeText,
  createLm,
  drawDropoutMasks,
  flatParameters,
  readWithCache,
  evaluateLm,
  initialLmState,
  learningRateAt,
  lmForward,
  lmFromSafetensors,
  lmRecipe,
  lmToSafetensors,
  loadLm,
  loadLmCheckpoint,
  runText,
  saveLm,
  saveLmCheckpoint,
  toStreams,
  trainLm,
  validateLmConfig,
  windowAt,
  windowCount,
} from './index.js';
import { createLmWorkers } from './workers.js';
import { PARALLEL_SUM_MIN_FLOATS } from '@engram/tensor/workers';

const folders: string[] = [];
const scratch = (): string => {
  const folder = mkdtempSync(join(tmpdir(), 'engram-lm-'));
  folders.push(folder);
  return folder;
};
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

const tiny = (overrides: Partial<LmConfig> = {}): LmConfig => ({
  vocabularySize: 7,
  embeddingSize: 4,
  hiddenSize: 4,
  layers: 2,
  dropout: 0,
  tied: false,
  initScale: 0.3,
  ...overrides,
});

/** A text with a seeded pattern: the word after w is (w · 3 + 1) mod V, so a model can learn it exactly. */
function patternText(length: number, v: number, seed: number): Int32Array {
  const rng = new Random(seed);
  const ids = new Int32Array(length);
  ids[0] = rng.int(0, v - 1);
  for (let i = 1; i < length; i++) ids[i] = rng.next() < 0.05 ? rng.int(0, v - 1) : ((ids[i - 1] as number) * 3 + 1) % v;
  return ids;
}

const tinyRecipe = (overrides: Partial<LmRecipe> = {}): LmRecipe => ({
  model: { embeddingSize: 16, hiddenSize: 16, layers: 1, dropout: 0, tied: false, initScale: 0.1 },
  batch: 4,
  unroll: 8,
  epochs: 3,
  learningRate: 1,
  decayAfter: 2,
  decay: 2,
  maxGradNorm: 5,
  ...overrides,
});

describe('the language model', () => {
  it('has the gradients of finite differences through embedding, both LSTM layers and the softmax (untied and tied, with the carried state)', () => {
    for (const tied of [false, true]) {
      const model = createLm(tiny({ tied }), new Random(3));
      const inputs = Int32Array.from([1, 2, 3, 4, 5, 6]);
      const targets = Int32Array.from([2, 3, 4, 5, 6, 0]);
      const names = Object.keys(model.params);
      const leaves: Tensor[] = [model.params.embedding, ...model.params.layers.flatMap((l) => [l.weight, l.bias]), model.params.output.bias];
      if (!tied) leaves.push(model.params.output.weight as Tensor);
      const h0 = tensor(
        Float32Array.from({ length: 8 }, (_, i) => 0.1 * (i - 4)),
        [2, 4],
      );
      const c0 = tensor(
        Float32Array.from({ length: 8 }, (_, i) => 0.05 * i),
        [2, 4],
      );
      const inputsList = [...leaves, h0, c0];
      const report = gradientCheck(
        (...xs: Tensor[]) => {
          const [embedding, w0, b0, w1, b1, outBias] = xs as Tensor[];
          const outWeight = tied ? undefined : xs[6];
          const [h, c] = xs.slice(-2) as [Tensor, Tensor];
          const swapped: LmModel = {
            config: model.config,
            params: {
              embedding: embedding as Tensor,
              layers: [
                { weight: w0 as Tensor, bias: b0 as Tensor },
                { weight: w1 as Tensor, bias: b1 as Tensor },
              ],
              output: outWeight === undefined ? { bias: outBias as Tensor } : { weight: outWeight, bias: outBias as Tensor },
            },
          };
          return crossEntropy(lmForward(swapped, { h: [h, h], c: [c, c] }, inputs, 2).logits, targets, 'none');
        },
        inputsList,
        { step: 1e-2 },
      );
      expect(names).toContain('embedding');
      expect(report.maxError, JSON.stringify(report.worst)).toBeLessThan(2e-2);
    }
  });

  it('learns a tiny seeded corpus to near its floor and the same seed gives the same numbers', async () => {
    const v = 11;
    const train = patternText(4000, v, 1);
    const valid = patternText(600, v, 2);
    const run = async () => {
      const model = createLm({ ...tinyRecipe().model, vocabularySize: v }, new Random(5));
      const epochs: number[] = [];
      await trainLm(model, { train, valid }, { recipe: tinyRecipe({ epochs: 4 }), onEpoch: (e) => void epochs.push(e.validPerplexity) });
      return epochs;
    };
    const first = await run();
    // 5% of words are random: the floor is about exp(H) ≈ 1.3; a model that learned nothing scores ≈ 11.
    expect(first[first.length - 1]).toBeLessThan(2);
    expect(first[0]).toBeGreaterThan(first[first.length - 1] as number);
    expect(await run()).toEqual(first);
  });

  it('resumes exactly: stopped, saved, loaded and continued equals an uninterrupted run, bit for bit (with dropout)', async () => {
    const v = 9;
    const train = patternText(1500, v, 3);
    const valid = patternText(300, v, 4);
    const recipe = tinyRecipe({ epochs: 2, model: { ...tinyRecipe().model, dropout: 0.3, layers: 2 } });
    const vocabulary = new LmVocabulary(Array.from({ length: v }, (_, i) => `w${i}`));
    const whole = createLm({ ...recipe.model, vocabularySize: v }, new Random(2));
    await trainLm(whole, { train, valid }, { recipe, seed: 7 });

    const path = join(scratch(), 'checkpoint.safetensors');
    const part = createLm({ ...recipe.model, vocabularySize: v }, new Random(2));
    let steps = 0;
    const outcome = await trainLm(
      part,
      { train, valid },
      {
        recipe,
        seed: 7,
        shouldStop: () => steps >= 30, // past the first epoch's end (23 windows)
        onStep: (r) => {
          steps = r.step;
        },
        onCheckpoint: (s) => saveLmCheckpoint(path, part, vocabulary, s),
      },
    );
    expect(outcome).toEqual({ kind: 'interrupted', step: 30 });
    const checkpoint = await loadLmCheckpoint(path, recipe.batch);
    await trainLm(checkpoint.model, { train, valid }, { recipe, seed: 7, resume: checkpoint.snapshot });
    expect(lmToSafetensors(checkpoint.model, vocabulary)).toEqual(lmToSafetensors(whole, vocabulary));
  });

  it('draws the same dropout masks beforehand as during the pass, and refuses masks of another window', () => {
    const model = createLm(tiny({ dropout: 0.4 }), new Random(3));
    const inputs = Int32Array.from([1, 2, 3, 4, 5, 6]);
    const during = lmForward(model, initialLmState(model, 2), inputs, 2, { dropoutRng: new Random(9) });
    const masks = drawDropoutMasks(model, 3, 2, new Random(9));
    const before = lmForward(model, initialLmState(model, 2), inputs, 2, masks ? { dropoutMasks: masks } : {});
    expect(before.logits.toArray()).toEqual(during.logits.toArray());
    expect(masks?.embedding.some((m) => m === 0)).toBe(true);
    expect(drawDropoutMasks(createLm(tiny(), new Random(3)), 3, 2, new Random(9))).toBeUndefined();
    expect(() => lmForward(model, initialLmState(model, 2), inputs.subarray(0, 4), 2, masks ? { dropoutMasks: masks } : {})).toThrow(
      /dropout masks do not match/,
    );
  });

  it('trains on worker threads to the same weights as one thread, up to the order of sums (with dropout)', async () => {
    const v = 9;
    const train = patternText(1500, v, 3);
    const valid = patternText(300, v, 4);
    const recipe = tinyRecipe({ epochs: 2, batch: 5, model: { ...tinyRecipe().model, dropout: 0.3, layers: 2 } });
    // Hidden size 64: gradients wide enough for the threads to share their sum and the SGD step.
    const wide = { ...recipe, model: { ...recipe.model, hiddenSize: 64 } };
    expect(flatParameters(createLm({ ...wide.model, vocabularySize: v }, new Random(2))).reduce((n, w) => n + w.length, 0)).toBeGreaterThanOrEqual(
      PARALLEL_SUM_MIN_FLOATS,
    );
    const run = async (threads: number, recipe: LmRecipe) => {
      const model = createLm({ ...recipe.model, vocabularySize: v }, new Random(2));
      const workers = threads > 1 ? await createLmWorkers(model, threads, recipe.batch) : undefined;
      const losses: number[] = [];
      const valids: number[] = [];
      try {
        await trainLm(
          model,
          { train, valid },
          {
            recipe,
            seed: 7,
            ...(workers ? { gradients: workers } : {}),
            onStep: (r) => void losses.push(r.loss),
            onEpoch: (e) => void valids.push(e.validPerplexity),
          },
        );
      } finally {
        await workers?.close();
      }
      return { weights: flatParameters(model).flatMap((w) => Array.from(w)), losses, valids, used: workers?.threads ?? 1 };
    };
    for (const each of [recipe, wide]) {
      const one = await run(1, each);
      for (const threads of [2, 3, 8]) {
        const many = await run(threads, each);
        expect(many.used).toBe(Math.min(threads, each.batch));
        expect(many.losses.length).toBe(one.losses.length);
        for (const [i, loss] of many.losses.entries()) expect(loss).toBeCloseTo(one.losses[i] as number, 4);
        for (const [i, p] of many.valids.entries()) expect(p).toBeCloseTo(one.valids[i] as number, 3);
        expect(Math.max(...many.weights.map((w, i) => Math.abs(w - (one.weights[i] as number))))).toBeLessThan(1e-4);
      }
    }
    const model = createLm({ ...recipe.model, vocabularySize: v }, new Random(2));
    await expect(createLmWorkers(model, 0, recipe.batch)).rejects.toThrow(/threads must be an integer/);
    const workers = await createLmWorkers(model, 2, recipe.batch);
    try {
      const state = initialLmState(model, 4);
      await expect(workers.compute(model, state, new Int32Array(8), new Int32Array(8), 4, undefined)).rejects.toThrow(/started for batch 5/);
    } finally {
      await workers.close();
    }
  });

  it('stops on a non-finite loss with the step number, before touching the weights', async () => {
    const model = createLm({ ...tinyRecipe().model, vocabularySize: 5 }, new Random(1));
    model.params.output.bias.assign(Float32Array.from([Number.NaN, 0, 0, 0, 0]));
    const outcome = await trainLm(model, { train: patternText(400, 5, 1), valid: patternText(100, 5, 2) }, { recipe: tinyRecipe() });
    expect(outcome.kind).toBe('non-finite');
    expect(outcome).toMatchObject({ step: 1 });
  });

  it('evaluates the same perplexity whatever the evaluation window (the state is carried)', () => {
    const model = createLm(tiny(), new Random(4));
    const ids = patternText(120, 7, 9);
    const a = evaluateLm(model, ids, { unroll: 7 });
    const b = evaluateLm(model, ids, { unroll: 100 });
    expect(a.tokens).toBe(119);
    expect(a.perplexity).toBeCloseTo(b.perplexity, 4);
  });
});

describe('the corpus layout and the recipes', () => {
  it('cuts the text into parallel streams and windows with the next word as target', () => {
    const streams = toStreams(
      Int32Array.from({ length: 23 }, (_, i) => i),
      2,
    );
    expect(streams.length).toBe(11);
    expect(windowCount(streams, 4)).toBe(2);
    const w = windowAt(streams, 4, 4);
    expect(Array.from(w.inputs)).toEqual([4, 15, 5, 16, 6, 17, 7, 18]);
    expect(Array.from(w.targets)).toEqual([5, 16, 6, 17, 7, 18, 8, 19]);
    expect(() => toStreams(new Int32Array(3), 2)).toThrow(EngramError);
  });

  it("follows Zaremba et al.'s schedules: small halves η after epoch 4, medium divides by 1.2 after epoch 6", () => {
    const small = lmRecipe('small');
    expect([0, 3, 4, 5, 12].map((e) => learningRateAt(small, e))).toEqual([1, 1, 0.5, 0.25, 1 / 2 ** 9]);
    const medium = lmRecipe('medium');
    expect(learningRateAt(medium, 5)).toBe(1);
    expect(learningRateAt(medium, 6)).toBeCloseTo(1 / 1.2, 12);
    expect(() => lmRecipe('constructor')).toThrow(/unknown recipe/);
    expect(() => lmRecipe('__proto__')).toThrow(/unknown recipe/);
  });
});

describe('the neural cache', () => {
  it('equals a hand-worked example', () => {
    // keys h_1 = (1, 0), h_2 = (0, 1), h_3 = (1, 1) followed by words 4, 5, 4; query (1, 0), θ = ln 2:
    // scores θ·(1, 0, 1) → weights ∝ (2, 1, 2) → (0.4, 0.2, 0.4); p_cache(4) = 0.8, p_cache(5) = 0.2.
    const { weights, distribution } = cacheDistribution(Float32Array.from([1, 0, 0, 1, 1, 1]), Int32Array.from([4, 5, 4]), Float32Array.from([1, 0]), Math.LN2);
    expect(Array.from(weights).map((w) => Number(w.toFixed(6)))).toEqual([0.4, 0.2, 0.4]);
    expect(distribution.get(4)).toBeCloseTo(0.8, 6);
    expect(distribution.get(5)).toBeCloseTo(0.2, 6);
    expect(distribution.get(0)).toBeUndefined();
  });

  it('lowers the perplexity of a text that repeats a rare word, and λ = 0 gives the model alone', async () => {
    const v = 12;
    const rng = new Random(6);
    // Trained on words 0–10 at random (11 never appears), then read a text where 11 follows every 10.
    const train = Int32Array.from({ length: 3000 }, () => rng.int(0, 10));
    const model = createLm({ ...tinyRecipe().model, vocabularySize: v }, new Random(2));
    await trainLm(model, { train, valid: train.subarray(0, 200) }, { recipe: tinyRecipe({ epochs: 2 }) });
    // Words 0–9 at random, and the rare word 11 after every 10: the cache recalls what followed 10 before.
    const ids = Int32Array.from({ length: 600 }, (_, i) => (i % 15 === 14 ? 10 : i % 15 === 0 && i > 0 ? 11 : rng.int(0, 9)));
    const run = runText(model, ids, { unroll: 37 });
    const alone = evaluateLm(model, ids).perplexity;
    const grid = cacheGrid(run, { sizes: [100], thetas: [0, 10, 50], lambdas: [0, 0.3] });
    expect(grid.find((p) => p.lambda === 0)?.perplexity).toBeCloseTo(alone, 3);
    // The rare word's own probability after its cue: the cache recalls what followed the cue before.
    const cue = ids.subarray(0, 15 * 20 + 15); // ends with the 21st cue (10)
    const rare = (list: { id: number; probability: number }[]) => list.find((w) => w.id === 11)?.probability ?? 0;
    const c = completeText(model, cue, { size: 100, theta: 10, lambda: 0.5, top: v });
    expect(rare(c.withCache)).toBeGreaterThan(3 * rare(c.model));
    expect(Math.min(...grid.map((p) => p.perplexity))).toBeLessThan(alone * 0.9);
  });

  it('shows which earlier positions it recalled, and the cache moves probability to their next words', () => {
    const model = createLm(tiny({ hiddenSize: 16, embeddingSize: 16, layers: 1, initScale: 1 }), new Random(8));
    const ids = Int32Array.from([1, 2, 3, 1, 2, 3, 1]);
    const c = completeText(model, ids, { size: 100, theta: 10, lambda: 0.9, top: 3 });
    expect(c.recalled).toHaveLength(3);
    expect(c.withCache[0]?.id).toBe(2); // 1 was followed by 2 twice
    expect(c.recalled.every((r) => r.position < ids.length - 1 && ids[r.position + 1] === r.next)).toBe(true);
    expect(() => completeText(model, new Int32Array(), { size: 10, theta: 1, lambda: 0.1 })).toThrow(EngramError);
  });
});

describe('files', () => {
  const vocabulary = new LmVocabulary(['a', 'b', 'c', '<unk>', '<eos>', 'd', 'e']);

  it('saves and loads a model that gives the same outputs', async () => {
    const model = createLm(tiny({ tied: true }), new Random(1));
    const path = join(scratch(), 'model.safetensors');
    await saveLm(path, model, vocabulary, { note: 'x' });
    const loaded = await loadLm(path);
    const ids = Int32Array.from([1, 2, 3]);
    const out = (m: LmModel) => lmForward(m, initialLmState(m, 1), ids, 1).logits.toArray();
    expect(out(loaded.model)).toEqual(out(model));
    expect(loaded.vocabulary.words).toEqual(vocabulary.words);
    expect(loaded.metadata.note).toBe('x');
    expect(vocabulary.encode(['a', 'zebra', 'e'])).toEqual({ ids: Int32Array.from([0, 3, 6]), unknown: 1 });
  });

  it('rejects malformed and hostile files with one message naming the problem, and never touches Object.prototype', () => {
    const model = createLm(tiny(), new Random(1));
    const good = lmToSafetensors(model, vocabulary);
    const meta = (m: Record<string, string>) => saveSafetensors({ 'params.embedding': model.params.embedding }, m);
    const cases: [Uint8Array, RegExp][] = [
      [meta({ format: 'engram-ntm/1' }), /not an Engram language model/],
      [meta({ format: 'engram-lm/1', config: '{' }), /'config' metadata is not valid JSON/],
      [meta({ format: 'engram-lm/1', config: JSON.stringify({ ...tiny(), hiddenSize: -1 }) }), /'hiddenSize' must be/],
      [meta({ format: 'engram-lm/1', config: JSON.stringify({ ...tiny(), vocabularySize: 1e12 }) }), /'vocabularySize' must be/],
      [meta({ format: 'engram-lm/1', config: JSON.stringify({ ...tiny(), __proto__x: 1 }) }), /unknown field/],
      [meta({ format: 'engram-lm/1', config: JSON.stringify(tiny()), vocabulary: '{"a":1}' }), /must be a list of words/],
      [meta({ format: 'engram-lm/1', config: JSON.stringify(tiny()), vocabulary: JSON.stringify(['a', 'a']) }), /appears twice/],
      [meta({ format: 'engram-lm/1', config: JSON.stringify(tiny()), vocabulary: JSON.stringify(vocabulary.words) }), /missing parameter/],
      [
        saveSafetensors(
          { 'params.__proto__.x': model.params.embedding },
          { format: 'engram-lm/1', config: JSON.stringify(tiny()), vocabulary: JSON.stringify(vocabulary.words) },
        ),
        /is not allowed/,
      ],
    ];
    for (const [bytes, message] of cases) expect(() => lmFromSafetensors(bytes, 'f')).toThrow(message);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: good.length }), (at, byte, cut) => {
        const flipped = good.slice(0, cut);
        if (at < flipped.length) flipped[at] = byte;
        try {
          lmFromSafetensors(flipped, 'f');
        } catch (error) {
          expect(error).toBeInstanceOf(EngramError);
        }
        expect(Object.keys(Object.prototype)).toEqual([]);
      }),
      { numRuns: 200, seed: 42 },
    );
  });

  it('checks every field of a config by name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('vocabularySize', 'embeddingSize', 'hiddenSize', 'layers', 'dropout', 'tied', 'initScale'),
        fc.constantFrom(-1, 0, 1.5, 'x', null, 1e99, Number.NaN),
        (field, value) => {
          const config = { ...tiny(), [field]: value } as Record<string, unknown>;
          let message = '';
          try {
            validateLmConfig(config);
          } catch (error) {
            message = (error as Error).message;
          }
          if (message !== '') expect(message).toMatch(new RegExp(`'(${field}|tied)'`));
        },
      ),
      { seed: 1 },
    );
  });

  it('rejects a checkpoint whose carried state or training state is wrong', async () => {
    const model = createLm(tiny(), new Random(1));
    const folder = scratch();
    const path = join(folder, 'c.safetensors');
    const { SGD, parameterList } = await import('@engram/tensor');
    const snapshot: LmTrainingSnapshot = {
      training: { step: 1, epoch: 0, window: 1, tokens: 8, seconds: 1, rngState: [1, 2, 3, 4], epochNats: 1, epochTokens: 2, history: [] },
      carried: initialLmState(model, 2),
      optimizer: new SGD(parameterList(model.params), 1),
    };
    await saveLmCheckpoint(path, model, vocabulary, snapshot);
    await expect(loadLmCheckpoint(path, 3)).rejects.toThrow(/'state.h.0' must be \[3, 4\]/);
    await expect(loadLmCheckpoint(path, 2)).resolves.toBeTruthy();
    await saveLmCheckpoint(path, model, vocabulary, { ...snapshot, training: { ...snapshot.training, rngState: [0, 0, 0, 0] } });
    await expect(loadLmCheckpoint(path, 2)).rejects.toThrow(/'training.rngState' must be four 32-bit integers/);
    await saveLm(path, model, vocabulary);
    await expect(loadLmCheckpoint(path, 2)).rejects.toThrow(/a model file rather than a checkpoint/);
    writeFileSync(path, 'not safetensors');
    await expect(loadLm(path)).rejects.toThrow(EngramError);
  });
});

describe('reading a text with the cache (the demo view)', () => {
  it('agrees with the grid and completeText, and shows what each position recalled', () => {
    const model = createLm(tiny({ hiddenSize: 16, embeddingSize: 16, layers: 1, initScale: 1 }), new Random(8));
    const ids = Int32Array.from([1, 2, 3, 1, 2, 3, 1, 2, 4, 5, 1]);
    const reading = readWithCache(model, ids, { size: 5, theta: 2, lambda: 0.4 });
    expect(reading.tokens).toBe(10);
    const [point] = cacheGrid(runText(model, ids), { sizes: [5], thetas: [2], lambdas: [0.4] });
    expect(reading.mixedPerplexity).toBeCloseTo(point?.perplexity ?? 0, 4);
    expect(reading.modelPerplexity).toBeCloseTo(evaluateLm(model, ids).perplexity, 4);
    const recall = reading.recall(7);
    expect(recall.map((r) => r.position)).toEqual([2, 3, 4, 5, 6]);
    expect(recall.reduce((a, r) => a + r.weight, 0)).toBeCloseTo(1, 5);
    expect(reading.recall(0)).toEqual([]);
    const last = reading.top(9, 3);
    const direct = completeText(model, ids.subarray(0, 10), { size: 5, theta: 2, lambda: 0.4, top: 3 });
    expect(last.model.map((w) => w.id)).toEqual(direct.model.map((w) => w.id));
    expect(last.withCache.map((w) => w.id)).toEqual(direct.withCache.map((w) => w.id));
    expect(() => reading.top(10, 3)).toThrow(EngramError);
  });

  it('saves a model in float16 at about half the bytes, with nearly the same outputs', () => {
    const model = createLm(tiny(), new Random(3));
    const vocabulary = new LmVocabulary(['a', 'b', 'c', '<unk>', '<eos>', 'd', 'e']);
    const full = lmToSafetensors(model, vocabulary);
    const half = lmToSafetensors(model, vocabulary, {}, { dtype: 'F16' });
    expect(half.length).toBeLessThan(full.length);
    const back = lmFromSafetensors(half).model;
    const ids = Int32Array.from([1, 2, 3]);
    const a = lmForward(model, initialLmState(model, 1), ids, 1).logits.toArray();
    const b = lmForward(back, initialLmState(back, 1), ids, 1).logits.toArray();
    expect(Math.max(...a.map((x, i) => Math.abs(x - (b[i] as number))))).toBeLessThan(1e-2);
  });
});
