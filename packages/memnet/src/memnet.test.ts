import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BabiExample, Vocabulary, loadBabiTask, parseBabi } from '@engram/datasets';
import { EngramError, NonFiniteError, Random, SGD, type Tensor, crossEntropy, parameterList, softmax } from '@engram/tensor';
import { gradientCheck } from '@engram/tensor/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type MemnetModel,
  PER_TASK_SCHEDULE,
  answerQuestions,
  createMemnet,
  defaultMemnetConfig,
  encodeBatch,
  epochPlan,
  evaluateMemnet,
  loadMemnet,
  loadMemnetCheckpoint,
  memnetConfigFor,
  memnetFromSafetensors,
  memnetForward,
  officialPositionWeight,
  positionWeight,
  saveMemnet,
  saveMemnetCheckpoint,
  sentenceAges,
  splitValidation,
  trainMemnet,
  trainStep,
} from './index.js';

const BABI_EN = fileURLToPath(new URL('../../../../shared/data/babi/en/', import.meta.url));
const folders: string[] = [];
const scratch = (): string => {
  const folder = mkdtempSync(join(tmpdir(), 'engram-memnet-'));
  folders.push(folder);
  return folder;
};
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const STORY = `1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary?\tbathroom\t1
4 Daniel went back to the hallway.
5 Mary travelled to the garden.
6 Where is Mary?\tgarden\t5
`;
const examples = parseBabi(STORY, 'story.txt');
const vocabulary = Vocabulary.fromExamples(examples);

