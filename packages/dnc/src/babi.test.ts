import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BabiExample, babiEpisodes, parseBabi } from '@engram/datasets';
import { ntmOptimizer } from '@engram/ntm';
import { Random, parameterList } from '@engram/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BABI_SYMBOLS,
  DNC_BABI_RECIPE,
  type BabiSequence,
  babiGradients,
  babiLoss,
  babiProgress,
  babiScore,
  babiVocabulary,
  batchByLength,
  createDnc,
  defaultDncConfig,
  dncRecurrent,
  dncSequenceSupported,
  encodeBabiEpisode,
  encodeBabiTasks,
  evaluateDncBabi,
  loadDncCheckpoint,
  saveDncCheckpoint,
  trainDncBabi,
} from './index.js';
import { createDncBabiWorkers } from './workers.js';

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const STORY = [
  '1 Mary went to the kitchen.',
  '2 John went to the garden.',
  '3 Where is Mary?\tkitchen\t1',
  '4 Where is John?\tgarden\t2',
  '1 Sandra took the apple.',
  '2 What is Sandra carrying?\tapple,milk\t1',
].join('\n');

/** Seeded one-fact stories: "<person> went to the <place> . where is <person> ? -" → the place. */
function tinyStories(count: number, seed: number): BabiExample[] {
  const rng = new Random(seed);
  const people = ['mary', 'john', 'sandra'];
  const places = ['kitchen', 'garden', 'office'];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = people[rng.int(0, 2)] as string;
    const x = places[rng.int(0, 2)] as string;
    lines.push(`1 ${a} went to the ${x}.`, `2 where is ${a}?\t${x}\t1`);
  }
  return parseBabi(lines.join('\n'));
}

const tinyConfig = (size: number) =>
  defaultDncConfig(size, size, { controller: { kind: 'lstm', hiddenSize: 32, layers: 1 }, memorySlots: 8, memoryWidth: 8, readHeads: 1 });

