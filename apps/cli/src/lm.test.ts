import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngramError } from '@engram/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { LM_RECIPES, loadTextCorpus, ptbTokens } from '@engram/lm';
import {
  COMPLETE_LM_OPTIONS,
  EVAL_LM_OPTIONS,
  SHOW_LM_OPTIONS,
  TRAIN_LM_OPTIONS,
  completeLmCommand,
  evalLmCommand,
  isLmRun,
  progressLine,
  showLmCommand,
  trainLmCommand,
} from './lm.js';
import { parseOptions, usageText } from './option-table.js';

const folders: string[] = [];
const scratch = () => {
  const f = mkdtempSync(join(tmpdir(), 'engram-cli-lm-'));
  folders.push(f);
  return f;
};
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** A tiny PTB-shaped corpus: sentences over 12 words, in the three files. */
function tinyPtb(): string {
  const dir = scratch();
  const words = ['the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran', 'to', 'park', '<unk>', 'N'];
  const sentences = (n: number, seed: number) =>
    Array.from({ length: n }, (_, i) => Array.from({ length: 6 }, (_, j) => words[(i * 7 + j * (seed + 3)) % words.length]).join(' ')).join('\n');
  writeFileSync(join(dir, 'ptb.train.txt'), `${words.join(' ')}\n${sentences(600, 1)}\n`);
  writeFileSync(join(dir, 'ptb.valid.txt'), `${sentences(20, 2)}\n`);
  writeFileSync(join(dir, 'ptb.test.txt'), `${sentences(20, 4)}\n`);
  return dir;
}

const io = () => {
  const lines: string[] = [];
  return { lines, status: () => {}, log: (l: string) => void lines.push(l), interrupted: () => false };
};
const parse = (argv: string[]) => parseOptions(TRAIN_LM_OPTIONS, argv) as Map<string, string | number | boolean>;

