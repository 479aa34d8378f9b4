import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const MEMNET_MODEL = fileURLToPath(new URL('../../demo/public/models/babi-joint.safetensors', import.meta.url));
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ENGRAM_DEBUG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe.runIf(existsSync(MAIN))('the engram command', () => {
  it('answers --help on every command and --version', () => {
    const commands = [
      ['train', 'ntm'],
      ['train', 'dnc'],
      ['train', 'memnet'],
      ['train', 'lm'],
      ['eval'],
      ['show'],
      ['ask'],
      ['download'],
      ['tune'],
      ['complete'],
      ['train'],
    ];
    for (const command of commands) {
      const r = run(...command, '--help');
      expect(r.code, command.join(' ')).toBe(0);
      expect(r.out).toMatch(/^usage: engram /);
    }
    expect(run('--version').out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('the engram executable turns on relaxed SIMD (fused multiply-add) unless ENGRAM_RELAXED_SIMD=0', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
    for (const [setting, kernels] of [
      ['1', /WebAssembly relaxed-simd matmul/],
      ['0', /WebAssembly simd matmul/],
    ] as const) {
      const out = join(mkdtempSync(join(tmpdir(), 'engram-cli-')), 'run');
      const r = spawnSync(process.execPath, [bin, 'train', 'dnc', '--max-sequences', '16', '--eval-every', '16', '--eval-size', '4', '--out', out], {
        encoding: 'utf8',
        env: { ...process.env, ENGRAM_RELAXED_SIMD: setting },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(kernels);
    }
  });

  it('resumes a run with the settings it started with, not the command line defaults; a conflicting or malformed setting is one line', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = join(mkdtempSync(join(tmpdir(), 'engram-cli-')), 'run');
    const start = ['train', 'ntm', '--task', 'priority-sort', '--read-heads', '2', '--write-heads', '2', '--memory', '16x6', '--hidden', '12'];
    const small = ['--eval-every', '4', '--eval-size', '2', '--checkpoint-every', '2', '--out', out];
    let r = run(...start, ...small, '--max-sequences', '4');
    expect(r.code, r.err).toBe(0);
    // Only --resume (and a larger budget): the task, the heads and the memory come from run.json.
    r = run('train', 'ntm', '--resume', '--max-sequences', '8', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/NTM on 'priority-sort': lstm 12, memory 16 × 6, 2 read \/ 2 write heads/);
    // The start command again with --resume: the same settings are fine, a different one is refused.
    r = run(...start, ...small, '--max-sequences', '10', '--resume', '--lr', '3e-5');
    expect(r.code, r.err).toBe(0);
    // A learning rate changed on resume stays changed (the checkpoint holds it), and the header says so.
    r = run('train', 'ntm', '--resume', '--max-sequences', '12', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/rmsprop lr 0\.00003, batch 1/);
    r = run('train', 'ntm', '--task', 'copy', '--resume', '--max-sequences', '14', '--out', out);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(
      /^engram: --resume continues the run as it started: --task differs from the run's task \("priority-sort" in .*run\.json\); leave it out$/,
    );
    const runFile = join(out, 'run.json');
    const saved = JSON.parse(readFileSync(runFile, 'utf8'));
    for (const [field, value, message] of [
      ['task', 'sort-of', /field 'task' must be one of copy, /],
      ['readHeads', 0, /field 'readHeads' must be a whole number from 1 to 1e9, got 0/],
      ['taskOptions', JSON.parse('{"__proto__": 3}'), /field 'taskOptions' must be an object of numbers/],
      ['maxSequences', 'lots', /field 'maxSequences' must be a number > 0, got "lots"/],
    ] as const) {
      writeFileSync(runFile, JSON.stringify({ ...saved, [field]: value }));
      r = run('train', 'ntm', '--resume', '--out', out);
      expect(r.code, field).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
    }
    writeFileSync(runFile, JSON.stringify({ ...saved, model: 'dnc' }));
    expect(run('train', 'ntm', '--resume', '--out', out).err).toMatch(/the run is a dnc run, not ntm: resume it with engram train dnc/);
  });

  it('refuses a model file whose task options would allocate without bound', async () => {
    const { readFileSync, writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { ntmFromSafetensors, ntmToSafetensors } = await import('@engram/ntm');
    const { Random } = await import('@engram/tensor');
    const copy = fileURLToPath(new URL('../../demo/public/models/copy.safetensors', import.meta.url));
    const { model } = ntmFromSafetensors(new Uint8Array(readFileSync(copy)), new Random(0));
    const file = join(mkdtempSync(join(tmpdir(), 'engram-cli-')), 'huge.safetensors');
    writeFileSync(file, ntmToSafetensors(model, { task: 'copy', taskOptions: '{"maxLength":1000000000}' }));
    const r = run('show', '--run', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/taskOptions: 'maxLength' must be an integer in 1\.\.10000/);
  });

  it('gives a user mistake one line and exit code 2, never a stack trace', () => {
    const cases: [string[], RegExp][] = [
      [['train', 'ntm', '--bach', '3'], /unknown option --bach \(did you mean --batch\?\)/],
      [['train', 'ntm', '--batch', '-3'], /--batch: -3 is out of range/],
      [['train', 'ntm', '--task', 'constructor'], /--task: expected one of copy/],
      [['train', 'ntm', '--memory', '99999999x99999999'], /--memory: expected NxM/],
      [['train', 'memnet', '--task', '25'], /--task: 25 is out of range/],
      [['eval', '--run', '/nonexistent/run'], /no model in \/nonexistent\/run/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['ask', '--run', MEMNET_MODEL, '--story', 'Mary went home.', '--question', '?!'], /--question: the question has no words/],
      [['ask', '--run', MEMNET_MODEL, '--story', '...', '--question', 'Where is Mary?'], /--story: the story has no words/],
      [['eval', '--run', MEMNET_MODEL, '--sequences', '0'], /--sequences: 0 is out of range/],
      [['train', 'lm', '--data', '/nonexistent/ptb', '--out', '/nonexistent/out'], /\/nonexistent\/ptb: no training text \(looked for ptb.train.txt/],
      [['train', 'ntm', '--out', '/proc/engram-run', '--max-sequences', '1'], /--out: cannot create \/proc\/engram-run/],
      [['train', 'ntm', '--out', '/nonexistent/parent/run', '--max-sequences', '1'], /--out: the parent folder \/nonexistent\/parent does not exist/],
      [['train', 'ntm', '--out', MAIN, '--max-sequences', '1'], /exists and is not a folder/],
      [['train', 'dnc', '--read-heds', '2'], /unknown option --read-heds \(did you mean --read-heads\?\)/],
      [['train', 'dnc', '--memory', '5000x4', '--out', '/nonexistent/dnc'], /DNC config: memorySlots must be an integer in 1\.\.4096/],
      [['train', 'dnc', '--task-options', 'constructor=3'], /--task-options: unknown task option 'constructor'/],
      [['train', 'ntm', '--task-options', 'width=0'], /--task-options: 'width' must be an integer in 1\.\.1024/],
      [['train', 'ntm', '--task-options', 'width'], /--task-options: expected KEY=N pairs/],
      [['train', 'lm', '--threads', '0'], /--threads: 0 is out of range/],
      [['train', 'dnc', '--task', 'babi', '--tasks', '21', '--out', '/nonexistent/b'], /--tasks: bAbI tasks are 1\.\.20, got '21'/],
      [['train', 'dnc', '--task', 'babi', '--hops', '2'], /unknown option --hops/],
      [['train', 'lm', '--model', 'memnet', '--threads', '65'], /--threads: 65 is out of range/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});