describe('position and time encoding', () => {
  it("is the paper's l_kj = (1 − j/J) − (k/d)(1 − 2j/J)", () => {
    expect(positionWeight(1, 4, 1, 2)).toBeCloseTo(1 - 1 / 4 - (1 / 2) * (1 - 2 / 4));
    expect(positionWeight(4, 4, 2, 2)).toBeCloseTo(0 - 1 * (1 - 2));
    // With J = 1 and k = d the only word gets weight 1 in the last dimension... and 0 − (1/d)(−1) elsewhere.
    expect(positionWeight(1, 1, 3, 3)).toBeCloseTo(1);
  });

  it("the official code's formula: 1 + 4(k − (d+1)/2)(j − (J+1)/2)/(dJ), 1 in the middle", () => {
    expect(officialPositionWeight(1, 12, 1, 20)).toBeCloseTo(1 + (4 * (1 - 10.5) * (1 - 6.5)) / 240);
    expect(officialPositionWeight(3, 5, 7, 20)).toBeCloseTo(1);
    const config = defaultMemnetConfig(vocabulary.size, { embeddingSize: 4, sentenceLength: 8 });
    const batch = encodeBatch(examples, vocabulary, config);
    const row = batch.queryWeightRows[1] as number;
    expect(batch.weights[row * 4 + 2]).toBeCloseTo(officialPositionWeight(2, 8, 3, 4));
  });

  it('the weight table grows with the words of the batch, not with the square of the longest sentence', () => {
    // One 8,000-word sentence: a table for every length up to 8,000 would need 32 million rows.
    const long = Array.from({ length: 8000 }, (_, i) => (['mary', 'moved', 'to', 'the', 'bathroom'] as const)[i % 5] as string);
    const example: BabiExample = { ...(examples[0] as BabiExample), story: [long, ['john', 'went', 'to', 'the', 'hallway']] };
    for (const encoding of ['position', 'position-paper'] as const) {
      const config = defaultMemnetConfig(vocabulary.size, { embeddingSize: 4, sentenceLength: 8001, encoding });
      const batch = encodeBatch([example], vocabulary, config);
      expect(batch.weightRows).toBeLessThanOrEqual(2 + 8000 + 5 + 3);
      // Each word still gets its own l_kj: word j of the J-word sentence, dimension k.
      const d = 4;
      for (const [slot, j, J] of [
        [0, 1, 8000],
        [0, 8000, 8000],
        [1, 2, 5],
      ] as const) {
        const row = batch.memoryWeightRows[slot * batch.memoryWords + j - 1] as number;
        const expected = encoding === 'position' ? officialPositionWeight(j, 8001, 3, d) : positionWeight(j, J, 3, d);
        expect(batch.weights[row * d + 2]).toBeCloseTo(expected, 5);
      }
      const q = batch.queryWeightRows[2] as number;
      expect(batch.weights[q * d]).toBeCloseTo(encoding === 'position' ? officialPositionWeight(3, 8001, 1, d) : positionWeight(3, 3, 1, d), 5);
    }
  });

  it('ages run from the newest sentence (0), capped at the memory; noise spreads them, seeded', () => {
    expect(Array.from(sentenceAges(4, 50, 0))).toEqual([3, 2, 1, 0]);
    expect(Array.from(sentenceAges(4, 3, 0))).toEqual([2, 2, 1, 0]);
    const noisy = sentenceAges(30, 50, 0.1, new Random(3));
    expect(Array.from(noisy)).toEqual(Array.from(sentenceAges(30, 50, 0.1, new Random(3))));
    for (let i = 1; i < 30; i++) expect(noisy[i] as number).toBeLessThan(noisy[i - 1] as number);
    expect(noisy[0] as number).toBeLessThanOrEqual(29 + 3);
  });

  it('noisy ages are the official randomize_time: the sorted first count places of a permutation of count + blank', () => {
    // The reference written the plain way (a fresh permutation, sorted); the encoder's in-place version must draw the
    // same numbers from the generator and give the same ages, and leave the generator in the same state.
    const reference = (count: number, memorySize: number, rng: Random): number[] => {
      const blank = rng.int(0, Math.ceil(count * 0.1));
      const places = Array.from(rng.permutation(count + blank).subarray(0, count)).sort((a, b) => a - b);
      return Array.from({ length: count }, (_, i) => Math.min(places[count - 1 - i] as number, memorySize - 1));
    };
    for (const [count, memorySize, seed] of [
      [1, 50, 1],
      [7, 50, 2],
      [30, 50, 3],
      [50, 50, 4],
      [80, 20, 5],
      [200, 300, 6],
    ] as const) {
      const a = new Random(seed);
      const b = new Random(seed);
      expect(Array.from(sentenceAges(count, memorySize, 0.1, a))).toEqual(reference(count, memorySize, b));
      expect(a.next()).toBe(b.next());
    }
  });

  it('encodes the last memorySize sentences, a time token per slot, masks and answers', () => {
    const config = defaultMemnetConfig(vocabulary.size, { embeddingSize: 4, memorySize: 3, emptySlots: 'mask' });
    const batch = encodeBatch(examples, vocabulary, config);
    expect([batch.size, batch.slots, batch.memoryWords, batch.queryWords]).toEqual([2, 3, 7, 3]);
    expect(Array.from(batch.mask)).toEqual([1, 1, 0, 1, 1, 1]);
    // The official code's memory: always memorySize slots, empty ones in the softmax with score 0.
    const full = encodeBatch(examples.slice(0, 1), vocabulary, { ...config, memorySize: 5, emptySlots: 'attend' });
    expect(full.slots).toBe(5);
    expect(Array.from(full.mask)).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(full.memoryTokens.subarray(2 * 7, 5 * 7)).every((t) => t === 0)).toBe(true);
    expect(Array.from(batch.firstSentence)).toEqual([0, 1]);
    // Example 2 keeps sentences 2..4; the newest has age 0, its time token is V + 0.
    const lastSlot = (1 * 3 + 2) * 7;
    expect(batch.memoryTokens[lastSlot + 6]).toBe(vocabulary.size);
    expect(batch.memoryTokens[lastSlot]).toBe(vocabulary.indexOf('mary'));
    expect(Array.from(batch.answers)).toEqual([vocabulary.indexOf('bathroom'), vocabulary.indexOf('garden')]);
    expect(() => encodeBatch([{ ...(examples[0] as BabiExample), question: ['where', 'is', 'bob'] }], vocabulary, config)).toThrow(
      /unknown word 'bob' in example 0, question/,
    );
    // Only the sentences a batch keeps must be known: one older than the memory may hold any word.
    const second = examples[1] as BabiExample;
    const oldUnknown = { ...second, story: [['bob', 'left'], ...second.story.slice(1)] };
    expect(Array.from(encodeBatch([oldUnknown], vocabulary, config).memoryTokens)).toEqual(Array.from(encodeBatch([second], vocabulary, config).memoryTokens));
    const keptUnknown = { ...second, story: [...second.story.slice(0, 3), ['bob', 'left']] };
    expect(() => encodeBatch([examples[0] as BabiExample, keptUnknown], vocabulary, config)).toThrow(/unknown word 'bob' in example 1, sentence 4/);
    expect(() => encodeBatch([{ ...second, answer: ['bob'] }], vocabulary, config)).toThrow(/unknown word 'bob' in example 0, answer/);
  });
});