describe('engram train lm / eval / complete', () => {
  it('trains, refuses to overwrite, resumes exactly, then evaluates with a cache and completes a text', async () => {
    const data = tinyPtb();
    const out = join(scratch(), 'run');
    const base = ['--data', data, '--out', out, '--hidden', '8', '--epochs', '2', '--checkpoint-every', '3', '--threads', '2'];
    const first = io();
    expect(await trainLmCommand(parse([...base, '--max-steps', '5']), first)).toBe(0);
    expect(first.lines.join('\n')).toMatch(/; 2 threads\n[\s\S]*stopped at step 5: checkpoint saved/);
    await expect(trainLmCommand(parse(base), io())).rejects.toThrow(/already holds a run.*--resume.*--overwrite/);
    await expect(trainLmCommand(parse([...base, '--resume']), io())).rejects.toThrow(/--resume continues the run as it was/);
    const resumed = io();
    expect(await trainLmCommand(parse(['--out', out, '--resume']), resumed)).toBe(0);
    expect(resumed.lines.join('\n')).toMatch(/resumed .* at step 5.*\n.*; 2 threads/);

    const whole = join(scratch(), 'whole');
    expect(await trainLmCommand(parse(['--data', data, '--out', whole, '--hidden', '8', '--epochs', '2', '--threads', '2']), io())).toBe(0);
    expect(readFileSync(join(out, 'model.safetensors'))).toEqual(readFileSync(join(whole, 'model.safetensors')));
    const curve = (dir: string) =>
      readFileSync(join(dir, 'curve.csv'), 'utf8')
        .split('\n')
        .map((l) =>
          l
            .split(',')
            .filter((_, i) => i !== 3)
            .join(','),
        );
    expect(curve(out)).toEqual(curve(whole));
    // The best model by validation is kept, and results.json names its epoch and test perplexity.
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const epochs = readFileSync(join(out, 'epochs.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[3]));
    expect(results.best.validPerplexity).toBeCloseTo(Math.min(...epochs), 2);
    expect(results.best.epoch).toBe(epochs.indexOf(Math.min(...epochs)) + 1);
    expect(results.epochs).toBe(epochs.length);
    expect(readFileSync(join(out, 'best.safetensors'))).toEqual(readFileSync(join(whole, 'best.safetensors')));
    expect(await isLmRun(out)).toBe(true);
    expect(await isLmRun(join(out, 'model.safetensors'))).toBe(true);

    await expect(showLmCommand(parseOptions(SHOW_LM_OPTIONS, ['--run', out, '--text', 'the cat']) as Map<string, string>, io())).rejects.toThrow(
      /engram show draws a memory network's attention; .* is an LSTM language model: engram complete/,
    );
    const evaluated = io();
    expect(await evalLmCommand(parseOptions(EVAL_LM_OPTIONS, ['--run', out, '--cache', '5,50']) as Map<string, string>, evaluated)).toBe(0);
    expect(evaluated.lines.join('\n')).toMatch(/\| none \| [\d.]+ \| [\d.]+ \| \| \|[\s\S]*neural cache, 5 [\s\S]*neural cache, 50 /);
    await expect(evalLmCommand(parseOptions(EVAL_LM_OPTIONS, ['--run', out, '--cache', '0']) as Map<string, string>, io())).rejects.toThrow(/--cache/);

    const completed = io();
    const values = parseOptions(COMPLETE_LM_OPTIONS, ['--run', join(out, 'model.safetensors'), '--text', 'The cat sat on the zebra', '--top', '3']) as Map<
      string,
      string | number
    >;
    expect(await completeLmCommand(values, completed)).toBe(0);
    expect(completed.lines.join('\n')).toMatch(/1 word outside the vocabulary read as <unk>[\s\S]*\| 3 \|[\s\S]*what the cache recalled/);
    const empty = parseOptions(COMPLETE_LM_OPTIONS, ['--run', out, '--text', '  ']) as Map<string, string | number>;
    await expect(completeLmCommand(empty, io())).rejects.toThrow(/the text has no words/);
  });

  it("--model memnet: trains the MemN2N language model, resumes exactly, evaluates and shows each hop's attention", async () => {
    const data = tinyPtb();
    const out = join(scratch(), 'memnet');
    const base = ['--model', 'memnet', '--data', data, '--out', out, '--hops', '2', '--memory', '5', '--embedding', '6', '--epochs', '2'];
    await expect(trainLmCommand(parse([...base, '--hidden', '8']), io())).rejects.toThrow(/--hidden is not an option of --model memnet/);
    await expect(trainLmCommand(parse(['--hops', '2', '--out', join(scratch(), 'x')]), io())).rejects.toThrow(/--hops is not an option of --model lstm/);
    const first = io();
    expect(await trainLmCommand(parse([...base, '--max-steps', '4', '--checkpoint-every', '3']), first)).toBe(0);
    expect(first.lines.join('\n')).toMatch(/MemN2N LM: 2 hops, memory of 5 words, embedding 6 \(ReLU on 3\)[\s\S]*stopped at step 4/);
    expect(await trainLmCommand(parse(['--out', out, '--resume']), io())).toBe(0);
    await expect(trainLmCommand(parse(['--out', out, '--resume', '--hops', '3']), io())).rejects.toThrow(/--resume continues the run as it was/);
    const whole = join(scratch(), 'whole');
    expect(
      await trainLmCommand(
        parse(['--model', 'memnet', '--data', data, '--out', whole, '--hops', '2', '--memory', '5', '--embedding', '6', '--epochs', '2']),
        io(),
      ),
    ).toBe(0);
    expect(readFileSync(join(out, 'model.safetensors'))).toEqual(readFileSync(join(whole, 'model.safetensors')));
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.testPerplexity).toBeGreaterThan(1);
    expect(results.testPerplexityFullMemory).toBeGreaterThan(1);
    // The epochs trained, counted across the resume, and whether the rule (not the cap of 2) ended the run
    // (scripts/lm-hops-results.sh reads it).
    expect(results.epochs).toBe(2);
    expect(results.stoppedByRule).toBe(false);
    expect(await isLmRun(join(out, 'model.safetensors'))).toBe(true);

    const evaluated = io();
    expect(await evalLmCommand(parseOptions(EVAL_LM_OPTIONS, ['--run', out]) as Map<string, string>, evaluated)).toBe(0);
    expect(evaluated.lines.join('\n')).toMatch(
      new RegExp(`\\| MemN2N LM, 2 hops, memory 5 \\| every word after the first \\| [\\d.]+ \\| ${results.testPerplexity.toFixed(2)} \\|`),
    );
    expect(evaluated.lines.join('\n')).toMatch(
      new RegExp(`\\| those with 5 words before them \\(the paper's test\\) \\| [\\d.]+ \\| ${results.testPerplexityFullMemory.toFixed(2)} \\|`),
    );
    await expect(evalLmCommand(parseOptions(EVAL_LM_OPTIONS, ['--run', out, '--cache', '5']) as Map<string, string>, io())).rejects.toThrow(
      /--cache and --knn read an LSTM's hidden states/,
    );
    const completed = io();
    const values = parseOptions(COMPLETE_LM_OPTIONS, ['--run', out, '--text', 'the cat sat on the', '--top', '3']) as Map<string, string | number>;
    expect(await completeLmCommand(values, completed)).toBe(0);
    expect(completed.lines.join('\n')).toMatch(/\| 3 \|[\s\S]*hop 1: '[a-z]+'@\d [\d.]+[\s\S]*hop 2:/);
    expect(completed.lines.join('\n')).not.toMatch(/note:/);
    const short = io();
    expect(await completeLmCommand(parseOptions(COMPLETE_LM_OPTIONS, ['--run', out, '--text', 'the cat']) as Map<string, string | number>, short)).toBe(0);
    expect(short.lines.join('\n')).toMatch(
      /note: the text has 2 words and the model was trained with a full memory of 5; the other 3 slots are empty memories/,
    );
    expect(short.lines.join('\n')).toMatch(/hop 1: .*\(the empty memories: [\d.]+\)/);

    // engram show: the same reading, drawn: a row per earlier word (then the empty memories), a column per hop.
    const shown = io();
    const drawn = await showLmCommand(parseOptions(SHOW_LM_OPTIONS, ['--run', out, '--text', 'the cat']) as Map<string, string | number>, shown);
    expect(drawn.out).toBe(join(out, 'show.svg'));
    expect(shown.lines.join('\n')).toMatch(/hop 2:/);
    expect(drawn.svg).toMatch(
      /^<svg [^>]*role="img"><title>MemN2N LM, 2 hops, memory 5: attention before the next word \(most likely next: '[^']+'\)<\/title>/,
    );
    expect(drawn.svg).toContain('>the @0</text>');
    expect(drawn.svg).toContain('>cat @1</text>');
    expect(drawn.svg).toContain('>(empty memories)</text>');
    // Each hop's heaviest cell is drawn darkest: one cell of rgb(8,48,107) per hop.
    expect(drawn.svg.match(/fill="rgb\(8,48,107\)"/g)).toHaveLength(2);
  });

  it('--init starts a run from a model file: its weights, its sizes, the given η; mismatches named', async () => {
    const data = tinyPtb();
    const first = join(scratch(), 'first');
    const sizes = ['--hops', '2', '--memory', '5', '--embedding', '6'];
    expect(await trainLmCommand(parse(['--model', 'memnet', '--data', data, '--out', first, ...sizes, '--epochs', '6']), io())).toBe(0);
    const model = join(first, 'model.safetensors');
    const firstValid = JSON.parse(readFileSync(join(first, 'results.json'), 'utf8')).validPerplexity as number;

    // The sizes come from the file; with η at the paper's floor the weights stay near the file's, and so does validation.
    const second = join(scratch(), 'second');
    const started = io();
    expect(await trainLmCommand(parse(['--model', 'memnet', '--data', data, '--out', second, '--init', model, '--lr', '1e-5', '--epochs', '1']), started)).toBe(
      0,
    );
    expect(started.lines.join('\n')).toMatch(
      /weights from .*model\.safetensors \(sha256 [0-9a-f]{16}…\)\nMemN2N LM: 2 hops, memory of 5 words, embedding 6 .*η 0.00001/,
    );
    const [epoch] = readFileSync(join(second, 'epochs.csv'), 'utf8').trim().split('\n').slice(1);
    expect(Number(epoch?.split(',')[1])).toBe(1e-5);
    expect(Number(epoch?.split(',')[3])).toBeCloseTo(firstValid, 0);
    const info = JSON.parse(readFileSync(join(second, 'run.json'), 'utf8'));
    expect(info.init).toEqual({ file: model, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // A run from random weights does not land there.
    const fresh = join(scratch(), 'fresh');
    expect(
      await trainLmCommand(parse(['--model', 'memnet', '--data', data, '--out', fresh, ...sizes, '--seed', '2', '--lr', '1e-5', '--epochs', '1']), io()),
    ).toBe(0);
    const freshValid = Number(readFileSync(join(fresh, 'epochs.csv'), 'utf8').trim().split('\n')[1]?.split(',')[3]);
    expect(Math.abs(freshValid - firstValid)).toBeGreaterThan(10);

    // An LSTM too: its sizes must be the run's (the recipe's and --hidden), and its dropout is the run's.
    const lstm = join(scratch(), 'lstm');
    expect(await trainLmCommand(parse(['--data', data, '--out', lstm, '--hidden', '8', '--epochs', '1', '--threads', '1']), io())).toBe(0);
    const lstmValid = JSON.parse(readFileSync(join(lstm, 'results.json'), 'utf8')).validPerplexity as number;
    const again = join(scratch(), 'again');
    const lstmModel = join(lstm, 'model.safetensors');
    expect(await trainLmCommand(parse(['--data', data, '--out', again, '--hidden', '8', '--epochs', '1', '--init', lstmModel, '--lr', '1e-9']), io())).toBe(0);
    expect(Number(readFileSync(join(again, 'epochs.csv'), 'utf8').trim().split('\n')[1]?.split(',')[3])).toBeCloseTo(lstmValid, 3);
    const randomStart = join(scratch(), 'random');
    expect(await trainLmCommand(parse(['--data', data, '--out', randomStart, '--hidden', '8', '--epochs', '1', '--seed', '2', '--lr', '1e-9']), io())).toBe(0);
    expect(Math.abs(Number(readFileSync(join(randomStart, 'epochs.csv'), 'utf8').trim().split('\n')[1]?.split(',')[3]) - lstmValid)).toBeGreaterThan(0.5);
    await expect(trainLmCommand(parse(['--data', data, '--out', join(scratch(), 'r'), '--hidden', '9', '--init', lstmModel]), io())).rejects.toThrow(
      /--init: .* has embeddingSize 8 where the run has 9/,
    );

    const elsewhere = () => join(scratch(), 'r');
    await expect(trainLmCommand(parse(['--model', 'memnet', '--data', data, '--out', elsewhere(), '--init', model, '--hops', '3']), io())).rejects.toThrow(
      /--init: .* holds a MemN2N LM of 2 hops, memory 5, embedding 6; the run asks for 3, 5, 6/,
    );
    await expect(trainLmCommand(parse(['--data', data, '--out', elsewhere(), '--init', model]), io())).rejects.toThrow(
      /not an Engram language model|engram-lm/,
    );
    await expect(trainLmCommand(parse(['--data', data, '--out', elsewhere(), '--init', join(first, 'nothing')]), io())).rejects.toThrow(
      /--init: no model file at/,
    );
    await expect(trainLmCommand(parse(['--data', data, '--out', elsewhere(), '--init', first]), io())).rejects.toThrow(/: not a file$/);
    await expect(trainLmCommand(parse(['--out', second, '--resume', '--lr', '0.1']), io())).rejects.toThrow(/--resume continues the run as it was/);
    await expect(trainLmCommand(parse(['--model', 'memnet', '--data', data, '--out', elsewhere(), '--lr', '1e-6']), io())).rejects.toThrow(
      /--lr 0.000001 is below 0.00001, where the memory network's training stops/,
    );
    const other = scratch();
    for (const part of ['train', 'valid', 'test']) writeFileSync(join(other, `ptb.${part}.txt`), `${'one two three four five six seven '.repeat(40)}\n`);
    await expect(trainLmCommand(parse(['--model', 'memnet', '--data', other, '--out', elsewhere(), '--init', model]), io())).rejects.toThrow(
      /--init: the words of .* differ from those of/,
    );
  });

  it('trains on a folder of your own text (train.txt names) with --vocabulary, resumes with it, and evaluates other text with <unk>', async () => {
    const data = scratch();
    const line = (i: number) => Array.from({ length: 8 }, (_, j) => `w${(i * 3 + j * 5) % 17}`).join(' ');
    writeFileSync(join(data, 'train.txt'), `${Array.from({ length: 300 }, (_, i) => line(i)).join('\r\n')}\r\n`);
    writeFileSync(join(data, 'valid.txt'), `${line(1)}\n${line(2)}\n`);
    writeFileSync(join(data, 'test.txt'), 'w3 never-seen\n'); // shorter than the memory: no word has 4 before it
    const out = join(scratch(), 'own');
    const base = ['--model', 'memnet', '--data', data, '--out', out, '--hops', '1', '--memory', '4', '--embedding', '4', '--epochs', '1'];
    const first = io();
    expect(await trainLmCommand(parse([...base, '--vocabulary', '10', '--batch', '16', '--max-steps', '2']), first)).toBe(0);
    expect(first.lines.join('\n')).toMatch(/training text 2,700 words \([\d,]+ as <unk>\), validation 18 \(\d+ as <unk>\)/);
    expect(first.lines.join('\n')).toMatch(/; batch 16, SGD/);
    const info = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(info.vocabularySize).toBe(10);
    expect(info.recipe.batch).toBe(16);
    await expect(trainLmCommand(parse(['--out', out, '--resume', '--batch', '8']), io())).rejects.toThrow(/--resume continues the run as it was: .*--batch/);
    await expect(trainLmCommand(parse(['--out', out, '--resume', '--vocabulary', '12']), io())).rejects.toThrow(
      /--resume continues the run as it was: .*--vocabulary/,
    );
    const resumed = io();
    expect(await trainLmCommand(parse(['--out', out, '--resume']), resumed)).toBe(0);
    expect(resumed.lines.join('\n')).toMatch(/finished: test perplexity [\d.]+, no word with a full memory \(the text is shorter than the memory\)/);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).testPerplexityFullMemory).toBeUndefined();
    const evaluated = io();
    expect(await evalLmCommand(parseOptions(EVAL_LM_OPTIONS, ['--run', out]) as Map<string, string>, evaluated)).toBe(0);
    const report = evaluated.lines.join('\n');
    // Ten words kept of 18 (17 + <eos>): the others, never-seen among them, count as <unk>.
    expect(report).toMatch(/[1-3] of the test text's 3 words are not the model's and count as <unk>/);
    expect(report).toMatch(/\| MemN2N LM, 1 hops, memory 4 \| every word after the first \| [\d.]+ \| [\d.]+ \|/);
    expect(report).toMatch(/\| those with 4 words before them \(the paper's test\) \| [\d.]+ \| none \(the text is shorter than the memory\) \|/);
    // --tokenize spaces reads the words as written; ptb lower-cases them first (Penn Treebank's form).
    const word = (await loadTextCorpus(data, { vocabularySize: 10 })).vocabulary.words.find((w) => w.startsWith('w')) as string;
    const complete = async (how: string) => {
      const lines = io();
      const argv = ['--run', out, '--text', `${word} ${word.toUpperCase()}`, '--tokenize', how, '--top', '2'];
      expect(await completeLmCommand(parseOptions(COMPLETE_LM_OPTIONS, argv) as Map<string, string | number>, lines)).toBe(0);
      return lines.lines.join('\n');
    };
    expect(await complete('spaces')).toMatch(/^1 word outside the vocabulary read as <unk>$/m);
    expect(await complete('ptb')).not.toMatch(/outside the vocabulary/);
    for (const [field, value] of [
      ['vocabularySize', 1],
      ['vocabularySize', 'x'],
    ] as const) {
      writeFileSync(join(out, 'run.json'), JSON.stringify({ ...info, [field]: value }));
      await expect(trainLmCommand(parse(['--out', out, '--resume']), io())).rejects.toThrow(/run.json: 'vocabularySize' must be an integer in 2..1000000/);
    }
  });

  it('names a missing data folder, a run folder that is a file, and a run.json that is not JSON', async () => {
    const dir = scratch();
    await expect(trainLmCommand(parse(['--data', join(dir, 'nowhere'), '--out', join(dir, 'r')]), io())).rejects.toThrow(
      /nowhere: no training text \(looked for ptb.train.txt, train.txt, wiki.train.tokens\)/,
    );
    writeFileSync(join(dir, 'file'), 'x');
    await expect(trainLmCommand(parse(['--out', join(dir, 'file')]), io())).rejects.toThrow(/is not a folder/);
    mkdirSync(join(dir, 'bad'));
    writeFileSync(join(dir, 'bad', 'run.json'), '{not json');
    writeFileSync(join(dir, 'bad', 'checkpoint.safetensors'), 'x');
    await expect(trainLmCommand(parse(['--out', join(dir, 'bad'), '--resume']), io())).rejects.toThrow(/run.json: cannot read it as JSON/);
    const recipe = { batch: 128, learningRate: 0.01, decay: 1.5, minLearningRate: 1e-5, maxGradNorm: 50, maxEpochs: 2 };
    const info = { kind: 'lm', model: 'memnet', recipeName: 'paper', recipe, sizes: { hops: 2, memorySize: 5, embeddingSize: 6 }, seed: 1, data: dir };
    for (const init of [{ file: 1, sha256: 'a'.repeat(64) }, { file: 'x', sha256: 'not hex' }, 'x']) {
      writeFileSync(join(dir, 'bad', 'run.json'), JSON.stringify({ ...info, init }));
      await expect(trainLmCommand(parse(['--out', join(dir, 'bad'), '--resume']), io())).rejects.toThrow(/run.json: 'init' must be an object with 'file'/);
    }
    // Numbers that would size an allocation or leave a fraction in the step count are bounded as the options bound them.
    const hostile: [string, Record<string, unknown>, RegExp][] = [
      ['recipe', { batch: 1e9 }, /recipe 'batch' must be an integer in 1..4096/],
      ['recipe', { batch: 1.5 }, /recipe 'batch' must be an integer in 1..4096/],
      ['recipe', { maxEpochs: 1e12 }, /recipe 'maxEpochs' must be an integer in 1..1000/],
      ['recipe', { learningRate: 1e300 }, /recipe 'learningRate' must be a number in 1e-12..100/],
      ['recipe', { decay: 0.5 }, /recipe 'decay' must be a number in 1..1000/],
      ['recipe', { maxGradNorm: Number.POSITIVE_INFINITY }, /recipe 'maxGradNorm' must be a positive number/],
      ['sizes', { hops: 1e9 }, /sizes 'hops' must be an integer in 1..64/],
      ['sizes', { memorySize: 2.5 }, /sizes 'memorySize' must be an integer in 1..100000/],
      ['sizes', { embeddingSize: 1e7 }, /sizes 'embeddingSize' must be an integer in 2..4096/],
      // Each within its bounds, together too large a step.
      ['sizes', { memorySize: 100_000, embeddingSize: 4096 }, /recipe 'batch' × sizes 'memorySize' × 'embeddingSize' is 52,428,800,000 numbers a step/],
    ];
    for (const [part, change, message] of hostile) {
      writeFileSync(join(dir, 'bad', 'run.json'), JSON.stringify({ ...info, [part]: { ...info[part as 'recipe' | 'sizes'], ...change } }));
      await expect(trainLmCommand(parse(['--out', join(dir, 'bad'), '--resume']), io())).rejects.toThrow(message);
    }
    // The same on the command line, for either kind.
    await expect(
      trainLmCommand(parse(['--model', 'memnet', '--data', dir, '--out', join(dir, 'big'), '--memory', '100000', '--batch', '4096']), io()),
    ).rejects.toThrow(/--batch × --memory × --embedding is 61,440,000,000 numbers a step, more than 134,217,728: make one of them smaller/);
    await expect(trainLmCommand(parse(['--data', dir, '--out', join(dir, 'big'), '--batch', '4096', '--hidden', '4096']), io())).rejects.toThrow(
      /--batch × unroll × --hidden × layers is 671,088,640 numbers a step/,
    );
    const lstm = { kind: 'lm', model: 'lstm', recipeName: 'small', recipe: { ...LM_RECIPES.small, unroll: 1e8 }, seed: 1, data: dir };
    writeFileSync(join(dir, 'bad', 'run.json'), JSON.stringify(lstm));
    await expect(trainLmCommand(parse(['--out', join(dir, 'bad'), '--resume']), io())).rejects.toThrow(/recipe 'unroll' must be an integer in 1..1000/);
  });
});

describe('option tables', () => {
  it('parse flags, values and defaults, and name every mistake in one line', () => {
    const v = parse(['--recipe', 'medium', '--seed=7', '--tied']);
    expect([v.get('recipe'), v.get('seed'), v.get('tied'), v.get('checkpoint-every')]).toEqual(['medium', 7, true, 200]);
    const cases: [string[], RegExp][] = [
      [['--recpie', 'small'], /unknown option --recpie \(did you mean --recipe\?\)/],
      [['--seed'], /--seed needs a value/],
      [['--seed', '--tied'], /--seed needs a value/],
      [['--seed', '-3'], /--seed: -3 is out of range/],
      [['--seed', '1.5'], /--seed: expected an integer/],
      [['--dropout', 'x'], /--dropout: expected a number, got 'x'/],
      [['--recipe', 'constructor'], /--recipe: expected one of small, medium/],
      [['--tied=yes'], /--tied takes no value/],
      [['small'], /unexpected argument 'small'/],
      [['--hidden', '99999999'], /--hidden: 99999999 is out of range/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parse(argv)).toThrow(EngramError);
      expect(() => parse(argv)).toThrow(message);
    }
    expect(parseOptions(TRAIN_LM_OPTIONS, ['--seed', '3', '--help'])).toBeNull();
  });

  it('write the usage text from the same table', () => {
    const text = usageText('usage: engram train lm', TRAIN_LM_OPTIONS);
    for (const spec of TRAIN_LM_OPTIONS) expect(text).toContain(`--${spec.name}`);
    expect(text).toContain('small|medium');
    expect(text).toContain('(default 200)');
  });

  it('tokenise text as PTB is written', () => {
    expect(ptbTokens('The  Dow rose 3.5 points\n')).toEqual(['the', 'dow', 'rose', 'N', 'points']);
    expect(ptbTokens('The fund\'s stake rose 3.5%. "Yes," they said; it didn\'t!')).toEqual([
      'the',
      'fund',
      "'s",
      'stake',
      'rose',
      'N',
      '<eos>',
      'yes',
      'they',
      'said',
      'it',
      'did',
      "n't",
      '<eos>',
    ]);
  });
});

describe('learning-curve axes', () => {
  it('tick at round values', async () => {
    const { roundTicks } = await import('./svg.js');
    expect(roundTicks(0, 2464)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(roundTicks(0.5, 3.7)).toEqual([1, 2, 3]);
    expect(roundTicks(0, 12_084_657)).toEqual([0, 5_000_000, 10_000_000]);
  });
});

describe('the progress line of engram train lm', () => {
  const report = { epoch: 2, window: 99, windows: 400, step: 900, epochPerplexity: 150, loss: Math.log(140), learningRate: 0.01, seconds: 600 };
  it('shows a fixed run (the LSTM) as its place in all its epochs and the time left', () => {
    // 100 words a step at 100 words/s: 300 windows left in epoch 3, then 10 epochs of 400.
    const line = progressLine(report, { epochs: 13, epochsAtMost: false, wordsPerStep: 100 }, 100);
    expect(line).toMatch(
      /^\[#{4}\.+\] epoch 3\/13 25\.0% \| step 900 \| 100 words\/s \| perplexity 150\.0 \(this step 140\.0\) \| η 0\.01 \| 10m00s \| ETA 1h11m$/,
    );
  });
  it('shows a capped run (the MemN2N LM) as its place in the epoch, the epoch ETA and the run ETA as an upper bound', () => {
    const line = progressLine(report, { epochs: 100, epochsAtMost: true, wordsPerStep: 100 }, 100);
    expect(line).toMatch(/^\[#{6}\.+\] epoch 3 \(at most 100\) 25\.0% .* \| epoch ends in 5m00s, the run in ≤ 10h51m$/);
  });
});
