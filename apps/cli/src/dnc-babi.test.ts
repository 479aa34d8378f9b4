import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BABI_TASKS } from '@engram/datasets';
import { EngramError } from '@engram/tensor';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EVAL_DNC_BABI_OPTIONS,
  SHOW_DNC_BABI_OPTIONS,
  TRAIN_DNC_BABI_OPTIONS,
  evalDncBabiCommand,
  isDncBabiRun,
  showDncBabiCommand,
  trainDncBabiCommand,
} from './dnc-babi.js';
import { parseOptions } from './option-table.js';

const folders: string[] = [];
const scratch = () => {
  const f = mkdtempSync(join(tmpdir(), 'engram-cli-dnc-babi-'));
  folders.push(f);
  return f;
};
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** A bAbI folder with tasks 1 and 2 (a few one-fact stories each), train and test; task 3 has no training file. */
function tinyBabi(): string {
  const dir = scratch();
  const people = ['mary', 'john', 'sandra'];
  const places = ['kitchen', 'garden', 'office'];
  const stories = (n: number, shift: number) =>
    Array.from({ length: n }, (_, i) => {
      const a = people[(i + shift) % 3] as string;
      const x = places[(i * 2 + shift) % 3] as string;
      return `1 ${a} went to the ${x}.\n2 where is ${a}?\t${x}\t1\n`;
    }).join('');
  for (const task of [1, 2]) {
    writeFileSync(join(dir, `${BABI_TASKS[task - 1]}_train.txt`), stories(14, task));
    writeFileSync(join(dir, `${BABI_TASKS[task - 1]}_test.txt`), stories(6, task + 5));
  }
  writeFileSync(join(dir, `${BABI_TASKS[2]}_test.txt`), stories(3, 0));
  return dir;
}

/** A well-formed run.json of a DNC-on-bAbI run (the fields `readRunInfo` checks). */
const validRun = {
  kind: 'dnc-babi',
  data: '.',
  tasks: [1],
  seed: 1,
  batch: 1,
  threads: 1,
  learningRate: 1e-4,
  clipNorm: 50,
  validation: 2,
  evalEvery: 9,
  checkpointEvery: 9,
  sizes: { hidden: 4, memorySlots: 4, memoryWidth: 4, readHeads: 1 },
  words: ['<pad>', 'a', 'b'],
  started: 'x',
};

const io = (stopAfter = Number.POSITIVE_INFINITY) => {
  const lines: string[] = [];
  let statuses = 0;
  return {
    lines,
    status: () => void statuses++,
    log: (l: string) => void lines.push(l),
    interrupted: () => statuses >= stopAfter,
  };
};
const parse = (argv: string[]) => parseOptions(TRAIN_DNC_BABI_OPTIONS, ['--task', 'babi', ...argv]) as Map<string, string | number | boolean>;
const small = [
  '--hidden',
  '8',
  '--memory',
  '6x4',
  '--read-heads',
  '1',
  '--validation',
  '2',
  '--batch',
  '2',
  '--threads',
  '2',
  '--eval-every',
  '3',
  '--checkpoint-every',
  '2',
];

