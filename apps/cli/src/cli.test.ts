import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateModel, loadRun } from './evaluate.js';
import { renderSvg, renderTerminal, showSequence } from './show.js';
import { type TrainOptions, runTraining } from './train.js';

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
    const { model, task, taskOptions } = await loadRun(out);
    const rows = evaluateModel(model, task, { lengths: [2, 6], sequences: 10, seed: 3, batch: 4, taskOptions });
    expect(rows.map((r) => r.label)).toEqual(['length 2', 'length 6']);
    for (const r of rows) expect(r.errorBits).toBeGreaterThanOrEqual(0);
    const shown = showSequence(model, task, { length: 3, seed: 4, taskOptions });
    expect(shown.steps).toHaveLength(7);
    expect(renderTerminal(shown)).toContain('write head 1');
    expect(renderSvg(shown, 'test')).toContain('read weighting, head 1');
  });
});
