import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { algorithmicTask, randomBits, repeatCopySequence, sampleBatch } from '@engram/datasets';
import { evaluateBatch } from '@engram/ntm';
import { EngramError, Random } from '@engram/tensor';
import fc from 'fast-check';
import { evaluateModel, evaluationRows, loadRun, parseCounts } from './evaluate.js';
import { type MemnetTrainOptions, ask, isMemnetRun, loadMemnetRun, parseStory, renderAnswer, resultsTable, runMemnetTraining, scheduleFor } from './memnet.js';
import { renderSvg, renderTerminal, showSequence } from './show.js';
import { type TrainOptions, resumedTrainOptions, runTraining } from './train.js';

const tiny = (out: string, overrides: Partial<TrainOptions> = {}): TrainOptions => ({
  task: 'copy',
  out,
  seed: 1,
  batch: 8,
  optimizer: 'adam',
  learningRate: 1e-2,
  clipNorm: 10,
  clipValue: 0,
  curriculum: false,
  until: 0.01,
  stable: 1,
  maxSequences: 80,
  timeLimit: Number.POSITIVE_INFINITY,
  evalEvery: 5,
  evalSize: 16,
  checkpointEvery: 4,
  resume: false,
  hidden: 16,
  layers: 1,
  controller: 'lstm',
  memorySlots: 8,
  memoryWidth: 4,
  readHeads: 1,
  writeHeads: 1,
  taskOptions: { width: 3, maxLength: 3 },
  ...overrides,
});

const silent = (interruptAfter = Number.POSITIVE_INFINITY) => {
  let statuses = 0;
  const lines: string[] = [];
  return {
    lines,
    io: {
      status: () => {
        statuses++;
      },
      log: (line: string) => lines.push(line),
      interrupted: () => statuses >= interruptAfter,
    },
  };
};

describe('engram train ntm', () => {
  it('trains, writes a curve, a checkpoint and a model, and resumes exactly', async () => {
    const straight = mkdtempSync(join(tmpdir(), 'engram-cli-'));
    expect(await runTraining(tiny(straight), silent().io)).toBe('budget');
    const curve = readFileSync(join(straight, 'curve.csv'), 'utf8').trim().split('\n');
    expect(curve).toHaveLength(1 + 10);
    expect(readFileSync(join(straight, 'curve.svg'), 'utf8')).toContain('<svg');

    // The same run, interrupted after 6 steps and resumed, ends with the same curve.
    const split = mkdtempSync(join(tmpdir(), 'engram-cli-'));
    expect(await runTraining(tiny(split), silent(6).io)).toBe('interrupted');
    expect(await runTraining(tiny(split, { resume: true }), silent().io)).toBe('budget');
    const resumed = readFileSync(join(split, 'curve.csv'), 'utf8').trim().split('\n');
    const withoutTime = (rows: string[]) =>
      rows.map((r) =>
        r
          .split(',')
          .filter((_, i) => i !== 2)
          .join(','),
      );
    expect(withoutTime(resumed)).toEqual(withoutTime(curve));
  });

  it('evaluates and shows a trained run', async () => {
    const out = mkdtempSync(join(tmpdir(), 'engram-cli-'));
    await runTraining(tiny(out), silent().io);
    const loaded = await loadRun(out);
    const { model, task, taskOptions } = loaded;
    const rows = evaluateModel(model, task, { lengths: [2, 6], sequences: 10, seed: 3, batch: 4, taskOptions });
    expect(rows.map((r) => r.label)).toEqual(['length 2', 'length 6']);
    for (const r of rows) expect(r.errorBits).toBeGreaterThanOrEqual(0);
    const shown = showSequence(loaded, task, { length: 3, seed: 4, taskOptions });
    expect(shown.steps).toHaveLength(7);
    expect(renderTerminal(shown)).toContain('write head 1');
    expect(renderSvg(shown, 'test')).toContain('read weighting, head 1');
  });
});