describe('the DNC on bAbI', () => {
  it('encodes a story with its questions in place: words, ".", "?", and one scored "-" per answer word', () => {
    const examples = parseBabi(STORY);
    const vocabulary = babiVocabulary(examples);
    expect(vocabulary.words.slice(-3)).toEqual(Object.values(BABI_SYMBOLS));
    const [first, second] = babiEpisodes(examples).map((e) => encodeBabiEpisode(e, vocabulary, 1)) as [BabiSequence, BabiSequence];
    const words = (s: BabiSequence) => Array.from(s.inputs, (i) => vocabulary.words[i]).join(' ');
    expect(words(first)).toBe('mary went to the kitchen . john went to the garden . where is mary ? - where is john ? -');
    expect(first.questions).toEqual([[16], [21]]);
    expect(vocabulary.words[first.targets[16] as number]).toBe('kitchen');
    expect(Array.from(first.targets).filter((t) => t >= 0)).toHaveLength(2);
    expect(words(second)).toBe('sandra took the apple . what is sandra carrying ? - -');
    expect(second.questions).toEqual([[10, 11]]);
    expect(() => encodeBabiEpisode(babiEpisodes(parseBabi('1 Bob ran.\n2 Who ran?\tbob\t1'))[0] as never, vocabulary, 4)).toThrow(
      /the word 'bob' \(task 4\) is not in the model's vocabulary/,
    );
  });

  it('scores stories side by side as it scores them one by one', () => {
    const examples = parseBabi(STORY);
    const vocabulary = babiVocabulary(examples);
    const stories = encodeBabiTasks(new Map([[1, examples]]), vocabulary);
    const model = createDnc(tinyConfig(vocabulary.size), new Random(3));
    const together = babiLoss(model, stories);
    const apart = stories.map((s) => babiLoss(model, [s]));
    expect(together.loss.item()).toBeCloseTo(apart.reduce((sum, a) => sum + a.loss.item(), 0) / 2, 4);
    expect(together.questions).toBe(3);
    expect(together.wrong).toBe(apart.reduce((n, a) => n + a.wrong, 0));
    expect([...together.perTask]).toEqual([[1, [together.wrong, 3]]]);
  });

  it('the whole-sequence kernel gives the tape’s loss, questions and gradients (babiGradients, babiScore)', () => {
    const train = tinyStories(5, 3);
    const vocabulary = babiVocabulary([...parseBabi(STORY), ...train]);
    const stories = [...encodeBabiTasks(new Map([[1, parseBabi(STORY)]]), vocabulary), ...encodeBabiTasks(new Map([[2, train]]), vocabulary)];
    // Two layers, three read heads, a clip that bites, so every path of the kernel runs.
    const config = defaultDncConfig(vocabulary.size, vocabulary.size, {
      controller: { kind: 'lstm', hiddenSize: 12, layers: 2 },
      memorySlots: 9,
      memoryWidth: 5,
      readHeads: 3,
      clip: 1.5,
    });
    const rng = new Random(8);
    const model = createDnc(config, rng);
    for (const p of parameterList(model.params)) {
      const values = p.toArray();
      for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + rng.normal(0, 0.3);
      p.assign(values);
    }
    const params = parameterList(model.params);
    expect(dncSequenceSupported(model) && model.params.output.weight.backend.models !== undefined, 'the kernel path runs').toBe(true);
    const tape = babiLoss(model, stories, 4);
    tape.loss.backward();
    const expected = params.map((p) => p.grad?.toArray() ?? new Float32Array(p.size));
    for (const p of params) p.grad = null;
    const kernel = babiGradients(model, stories, 4);
    expect(kernel.loss).toBeCloseTo(tape.loss.item(), 4);
    expect([kernel.wrong, kernel.questions, [...kernel.perTask]]).toEqual([tape.wrong, tape.questions, [...tape.perTask]]);
    for (const [i, p] of params.entries()) {
      const e = expected[i] as Float32Array;
      const a = p.grad?.toArray() ?? new Float32Array(p.size);
      const scale = Math.max(1e-3, ...Array.from(e, Math.abs));
      let worst = 0;
      for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs((a[j] as number) - (e[j] as number)) / (Math.abs(e[j] as number) + 5e-4 * scale));
      expect(worst, `parameter ${i} ${p.shape.join('×')}`).toBeLessThan(2e-3);
    }
    const score = babiScore(model, stories);
    const forward = babiLoss(model, stories);
    expect(score.loss).toBeCloseTo(forward.loss.item(), 4);
    expect([score.wrong, [...score.perTask]]).toEqual([forward.wrong, [...forward.perTask]]);
    expect(() =>
      babiGradients(model, [{ ...(stories[0] as BabiSequence), targets: new Int32Array((stories[0] as BabiSequence).inputs.length).fill(-1) }]),
    ).toThrow(/ask no question/);
  });

  it('learns seeded one-fact stories (< 10% wrong on held-out ones), and resumes bit for bit', async () => {
    const train = tinyStories(600, 1);
    const held = tinyStories(60, 2);
    const vocabulary = babiVocabulary([...train, ...held]);
    const stories = encodeBabiTasks(new Map([[1, train]]), vocabulary);
    const validation = encodeBabiTasks(new Map([[1, held]]), vocabulary);
    const recipe = { ...DNC_BABI_RECIPE, learningRate: 1e-2, momentum: 0, batch: 4 };
    const model = createDnc(tinyConfig(vocabulary.size), new Random(5));
    expect(evaluateDncBabi(model, validation).error).toBeGreaterThan(0.5);
    const evaluations: number[] = [];
    await trainDncBabi(model, stories, { recipe, seed: 2, maxSteps: 150, validation, evalEvery: 50, onEvaluate: (e) => void evaluations.push(e.error) });
    expect(evaluations).toHaveLength(3); // steps 50, 100 and 150 (the budget adds none: step 150 was just evaluated)
    expect(evaluations.at(-1)).toBeLessThan(0.1);

    // Stopped at step 5 (in the second epoch of 12 stories), saved, loaded and continued equals 8 steps straight.
    const path = join(mkdtempSync(join(tmpdir(), 'engram-dnc-babi-')), 'checkpoint.safetensors');
    folders.push(join(path, '..'));
    const small = stories.slice(0, 12);
    const whole = createDnc(tinyConfig(vocabulary.size), new Random(6));
    await trainDncBabi(whole, small, { recipe, seed: 3, maxSteps: 8 });
    const part = createDnc(tinyConfig(vocabulary.size), new Random(6));
    await trainDncBabi(part, small, { recipe, seed: 3, maxSteps: 5, onCheckpoint: (s) => saveDncCheckpoint(path, part, s.optimizer, s.training) });
    const loaded = await loadDncCheckpoint(path);
    expect(babiProgress(loaded.training)).toEqual({ epoch: 1, position: 8 });
    const optimizer = ntmOptimizer(dncRecurrent(loaded.model), recipe);
    optimizer.loadState(loaded.optimizerState);
    await trainDncBabi(loaded.model, small, { recipe, maxSteps: 8, resume: { training: loaded.training, optimizer } });
    expect(parameterList(loaded.model.params).map((p) => Array.from(p.toArray()))).toEqual(parameterList(whole.params).map((p) => Array.from(p.toArray())));
  });

  it('trains on worker threads to the same weights as one thread, up to the order of sums', async () => {
    const train = tinyStories(40, 4);
    const vocabulary = babiVocabulary(train);
    const stories = encodeBabiTasks(new Map([[1, train]]), vocabulary);
    const recipe = { ...DNC_BABI_RECIPE, learningRate: 3e-3, batch: 4 };
    const run = async (threads: number) => {
      const model = createDnc(tinyConfig(vocabulary.size), new Random(7));
      const workers = threads > 1 ? await createDncBabiWorkers(model, threads, 4) : undefined;
      const losses: number[] = [];
      try {
        await trainDncBabi(model, stories, { recipe, maxSteps: 6, ...(workers ? { gradients: workers } : {}), onStep: (r) => void losses.push(r.loss) });
      } finally {
        await workers?.close();
      }
      return { losses, weights: parameterList(model.params).flatMap((p) => Array.from(p.toArray())) };
    };
    const one = await run(1);
    const two = await run(2);
    for (const [i, loss] of two.losses.entries()) expect(loss).toBeCloseTo(one.losses[i] as number, 3);
    expect(Math.max(...two.weights.map((w, i) => Math.abs(w - (one.weights[i] as number))))).toBeLessThan(1e-4);
    const evaluation = evaluateDncBabi(createDnc(tinyConfig(vocabulary.size), new Random(7)), stories.slice(0, 5), 3);
    expect(evaluation).toMatchObject({ step: 3, perTask: [{ task: 1, questions: 5 }] });
  });

  it('batches stories of similar length, in a shuffled order of batches, keeping every story once', () => {
    const rng = new Random(4);
    const stories: BabiSequence[] = Array.from({ length: 1003 }, () => ({
      inputs: new Int32Array(rng.int(5, 800)),
      targets: new Int32Array(0),
      questions: [],
      task: 1,
    }));
    const spread = (order: Int32Array) => {
      let total = 0;
      for (let b = 0; b + 4 <= 1000; b += 4) {
        const lengths = Array.from(order.subarray(b, b + 4), (i) => (stories[i] as BabiSequence).inputs.length);
        total += Math.max(...lengths) - Math.min(...lengths);
      }
      return total / 250;
    };
    const shuffled = new Random(9).permutation(stories.length);
    const order = shuffled.slice();
    batchByLength(order, 1000, 4, stories, new Random(1));
    expect([...order].sort((a, b) => a - b)).toEqual([...shuffled].sort((a, b) => a - b));
    expect(Array.from(order.subarray(1000))).toEqual(Array.from(shuffled.subarray(1000)));
    expect(spread(order)).toBeLessThan(spread(shuffled) / 10);
    const again = shuffled.slice();
    batchByLength(again, 1000, 4, stories, new Random(1));
    expect(again).toEqual(order);
    // The batches come in a shuffled order, not shortest first.
    const firsts = Array.from({ length: 10 }, (_, b) => (stories[order[b * 4] as number] as BabiSequence).inputs.length);
    expect(firsts).not.toEqual([...firsts].sort((a, b) => a - b));
  });

  it('names a malformed progress field of a checkpoint', () => {
    const training = (babi: unknown) => ({
      step: 1,
      sequences: 1,
      seconds: 0,
      rngState: [1, 2, 3, 4] as [number, number, number, number],
      curriculumLevel: null,
      extra: { babi },
    });
    expect(babiProgress({ ...training(undefined), extra: {} })).toEqual({ epoch: 0, position: 0 });
    expect(() => babiProgress(training([1]), 'f')).toThrow(/f: 'training.extra.babi' must be an object/);
    expect(() => babiProgress(training({ epoch: -1, position: 0 }), 'f')).toThrow(/'training.extra.babi.epoch' must be an integer/);
    expect(() => babiProgress(training({ epoch: 0, position: '3' }), 'f')).toThrow(/'training.extra.babi.position' must be an integer/);
  });
});