describe('the model', () => {
  const rng = new Random(5);
  const config = defaultMemnetConfig(vocabulary.size, { embeddingSize: 6, hops: 2, emptySlots: 'mask' });
  const batch = encodeBatch(examples, vocabulary, config);

  for (const tying of ['adjacent', 'layerwise'] as const) {
    it(`${tying} tying: gradients match finite differences`, () => {
      const model = createMemnet({ ...config, tying, encoding: tying === 'adjacent' ? 'position' : 'bag-of-words' }, rng);
      const params = parameterList(model.params);
      const report = gradientCheck(
        (...tables: Tensor[]) => {
          const swapped: MemnetModel = { ...model, params: { ...model.params } };
          if (tying === 'adjacent') swapped.params.embeddings = tables;
          else {
            swapped.params.embeddings = tables.slice(0, 3);
            swapped.params.answer = tables[3];
            swapped.params.hop = tables[4];
          }
          return softmax(memnetForward(swapped, batch).logits, -1);
        },
        params,
        { step: 1e-2 },
      );
      expect(report.maxError).toBeLessThan(2e-2);
    });
  }

  for (const tying of ['adjacent', 'layerwise'] as const)
    for (const linear of [false, true])
      it(`${tying} tying${linear ? ', linear start' : ''}: the fused hops give the composed hops’ logits, attention and gradients`, () => {
        const model = createMemnet({ ...config, tying, hops: 3, encoding: 'position' }, new Random(9));
        const params = parameterList(model.params);
        const run = (fused: boolean) => {
          for (const p of params) p.grad = null;
          const out = memnetForward(model, batch, { fused, linear });
          crossEntropy(out.logits, batch.answers, 'sum').backward();
          return [out.logits, ...out.attention].map((x) => x.toArray()).concat(params.map((p) => (p.grad as Tensor).toArray()));
        };
        const fused = run(true);
        const composed = run(false);
        fused.forEach((array, j) => {
          for (const [i, v] of array.entries()) expect(Math.abs(v - (composed[j]?.[i] as number)), `${j}[${i}]`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(v)));
        });
      });

  it('attention is a distribution over real sentences (softmax) and unnormalised in linear start', () => {
    const model = createMemnet(config, new Random(1));
    const { attention } = memnetForward(model, batch);
    const [p0 = Number.NaN, p1 = Number.NaN, p2] = (attention[0] as Tensor).toArray();
    expect(p0 + p1).toBeCloseTo(1, 5);
    expect(p2).toBe(0);
    const [l0 = Number.NaN, l1 = Number.NaN, l2] = (memnetForward(model, batch, { linear: true }).attention[0] as Tensor).toArray();
    expect(l2).toBe(0);
    expect(Math.abs(l0 + l1 - 1)).toBeGreaterThan(1e-4);
  });

  it('stops on a non-finite loss with the step number, before updating', () => {
    const model = createMemnet(config, new Random(1));
    const first = model.params.embeddings[0] as Tensor;
    first.assign(first.toArray().fill(Number.NaN));
    const optimizer = new SGD(parameterList(model.params), 0.01);
    expect(() => trainStep(model, optimizer, batch, { linear: false, maxGradNorm: 40, step: 17 })).toThrow(NonFiniteError);
    expect(() => trainStep(model, optimizer, batch, { linear: false, maxGradNorm: 40, step: 17 })).toThrow(/training step 17/);
  });

  it('schedules linear start, then halves η every decayEvery epochs', () => {
    expect(epochPlan(PER_TASK_SCHEDULE, 0)).toEqual({ phase: 'linear', learningRate: 0.005 });
    expect(epochPlan(PER_TASK_SCHEDULE, 20)).toEqual({ phase: 'main', learningRate: 0.005 });
    expect(epochPlan(PER_TASK_SCHEDULE, 70).learningRate).toBeCloseTo(0.005 / 4);
    expect(epochPlan({ ...PER_TASK_SCHEDULE, linearStartEpochs: 0 }, 0)).toEqual({ phase: 'main', learningRate: 0.01 });
  });
});