describe('engram train dnc --task babi / eval', () => {
  it('trains on every task with a training file, resumes exactly, and evaluates the test stories per task', async () => {
    const data = tinyBabi();
    const straight = join(scratch(), 'straight');
    const first = io();
    expect(await trainDncBabiCommand(parse(['--data', data, '--out', straight, ...small, '--max-steps', '8']), first)).toBe(0);
    const log = first.lines.join('\n');
    expect(log).toMatch(/left out: 3 \(qa3_three-supporting-facts_train.txt\)/);
    expect(log).toMatch(/DNC on bAbI tasks 1,2: lstm 8, memory 6 × 4, 1 read \/ 1 write heads.*; 2 threads/);
    expect(log).toMatch(/24 training stories .* 4 held out/);
    expect(log).toMatch(/step 3: held-out error/);

    const split = join(scratch(), 'split');
    expect(await trainDncBabiCommand(parse(['--data', data, '--out', split, ...small, '--max-steps', '8']), io(5))).toBe(130);
    await expect(trainDncBabiCommand(parse(['--out', split, '--resume', '--tasks', '1']), io())).rejects.toThrow(/--resume continues the run as it was/);
    await expect(trainDncBabiCommand(parse(['--data', data, '--out', split, ...small]), io())).rejects.toThrow(/already holds a run/);
    const resumed = io();
    expect(await trainDncBabiCommand(parse(['--out', split, '--resume', '--max-steps', '8']), resumed)).toBe(0);
    expect(resumed.lines.join('\n')).toMatch(/resumed .* at step 5, epoch 1 at story 10/);
    expect(readFileSync(join(split, 'model.safetensors'))).toEqual(readFileSync(join(straight, 'model.safetensors')));
    const rows = (dir: string, file: string) =>
      readFileSync(join(dir, file), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(',').filter((_, i) => i !== (file === 'curve.csv' ? 3 : 1)));
    expect(rows(split, 'curve.csv')).toEqual(rows(straight, 'curve.csv'));
    expect(rows(split, 'evals.csv')).toEqual(rows(straight, 'evals.csv'));

    expect(await isDncBabiRun(split)).toBe(true);
    expect(await isDncBabiRun(data)).toBe(false);
    const evaluated = io();
    expect(await evalDncBabiCommand(parseOptions(EVAL_DNC_BABI_OPTIONS, ['--run', split, '--stories', '4']) as Map<string, string>, evaluated)).toBe(0);
    expect(evaluated.lines.join('\n')).toMatch(/\| 1 \| [\d.]+% \| 4 \|\n\| 2 \| [\d.]+% \| 4 \|\nmean [\d.]+%, \d failed \(> 5%\) of 2 tasks/);

    // One test story word by word: each word a row, the answer step marked right or wrong, and the figure.
    const shownIo = io();
    const shown = await showDncBabiCommand(
      parseOptions(SHOW_DNC_BABI_OPTIONS, ['--run', split, '--task', '2', '--example', '1']) as Map<string, string>,
      shownIo,
    );
    const table = shownIo.lines.join('\n');
    expect(table).toMatch(/task 2, test story 1 \(11 words\)/);
    expect(table).toMatch(/\| - \| \S+ (✓|✗ \([a-z]+\)) \| \d+, [\d.]+, [\d.]+ \| \d+ (backward|forward|content) \|/);
    expect(table).toMatch(/[01] of 1 answer words right/);
    expect(shown.svg).toContain('read mode, head 1');
    expect(shown.out).toBe(join(split, 'show.svg'));
    await expect(showDncBabiCommand(parseOptions(SHOW_DNC_BABI_OPTIONS, ['--run', split, '--task', '3']) as Map<string, string>, io())).rejects.toThrow(
      /--task: the run was trained on tasks 1,2, not 3/,
    );
    await expect(showDncBabiCommand(parseOptions(SHOW_DNC_BABI_OPTIONS, ['--run', split, '--example', '6']) as Map<string, string>, io())).rejects.toThrow(
      /--example: task 1 has 6 test stories \(0\.\.5\), not 6/,
    );
  });

  it('refuses a hostile run.json with one EngramError, whatever field is wrong, and never touches Object.prototype', async () => {
    const run = scratch();
    const valid = { ...validRun, data: run };
    const hostile = fc.oneof(
      fc.anything(),
      fc.constantFrom(-1, 0, 1.5, 1e300, Number.NaN, '1', null, [], {}, ['<pad>', 'a', 'a'], ['a'], { hidden: 1e9 }, '__proto__'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(valid), '__proto__', 'constructor'), hostile, async (field, value) => {
        const text = JSON.stringify({ ...valid, [field]: value }).replace('"constructor"', '"__proto__"');
        writeFileSync(join(run, 'run.json'), text);
        try {
          await evalDncBabiCommand(parseOptions(EVAL_DNC_BABI_OPTIONS, ['--run', run]) as Map<string, string>, io());
        } catch (error) {
          expect(error).toBeInstanceOf(EngramError);
          expect((error as Error).message.split('\n')).toHaveLength(1);
        }
        expect(Object.keys(Object.prototype)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('names a bad task list, a folder without bAbI files and a run.json that is not a DNC-on-bAbI run', async () => {
    const empty = scratch();
    await expect(trainDncBabiCommand(parse(['--data', empty, '--out', join(empty, 'r')]), io())).rejects.toThrow(/--data: no bAbI training file in/);
    await expect(trainDncBabiCommand(parse(['--data', empty, '--tasks', '0,2', '--out', join(empty, 'r')]), io())).rejects.toThrow(
      /--tasks: bAbI tasks are 1\.\.20, got '0'/,
    );
    await expect(trainDncBabiCommand(parse(['--data', empty, '--tasks', '2', '--out', join(empty, 'r')]), io())).rejects.toThrow(
      /qa2_two-supporting-facts_train\.txt/,
    );
    const run = scratch();
    writeFileSync(join(run, 'checkpoint.safetensors'), 'x');
    const { sizes: _, ...withoutSizes } = validRun;
    writeFileSync(join(run, 'run.json'), JSON.stringify(withoutSizes));
    await expect(trainDncBabiCommand(parse(['--out', run, '--resume']), io())).rejects.toThrow(/run\.json: 'sizes\.hidden' must be a number/);
    writeFileSync(join(run, 'run.json'), '{"kind":"lm"}');
    await expect(trainDncBabiCommand(parse(['--out', run, '--resume']), io())).rejects.toThrow(/not a DNC-on-bAbI run/);
  });
});
