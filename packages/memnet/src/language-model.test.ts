import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmVocabulary } from '@engram/lm';
import { Random, SGD, type Tensor, crossEntropy, getDefaultBackend, parameterList } from '@engram/tensor';
import { gradientCheck } from '@engram/tensor/testing';
import { PARALLEL_SUM_MIN_FLOATS } from '@engram/tensor/workers';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemnetLmWorkers } from './workers.js';
import {
  MEMNET_LM_RECIPE,
  type MemnetConfig,
  type MemnetLmSnapshot,
  type MemnetModel,
  type TrainMemnetLmOptions,
  createMemnet,
  createMemnetLmStep,
  encodeTextPositions,
  evaluateMemnetLm,
  inspectMemnetLm,
  loadMemnetLm,
  loadMemnetLmCheckpoint,
  memnetForward,
  memnetLmConfig,
  memnetLmFromSafetensors,
  memnetLmLoss,
  memnetLmLossAndGradients,
  memnetLmToSafetensors,
  readMemnetLm,
  saveMemnetLm,
  saveMemnetLmCheckpoint,
  trainMemnetLm,
} from './index.js';

const folders: string[] = [];
const scratch = (): string => {
  const folder = mkdtempSync(join(tmpdir(), 'engram-memnet-lm-'));
  folders.push(folder);
  return folder;
};
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const vocabulary = new LmVocabulary(['<unk>', '<eos>', 'the', 'cat', 'sat', 'on', 'mat', 'dog', 'ran']);
/** A text whose next word depends on a word 3 back: "the cat sat on the mat <eos>", "the dog ran on the mat <eos>"… */
function corpus(length: number, seed: number): Int32Array {
  const rng = new Random(seed);
  const out: number[] = [];
  while (out.length < length) {
    const animal = rng.int(0, 1) === 0 ? 'cat' : 'dog';
    const verb = animal === 'cat' ? 'sat' : 'ran';
    for (const w of ['the', animal, verb, 'on', 'the', 'mat', '<eos>']) out.push(vocabulary.id(w) as number);
  }
  return Int32Array.from(out.slice(0, length));
}
const tinyConfig = () => memnetLmConfig(vocabulary.size, { hops: 2, memorySize: 6, embeddingSize: 8 });
/** Wide enough (H alone: 192² floats) for the threads to share the gradient sum and the SGD step (PARALLEL_SUM_MIN_FLOATS). */
const wideConfig = () => memnetLmConfig(vocabulary.size, { hops: 2, memorySize: 6, embeddingSize: 192 });