describe('training on bAbI task 1', () => {
  it("learns task 1 (1k) with the paper's per-task recipe, seeded, and points at the supporting fact", async () => {
    const train = await loadBabiTask(BABI_EN, 1, 'train');
    const test = (await loadBabiTask(BABI_EN, 1, 'test')).slice(0, 200);
    const words = Vocabulary.fromExamples([...train, ...test]);
    const model = createMemnet(memnetConfigFor(words, train, test), new Random(1));
    const before = evaluateMemnet(model, test, words).error;
    const { history } = await trainMemnet(model, train, words, { seed: 1 });
    const after = evaluateMemnet(model, test, words);
    expect(before).toBeGreaterThan(0.6);
    expect(after.error).toBeLessThan(0.05);
    expect(history).toHaveLength(120);
    // The last hop should put most weight on the supporting fact, as in the paper's Figure 1.
    const replies = answerQuestions(model, words, test.slice(0, 50));
    const onSupport = replies.filter((r, i) => {
      const hop = r.attention[r.attention.length - 1] as number[];
      return hop.indexOf(Math.max(...hop)) === test[i]?.supportingFacts[0];
    }).length;
    expect(onSupport / 50).toBeGreaterThan(0.6);
  }, 120_000);

  it('is deterministic for a seed and resumes exactly from a checkpoint', async () => {
    const train = (await loadBabiTask(BABI_EN, 1, 'train')).slice(0, 96);
    const words = Vocabulary.fromExamples(train);
    const schedule = { ...PER_TASK_SCHEDULE, linearStartEpochs: 1, epochs: 3, decayEvery: 2 };
    const straight = createMemnet(defaultMemnetConfig(words.size), new Random(2));
    await trainMemnet(straight, train, words, { schedule, seed: 9 });

    const folder = scratch();
    const path = join(folder, 'checkpoint.safetensors');
    const first = createMemnet(defaultMemnetConfig(words.size), new Random(2));
    const optimizer = new SGD(parameterList(first.params), schedule.learningRate);
    await trainMemnet(first, train, words, {
      schedule,
      seed: 9,
      optimizer,
      onEpoch: async (report, state) => {
        await saveMemnetCheckpoint(path, first, words, optimizer, state);
        return report.epoch === 1 ? 'stop' : undefined;
      },
    });
    const checkpoint = await loadMemnetCheckpoint(path);
    expect(checkpoint.training.epoch).toBe(2);
    const resumedOptimizer = new SGD(parameterList(checkpoint.model.params), schedule.learningRate);
    resumedOptimizer.loadState(checkpoint.optimizerState);
    await trainMemnet(checkpoint.model, train, checkpoint.vocabulary, { schedule, optimizer: resumedOptimizer, resume: checkpoint.training });
    const a = parameterList(straight.params).map((t) => Array.from(t.toArray()));
    const b = parameterList(checkpoint.model.params).map((t) => Array.from(t.toArray()));
    expect(b).toEqual(a);
  });
});