describe('engram train --resume reads run.json', () => {
  const started = JSON.parse(JSON.stringify({ ...tiny('runs/x'), model: 'ntm', task: 'priority-sort', readHeads: 3, maxSequences: null }));
  const none = () => false;

  it('takes the fixed settings from the run and keeps Infinity budgets', () => {
    const resumed = resumedTrainOptions(tiny('runs/x'), started, none, 'run.json');
    expect(resumed.task).toBe('priority-sort');
    expect(resumed.readHeads).toBe(3);
    expect(resumed.maxSequences).toBe(Number.POSITIVE_INFINITY);
    expect(resumed.learningRateGiven).toBe(false);
  });

  it("refuses a model field that is not a model's name, an object that cannot become a string included", () => {
    // fast-check's counterexample: String() of {toString: 0} threw a TypeError instead of naming the field.
    for (const model of [{ toString: 0 }, 7, 'lstm', ['ntm']])
      expect(() => resumedTrainOptions(tiny('runs/x'), { ...started, model }, none, 'run.json')).toThrow(/run\.json: field 'model' must be one of ntm, dnc/);
  });

  it('fuzzed run.json (any JSON value, any field replaced): valid options or one EngramError naming the file, nothing else', () => {
    const fields = [...Object.keys(started), '__proto__', 'constructor'];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc
            .record({ field: fc.constantFrom(...fields), value: fc.jsonValue() })
            .map(({ field, value }) => JSON.parse(JSON.stringify({ ...started, [field]: value }))),
          // Own keys that could reach a prototype, as JSON.parse makes them.
          fc
            .record({ key: fc.constantFrom('__proto__', 'constructor', 'prototype'), value: fc.jsonValue() })
            .map(({ key, value }) => ({ ...started, taskOptions: JSON.parse(`{"${key}": ${JSON.stringify(value) ?? 'null'}, "width": 3}`) })),
        ),
        (saved) => {
          try {
            const resumed = resumedTrainOptions(tiny('runs/x'), saved, none, 'run.json');
            expect(Object.getPrototypeOf(resumed.taskOptions)).toBe(Object.prototype);
            for (const key of ['__proto__', 'constructor', 'prototype']) expect(Object.hasOwn(resumed.taskOptions, key)).toBe(false);
            expect(typeof resumed.task).toBe('string');
          } catch (error) {
            expect(error).toBeInstanceOf(EngramError);
            expect((error as Error).message).toMatch(/run\.json|--resume/);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('engram eval --lengths', () => {
  it('reads lengths and ranges, and names the entry it cannot read', () => {
    expect(parseCounts('1-20,30,50', 1)).toEqual([[1, 20], 30, 50]);
    expect(parseCounts('2-6,12', 2)).toEqual([[2, 6], 12]);
    for (const bad of ['0', '1-0', '5-2', 'x', '', '3,,4', '1e3', '10001', '1-99999'])
      expect(() => parseCounts(bad, 1), bad).toThrow(/--lengths: (expected counts|the range)/);
    expect(() => parseCounts('1-6', 2)).toThrow(/'1-6'/);
  });

  it('chooses the rows each task can score, and names a flag the task cannot use', () => {
    const flags = (lengths?: string, repeats?: string) => ({ lengths, repeats, defaultLengths: '1-20,30' });
    expect(evaluationRows('copy', 'm', flags())).toEqual({ lengths: [[1, 20], 30], repeats: [] });
    expect(evaluationRows('repeat-copy', 'm', flags(undefined, '3,12'))).toEqual({ lengths: [], repeats: [3, 12] });
    expect(evaluationRows('repeat-copy', 'm', flags('5', '3'))).toEqual({ lengths: [5], repeats: [3] });
    expect(evaluationRows('associative-recall', 'm', flags())).toEqual({ lengths: [], repeats: [] });
    expect(evaluationRows('associative-recall', 'm', flags('2-6,12'))).toEqual({ lengths: [[2, 6], 12], repeats: [] });
    expect(() => evaluationRows('associative-recall', 'm', flags('1-6'))).toThrow(/--lengths: .*got '1-6'/);
    expect(() => evaluationRows('copy', 'm', flags(undefined, '3'))).toThrow(/--repeats: only for repeat-copy runs; m was trained on copy/);
    expect(() => evaluationRows('priority-sort', 'm', flags('5'))).toThrow(/--lengths: priority sort has no lengths/);
    expect(() => evaluationRows('repeat-copy', 'm', flags(undefined, '0'))).toThrow(/--repeats: expected counts/);
  });

  it('scores repeat copy at the repeat counts asked for, normalised over the trained range', async () => {
    const out = mkdtempSync(join(tmpdir(), 'engram-cli-'));
    const trained = { width: 3, maxLength: 2, maxRepeats: 2 };
    await runTraining(tiny(out, { task: 'repeat-copy', taskOptions: trained, maxSequences: 16 }), silent().io);
    const { model, task, taskOptions } = await loadRun(out);
    const rows = evaluateModel(model, task, { lengths: [], repeats: [1, [2, 3], 5], sequences: 6, seed: 3, batch: 6, taskOptions });
    expect(rows.map((r) => r.label)).toEqual(['repeats 1', 'repeats 2..3', 'repeats 5']);
    const rng = new Random(3);
    const five = Array.from({ length: 6 }, () => {
      const length = rng.int(1, 2);
      rng.int(5, 5);
      return repeatCopySequence(
        Array.from({ length }, () => randomBits(rng, 3)),
        5,
        taskOptions,
      );
    });
    const expected = evaluateBatch(model, sampleBatch({ ...algorithmicTask(task), sample: () => five.shift() as never }, new Random(0), 6, taskOptions));
    expect(rows[2]?.loss).toBeCloseTo(expected.loss, 5);
  });

  it('scores associative recall at the item counts asked for', async () => {
    const out = mkdtempSync(join(tmpdir(), 'engram-cli-'));
    await runTraining(tiny(out, { task: 'associative-recall', taskOptions: { width: 3, itemLength: 1, maxItems: 3 }, maxSequences: 16 }), silent().io);
    const { model, task, taskOptions } = await loadRun(out);
    const rows = evaluateModel(model, task, { lengths: [2, [3, 4], 9], sequences: 6, seed: 3, batch: 6, taskOptions });
    expect(rows.map((r) => r.label)).toEqual(['items 2', 'items 3..4', 'items 9']);
    const nine = evaluateBatch(model, sampleBatch(algorithmicTask(task), new Random(3), 6, { ...taskOptions, minItems: 9, maxItems: 9 }));
    expect(rows[2]?.loss).toBeCloseTo(nine.loss, 5);
    expect(rows[2]?.errorBits).toBeCloseTo(nine.errorBits, 5);
  });
});

describe('engram train dnc', () => {
  it('trains, resumes exactly, evaluates and shows usage, read modes and the link matrix', async () => {
    // On two threads: a resumed run on the same count continues bit for bit.
    const dnc = (out: string, overrides: Partial<TrainOptions> = {}) => tiny(out, { model: 'dnc', readHeads: 2, clipNorm: 50, threads: 2, ...overrides });
    const straight = mkdtempSync(join(tmpdir(), 'engram-cli-'));
    const lines = silent();
    expect(await runTraining(dnc(straight), lines.io)).toBe('budget');
    expect(lines.lines.join('\n')).toMatch(/DNC on 'copy'.*; each batch of sequences in one WebAssembly kernel; 2 threads/);
    const curve = readFileSync(join(straight, 'curve.csv'), 'utf8').trim().split('\n');
    const split = mkdtempSync(join(tmpdir(), 'engram-cli-'));
    expect(await runTraining(dnc(split), silent(6).io)).toBe('interrupted');
    expect(await runTraining(dnc(split, { resume: true }), silent().io)).toBe('budget');
    const withoutTime = (rows: string[]) =>
      rows.map((r) =>
        r
          .split(',')
          .filter((_, i) => i !== 2)
          .join(','),
      );
    expect(withoutTime(readFileSync(join(split, 'curve.csv'), 'utf8').trim().split('\n'))).toEqual(withoutTime(curve));

    const loaded = await loadRun(straight);
    expect(loaded.dnc).not.toBeNull();
    const rows = evaluateModel(loaded.model, loaded.task, { lengths: [2], sequences: 8, seed: 3, batch: 4, taskOptions: loaded.taskOptions });
    expect(rows[0]?.errorBits).toBeGreaterThanOrEqual(0);
    const shown = showSequence(loaded, loaded.task, { length: 3, seed: 4, taskOptions: loaded.taskOptions });
    expect(renderTerminal(shown)).toContain('read mode 2');
    const svg = renderSvg(shown, 'test');
    expect(svg).toContain('usage');
    expect(svg).toContain('link matrix L at the last step, write head 1');
  });
});

describe('engram train memnet / eval / ask', () => {
  const data = fileURLToPath(new URL('../../../../shared/data/babi', import.meta.url));
  const options = (out: string, resume = false): MemnetTrainOptions => ({
    tasks: [1],
    data,
    tenK: false,
    out,
    seed: 3,
    embedding: 8,
    hops: 2,
    encoding: 'position',
    emptySlots: 'attend',
    schedule: { ...scheduleFor([1]), linearStartEpochs: 1, epochs: 3, decayEvery: 2 },
    validationFraction: 0.1,
    resume,
  });
  const io = (stopAfterEpochs = Number.POSITIVE_INFINITY) => {
    const lines: string[] = [];
    return {
      lines,
      io: { status: () => {}, log: (l: string) => lines.push(l), interrupted: () => lines.filter((l) => l.includes(' epoch ')).length >= stopAfterEpochs },
    };
  };

  it('trains with per-epoch checkpoints, resumes exactly, then evaluates and answers with per-hop attention', async () => {
    const straight = mkdtempSync(join(tmpdir(), 'engram-cli-'));
    const run = io();
    expect(await runMemnetTraining(options(straight), run.io)).toBe('budget');
    expect(run.lines.join('\n')).toMatch(/\| 1 single-supporting-fact \| \d+\.\d \|/);
    const curve = readFileSync(join(straight, 'curve.csv'), 'utf8').trim().split('\n');
    expect(curve).toHaveLength(1 + 4);

    const split = mkdtempSync(join(tmpdir(), 'engram-cli-'));
    expect(await runMemnetTraining(options(split), io(2).io)).toBe('interrupted');
    expect(await runMemnetTraining(options(split, true), io().io)).toBe('budget');
    const withoutTime = (rows: string[]) => rows.map((r) => r.split(',').slice(0, -1).join(','));
    expect(withoutTime(readFileSync(join(split, 'curve.csv'), 'utf8').trim().split('\n'))).toEqual(withoutTime(curve));

    expect(await isMemnetRun(straight)).toBe(true);
    const { model, vocabulary, tasks } = await loadMemnetRun(straight);
    expect(tasks).toEqual([1]);
    const story = parseStory('Mary moved to the bathroom. John went to the hallway.');
    const reply = ask(model, vocabulary, story, ['where', 'is', 'mary']);
    const text = renderAnswer(story, ['where', 'is', 'mary'], reply, [0], 'bathroom');
    expect(text).toContain('hop 2');
    expect(text).toContain('* 1. mary moved to the bathroom');
    expect(() => ask(model, vocabulary, [['bob', 'flew']], ['where', 'is', 'bob'])).toThrow(/does not know 'bob', 'flew'/);
    expect(
      resultsTable([
        { task: 1, error: 0.02, count: 1000 },
        { task: 2, error: 0.3, count: 1000 },
      ]),
    ).toContain('**16.0** (failed tasks, > 5%: 1)');
  }, 120_000);
});