describe('MemN2N language model (§5)', () => {
  it('encodes each position as the N previous words, oldest first, with their ages; fewer at the start, then empty memories', () => {
    const config = memnetLmConfig(10, { hops: 1, memorySize: 3, embeddingSize: 4 });
    const ids = Int32Array.from([5, 6, 7, 8, 9]);
    const batch = encodeTextPositions(ids, Int32Array.of(4, 1), config);
    expect([batch.size, batch.slots, batch.memoryWords]).toEqual([2, 3, 2]);
    // Position 4 predicts 9 from 6, 7, 8 (ages 2, 1, 0: time rows V + age).
    expect(Array.from(batch.memoryTokens.subarray(0, 6))).toEqual([6, 12, 7, 11, 8, 10]);
    // Position 1 predicts 6 from 5 alone; the other two slots are empty memories of ages 1 and 2: the time row and no
    // word (weight row 0, zeros), attended like the rest.
    expect(Array.from(batch.memoryTokens.subarray(6, 8))).toEqual([5, 10]);
    expect([batch.memoryTokens[9], batch.memoryTokens[11]]).toEqual([11, 12]);
    expect(Array.from(batch.memoryWeightRows.subarray(6, 12))).toEqual([1, 1, 0, 1, 0, 1]);
    expect(Array.from(batch.weights.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(batch.mask)).toEqual([1, 1, 1, 1, 1, 1]);
    expect([Array.from(batch.firstSentence), Array.from(batch.sentences)]).toEqual([
      [1, 0],
      [3, 1],
    ]);
    expect(Array.from(batch.answers)).toEqual([9, 6]);
    expect(() => encodeTextPositions(ids, Int32Array.of(0), config)).toThrow(/position 0 is outside 1..4/);
  });

  it('the config is the paper’s: constant query 0.1, layer-wise tying, ReLU on half the units, N(0, 0.05²), no question embedding', () => {
    const config = memnetLmConfig(100);
    expect(config).toMatchObject({
      hops: 7,
      memorySize: 200,
      embeddingSize: 150,
      query: 0.1,
      linearUnits: 75,
      tying: 'layerwise',
      temporal: true,
      initScale: 0.05,
    });
    const model = createMemnet(tinyConfig(), new Random(1));
    // A and C (words + time rows), W and H: no B.
    expect(model.params.embeddings.map((t) => t.shape)).toEqual([
      [vocabulary.size + 6, 8],
      [vocabulary.size + 6, 8],
    ]);
    expect(
      () => memnetLmConfig(10, { embeddingSize: 4, hops: 1, memorySize: 2 }) && createMemnet({ ...memnetLmConfig(10), tying: 'adjacent' }, new Random(1)),
    ).toThrow(/query .* needs tying 'layerwise'/);
  });

  for (const fused of [true, false]) {
    it(`gradients match finite differences (2 hops, layer-wise tying, ReLU on half; ${fused ? 'fused hops' : 'composed hops'})`, () => {
      const model = createMemnet(tinyConfig(), new Random(2));
      const ids = corpus(40, 3);
      const batch = encodeTextPositions(ids, Int32Array.of(3, 9, 17, 30), model.config);
      const report = gradientCheck(
        (a: Tensor, c: Tensor, w: Tensor, h: Tensor) => {
          const swapped: MemnetModel = { ...model, params: { embeddings: [a, c], answer: w, hop: h } };
          return crossEntropy(memnetForward(swapped, batch, { fused }).logits, batch.answers, 'sum');
        },
        [...model.params.embeddings, model.params.answer as Tensor, model.params.hop as Tensor],
        { step: 1e-2 },
      );
      expect(report.maxError).toBeLessThan(2e-2);
    });
  }

  it('the fused hops give the composed hops’ logits and attention (paper-sized width, 7 hops)', () => {
    const config = memnetLmConfig(vocabulary.size, { hops: 7, memorySize: 20, embeddingSize: 150 });
    const model = createMemnet(config, new Random(4));
    const batch = encodeTextPositions(corpus(200, 5), Int32Array.of(2, 25, 60, 199), config);
    const fused = memnetForward(model, batch);
    const composed = memnetForward(model, batch, { fused: false });
    for (const [a, b] of [[fused.logits, composed.logits], ...fused.attention.map((p, k) => [p, composed.attention[k] as Tensor])] as [Tensor, Tensor][]) {
      const expected = b.toArray();
      for (const [i, v] of a.toArray().entries()) expect(Math.abs(v - (expected[i] as number))).toBeLessThan(1e-4 * (1 + Math.abs(expected[i] as number)));
    }
  });

  it('learns a tiny seeded corpus whose next word depends on a word three back', async () => {
    const model = createMemnet(tinyConfig(), new Random(4));
    const train = corpus(2000, 5);
    const valid = corpus(300, 6);
    const before = evaluateMemnetLm(model, valid).perplexity;
    const outcome = await trainMemnetLm(
      model,
      { train, valid },
      { seed: 1, recipe: { batch: 32, learningRate: 0.05, decay: 1.5, minLearningRate: 1e-4, maxGradNorm: 50, maxEpochs: 8 } },
    );
    expect(outcome.kind).toBe('finished');
    const after = evaluateMemnetLm(model, valid).perplexity;
    // Only "cat|dog" is uncertain (1 bit in 7 words): a perfect model scores 2^(1/7) ≈ 1.1 (plus the first word).
    expect(before).toBeGreaterThan(7);
    expect(after).toBeLessThan(1.6);
    // The verb after "cat" is "sat": the model attends back to the animal to know it.
    const text = Int32Array.from('the dog ran on the mat <eos> the cat'.split(' ').map((w) => vocabulary.id(w) as number));
    expect(vocabulary.word(inspectMemnetLm(model, text, 1).top[0]?.id as number)).toBe('sat');
  });

  it('inspection: each hop’s attention over the previous words sums to 1, positions oldest first', () => {
    const model = createMemnet(tinyConfig(), new Random(1));
    const ids = corpus(20, 1);
    const seen = inspectMemnetLm(model, ids, 3);
    expect(seen.position).toBe(20);
    expect(seen.top).toHaveLength(3);
    expect(seen.hops).toHaveLength(2);
    for (const hop of seen.hops) {
      expect(hop.positions).toEqual([14, 15, 16, 17, 18, 19]);
      expect(hop.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(hop.empty).toBe(0);
    }
    // Two words before the position: the rest of the attention is on the four empty memories.
    for (const hop of inspectMemnetLm(model, ids.subarray(0, 2), 3).hops) {
      expect(hop.positions).toEqual([0, 1]);
      expect(hop.empty).toBeGreaterThan(0);
      expect(hop.weights.reduce((a, b) => a + b, 0) + hop.empty).toBeCloseTo(1, 5);
    }
  });

  it('reading a text: each word’s probability, the evaluation’s perplexity, any position inspected', () => {
    const model = createMemnet(tinyConfig(), new Random(3));
    const ids = corpus(40, 4);
    const reading = readMemnetLm(model, ids);
    expect(reading.tokens).toBe(39);
    expect(reading.perplexity).toBeCloseTo(evaluateMemnetLm(model, ids).perplexity, 4);
    // The reference code's test: only the words with all N = 6 words before them (positions 6 … 39).
    const evaluation = evaluateMemnetLm(model, ids, { batch: 5 });
    const fullNats = reading.probability.subarray(5).reduce((a, p) => a - Math.log(p), 0);
    expect(evaluation.fullMemory.tokens).toBe(34);
    expect(evaluation.fullMemory.nats).toBeCloseTo(fullNats, 3);
    expect(evaluation.fullMemory.perplexity).toBeCloseTo(Math.exp(fullNats / 34), 4);
    expect(evaluation.nats).toBeCloseTo(
      reading.probability.reduce((a, p) => a - Math.log(p), 0),
      3,
    );
    expect(evaluateMemnetLm(model, ids.subarray(0, 6)).fullMemory).toEqual({ perplexity: Number.NaN, nats: 0, tokens: 0 });
    // Batches of 7 positions give the same numbers.
    const batched = readMemnetLm(model, ids, { batch: 7 });
    for (let t = 0; t < 39; t++) expect(batched.probability[t]).toBeCloseTo(reading.probability[t] as number, 6);
    // Position t's probability is that of the single-position loss for word t + 1.
    for (const t of [0, 5, 38]) {
      const nats = memnetLmLoss(model, ids, Int32Array.of(t + 1)).item();
      expect(reading.probability[t]).toBeCloseTo(Math.exp(-nats), 5);
    }
    const seen = reading.inspect(20, 4);
    expect(seen).toEqual(inspectMemnetLm(model, ids.subarray(0, 21), 4));
    expect(seen.hops[0]?.positions).toEqual([15, 16, 17, 18, 19, 20]);
    expect(() => reading.inspect(39)).toThrow(/position 39 is not in 0 … 38/);
    expect(() => readMemnetLm(model, ids.subarray(0, 1))).toThrow(/at least two words/);
    expect(() => readMemnetLm(model, ids, { batch: 0 })).toThrow(/batch must be a positive integer/);
  });

  it('save → load gives the same outputs; a file of another kind is refused', async () => {
    const model = createMemnet(tinyConfig(), new Random(7));
    const ids = corpus(50, 8);
    const path = join(scratch(), 'model.safetensors');
    await saveMemnetLm(path, model, vocabulary, { note: 'x' });
    const loaded = await loadMemnetLm(path);
    expect(loaded.vocabulary.words).toEqual(vocabulary.words);
    expect(evaluateMemnetLm(loaded.model, ids).perplexity).toBe(evaluateMemnetLm(model, ids).perplexity);
    expect(memnetLmFromSafetensors(memnetLmToSafetensors(model, vocabulary)).model.config).toEqual(model.config);
    expect(() => memnetLmFromSafetensors(readFileSync(path).subarray(0, 40), 'f')).toThrow(/f:/);
  });

  it('trains on worker threads to the same weights as one thread (up to the order of sums)', async () => {
    const ids = corpus(600, 21);
    const data = { train: ids, valid: corpus(80, 22) };
    const recipe = { ...MEMNET_LM_RECIPE, batch: 12, maxEpochs: 1 };
    const train = async (threads: number, config: MemnetConfig) => {
      const model = createMemnet(config, new Random(7));
      const workers = threads > 1 ? await createMemnetLmWorkers(model, ids, threads) : undefined;
      const losses: number[] = [];
      try {
        await trainMemnetLm(model, data, { recipe, seed: 3, ...(workers ? { gradients: workers } : {}), onStep: (r) => void losses.push(r.loss) });
      } finally {
        await workers?.close();
      }
      return { weights: parameterList(model.params).flatMap((p) => Array.from(p.toArray())), losses };
    };
    expect(parameterList(createMemnet(wideConfig(), new Random(1)).params).reduce((n, p) => n + p.size, 0)).toBeGreaterThanOrEqual(PARALLEL_SUM_MIN_FLOATS);
    for (const config of [tinyConfig(), wideConfig()]) {
      const one = await train(1, config);
      for (const threads of [2, 3]) {
        const many = await train(threads, config);
        expect(many.losses.length).toBe(one.losses.length);
        for (const [i, loss] of many.losses.entries()) expect(loss).toBeCloseTo(one.losses[i] as number, 4);
        const drift = Math.max(...many.weights.map((w, i) => Math.abs(w - (one.weights[i] as number))));
        expect(drift).toBeLessThan(1e-4);
      }
    }
    await expect(createMemnetLmWorkers(createMemnet(tinyConfig(), new Random(1)), ids, 0)).rejects.toThrow(/threads must be an integer/);
  });

  it("one training step as the whole-step kernel gives the composed ops' bits (losses, norms, clipping, weights)", () => {
    const hasKernel = getDefaultBackend().models?.memnetLmStep !== undefined;
    const ids = corpus(600, 21);
    for (const [config, maxGradNorm] of [
      [tinyConfig(), 50],
      [memnetLmConfig(vocabulary.size, { hops: 3, memorySize: 30, embeddingSize: 20 }), 0.1],
      // Rows of 18 floats: the rows the batch reads start off the groups of four the norm's sums follow.
      [memnetLmConfig(vocabulary.size, { hops: 2, memorySize: 12, embeddingSize: 18 }), 50],
    ] as const) {
      const run = (fused: boolean) => {
        const model = createMemnet(config, new Random(4));
        const step = createMemnetLmStep(model, new SGD(parameterList(model.params), 0.3), { maxGradNorm, fused });
        const rng = new Random(8);
        const outcomes = Array.from({ length: 6 }, () =>
          step(
            ids,
            Int32Array.from({ length: 12 }, () => rng.int(config.memorySize, ids.length - 1)),
          ),
        );
        return { fused: step.fused, outcomes, weights: parameterList(model.params).map((t) => Array.from(t.dataSync())) };
      };
      const whole = run(true);
      const composed = run(false);
      expect(whole.fused).toBe(hasKernel);
      expect(composed.fused).toBe(false);
      expect(whole.outcomes).toEqual(composed.outcomes);
      // The clipped configuration really clips (every norm is above 0.1), and training moves the loss.
      if (maxGradNorm < 1) expect(Math.min(...whole.outcomes.map((o) => o.gradientNorm))).toBeGreaterThan(maxGradNorm);
      expect(whole.outcomes[5]?.nats).not.toBe(whole.outcomes[0]?.nats);
      expect(whole.weights).toEqual(composed.weights);
    }
  });

  it("a shard's loss and gradients from the whole-step kernel are the composed backward's bits", () => {
    const ids = corpus(600, 24);
    const config = memnetLmConfig(vocabulary.size, { hops: 3, memorySize: 30, embeddingSize: 20 });
    const positions = Int32Array.of(30, 77, 150, 301, 599);
    const viaKernel = createMemnet(config, new Random(6));
    const nats = memnetLmLossAndGradients(viaKernel, ids, positions);
    const composed = createMemnet(config, new Random(6));
    const loss = memnetLmLoss(composed, ids, positions);
    loss.backward();
    expect(nats).toBe(loss.item());
    const grads = (m: MemnetModel) => parameterList(m.params).map((t) => Array.from(t.grad?.dataSync() ?? []));
    expect(grads(viaKernel)).toEqual(grads(composed));
    expect(grads(viaKernel).every((g) => g.length > 0 && g.some((x) => x !== 0))).toBe(true);
  });

  it('after a whole-step update, every op reads the new weights (no stale copy in WebAssembly memory)', () => {
    // Wide enough (tables of 39 × 192 floats, H 192²) for the kernels to keep copies of the weights between calls.
    const config = memnetLmConfig(vocabulary.size, { hops: 2, memorySize: 30, embeddingSize: 192 });
    const ids = corpus(300, 23);
    const model = createMemnet(config, new Random(4));
    const step = createMemnetLmStep(model, new SGD(parameterList(model.params), 0.3));
    const score = (m: MemnetModel) => evaluateMemnetLm(m, ids, { batch: 32 }).nats;
    for (let i = 0; i < 3; i++) {
      score(model);
      score(model);
      step(ids, Int32Array.of(40, 80, 120, 160));
      const copy = createMemnet(config, new Random(5));
      const trained = parameterList(model.params);
      for (const [j, t] of parameterList(copy.params).entries()) t.dataSync().set((trained[j] as Tensor).dataSync());
      expect(score(model)).toBe(score(copy));
    }
  });

  it('a step with a non-finite loss updates nothing, on either path', () => {
    const ids = corpus(200, 22);
    for (const fused of [true, false]) {
      const model = createMemnet(tinyConfig(), new Random(4));
      (model.params.answer as Tensor).dataSync()[3] = Number.NaN;
      const before = parameterList(model.params).map((t) => Array.from(t.dataSync()));
      const outcome = createMemnetLmStep(model, new SGD(parameterList(model.params), 0.3), { fused })(ids, Int32Array.of(10, 20, 30));
      expect(outcome.nats).toBeNaN();
      expect(outcome.gradientNorm).toBeNaN();
      expect(parameterList(model.params).map((t) => Array.from(t.dataSync()))).toEqual(before);
    }
  });

  it('resume equals an uninterrupted run, bit for bit', async () => {
    const recipe = { batch: 16, learningRate: 0.3, decay: 1.5, minLearningRate: 1e-3, maxGradNorm: 50, maxEpochs: 2 };
    const train = corpus(400, 9);
    const valid = corpus(80, 10);
    const whole = createMemnet(tinyConfig(), new Random(11));
    await trainMemnetLm(whole, { train, valid }, { seed: 3, recipe });

    const folder = scratch();
    const path = join(folder, 'checkpoint.safetensors');
    const first = createMemnet(tinyConfig(), new Random(11));
    let steps = 0;
    const stopped = await trainMemnetLm(
      first,
      { train, valid },
      {
        seed: 3,
        recipe,
        checkpointEvery: 1000,
        shouldStop: () => steps >= 30,
        onStep: () => void steps++,
        onCheckpoint: (s: MemnetLmSnapshot) => saveMemnetLmCheckpoint(path, first, vocabulary, s),
      },
    );
    expect(stopped).toEqual({ kind: 'interrupted', step: 30 });
    const { model: resumed, snapshot } = await loadMemnetLmCheckpoint(path);
    await trainMemnetLm(resumed, { train, valid }, { recipe, resume: snapshot });
    const values = (m: MemnetModel) => parameterList(m.params).map((t) => Array.from(t.dataSync()));
    expect(values(resumed)).toEqual(values(whole));
  });

  it('resume on two threads equals an uninterrupted two-thread run, bit for bit (the threads sharing the SGD step)', async () => {
    const recipe = { batch: 16, learningRate: 0.3, decay: 1.5, minLearningRate: 0.2, maxGradNorm: 50, maxEpochs: 2 };
    const train = corpus(300, 9);
    const valid = corpus(60, 10);
    const run = async (model: MemnetModel, options: TrainMemnetLmOptions) => {
      const workers = await createMemnetLmWorkers(model, train, 2);
      try {
        return await trainMemnetLm(model, { train, valid }, { ...options, recipe, gradients: workers });
      } finally {
        await workers.close();
      }
    };
    const whole = createMemnet(wideConfig(), new Random(11));
    await run(whole, { seed: 3 });
    const path = join(scratch(), 'checkpoint.safetensors');
    const first = createMemnet(wideConfig(), new Random(11));
    let steps = 0;
    const stopped = await run(first, {
      seed: 3,
      checkpointEvery: 1000,
      shouldStop: () => steps >= 20,
      onStep: () => void steps++,
      onCheckpoint: (s: MemnetLmSnapshot) => saveMemnetLmCheckpoint(path, first, vocabulary, s),
    });
    expect(stopped).toEqual({ kind: 'interrupted', step: 20 });
    const { model: resumed, snapshot } = await loadMemnetLmCheckpoint(path);
    await run(resumed, { resume: snapshot });
    const values = (m: MemnetModel) => parameterList(m.params).map((t) => Array.from(t.dataSync()));
    expect(values(resumed)).toEqual(values(whole));
  });
});