describe('save, load and ask', () => {
  it('round-trips the model and its vocabulary, and answers the same', async () => {
    const model = createMemnet(defaultMemnetConfig(vocabulary.size, { embeddingSize: 8 }), new Random(4));
    const path = join(scratch(), 'model.safetensors');
    await saveMemnet(path, model, vocabulary, { note: 'test' });
    const loaded = await loadMemnet(path);
    expect(loaded.metadata.note).toBe('test');
    expect(loaded.vocabulary.words).toEqual(vocabulary.words);
    const [a] = answerQuestions(model, vocabulary, examples);
    const [b] = answerQuestions(loaded.model, loaded.vocabulary, examples);
    expect(b?.answer).toBe(a?.answer);
    expect(Array.from(b?.distribution ?? [])).toEqual(Array.from(a?.distribution ?? []));
    expect(a?.attention).toHaveLength(3);
    expect(a?.attention[0]).toHaveLength(2);
    // The same file from its bytes (what a browser fetches).
    const fromBytes = memnetFromSafetensors(new Uint8Array(readFileSync(path)), 'models/babi.safetensors');
    const [c] = answerQuestions(fromBytes.model, fromBytes.vocabulary, examples);
    expect(Array.from(c?.distribution ?? [])).toEqual(Array.from(a?.distribution ?? []));
    expect(() => memnetFromSafetensors(new Uint8Array(8), 'models/empty.safetensors')).toThrow(/models\/empty\.safetensors/);
  });

  it('names unknown words instead of dropping them, and rejects files that are not MemN2N models', async () => {
    const model = createMemnet(defaultMemnetConfig(vocabulary.size), new Random(4));
    expect(() => answerQuestions(model, vocabulary, [{ story: [['bob', 'went', 'to', 'the', 'moon']], question: ['where', 'is', 'bob'] }])).toThrow(
      /words the model does not know: 'bob', 'moon'/,
    );
    const { saveSafetensorsFile, tensor } = await import('@engram/tensor');
    const path = join(scratch(), 'other.safetensors');
    await saveSafetensorsFile(path, { x: tensor([1]) }, { format: 'something-else' });
    await expect(loadMemnet(path)).rejects.toThrow(EngramError);
    await expect(loadMemnet(path)).rejects.toThrow(/not an Engram MemN2N file/);
  });

  it('holds out a seeded validation split', () => {
    const many = Array.from({ length: 50 }, () => examples[0] as BabiExample).map((e, i) => ({ ...e, supportingFacts: [i] }));
    const a = splitValidation(many, 0.1, new Random(1));
    const b = splitValidation(many, 0.1, new Random(1));
    expect(a.validation).toHaveLength(5);
    expect(a.train).toHaveLength(45);
    expect(a.validation.map((e) => e.supportingFacts[0])).toEqual(b.validation.map((e) => e.supportingFacts[0]));
  });
});

describe('model files trust no config', () => {
  it('refuse sizes that would allocate without bound, and a null config, naming the field', async () => {
    const { saveSafetensors, tensor } = await import('@engram/tensor');
    const config = defaultMemnetConfig(10, { embeddingSize: 4 });
    const words = JSON.stringify(Array.from({ length: 9 }, (_, i) => `w${i}`));
    const file = (c: unknown) => saveSafetensors({ 'params.x': tensor([1]) }, { format: 'engram-memnet/1', config: JSON.stringify(c), vocabulary: words });
    const cases: [unknown, RegExp][] = [
      [{ ...config, vocabularySize: 1e12 }, /vocabularySize must be an integer in 1\.\.1000000/],
      [{ ...config, hops: 2 ** 31 }, /hops must be an integer in 1\.\.64/],
      [{ ...config, vocabularySize: 1_000_000, embeddingSize: 4096 }, /vocabularySize × embeddingSize must be at most/],
      [null, /must be an object/],
    ];
    for (const [c, message] of cases) expect(() => memnetFromSafetensors(file(c), 'f')).toThrow(message);
  });
});
