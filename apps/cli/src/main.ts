#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ALGORITHMIC_TASKS,
  type AlgorithmicTaskName,
  type DownloadReport,
  answerToken,
  downloadBabi,
  downloadPtb,
  loadBabiTask,
  tokenize,
} from '@engram/datasets';
import type { EmptySlots, SentenceEncoding } from '@engram/memnet';
import { EngramError } from '@engram/tensor';
import { evaluateModel, loadRun } from './evaluate.js';
import { count } from './format.js';
import {
  type MemnetTrainOptions,
  ask,
  babiFolder,
  evaluateTasks,
  isMemnetRun,
  loadMemnetRun,
  parseStory,
  renderAnswer,
  resultsTable,
  runMemnetTraining,
  scheduleFor,
} from './memnet.js';
import {
  COMPLETE_LM_OPTIONS,
  EVAL_LM_OPTIONS,
  TRAIN_LM_OPTIONS,
  TUNE_LM_OPTIONS,
  completeLmCommand,
  evalLmCommand,
  isLmRun,
  trainLmCommand,
  tuneLmCommand,
} from './lm.js';
import { type OptionSpec, type OptionValues, parseOptions, usageText } from './option-table.js';
import { renderSvg, renderTerminal, showSequence } from './show.js';
import { type TrainOptions, runTraining } from './train.js';

const USAGE = `engram — train, evaluate and inspect Neural Turing Machines and End-to-End Memory Networks

usage:
  engram train ntm --task copy [options]    train until fresh sequences are solved
  engram train memnet --task 1 | --joint [memnet options]   MemN2N on bAbI with the paper's recipe
  engram train lm --recipe small|medium [options]   an LSTM language model on Penn Treebank (engram train lm --help)
  engram eval --run DIR [--cache 100,500,2000]   (language model: perplexity alone and with a neural cache)
  engram tune --run DIR --cache N           (language model: the θ × λ grid of the cache on validation)
  engram complete --run DIR --text "..."    (language model: next words with and without the cache)
  engram eval --run DIR [--lengths 1-20,30,50,80,120] [--sequences 1000] [--seed 7]   (NTM)
  engram eval --run DIR [--data DIR]        (MemN2N: test error per bAbI task)
  engram ask --run DIR --story "Mary went to the garden. ..." --question "Where is Mary?"
  engram ask --run DIR --task 1 --example 0 [--data DIR]   a test story, its answer and supporting facts
  engram show --run DIR [--length 20] [--seed 3] [--out FILE.svg]
  engram download babi|ptb [--to DIR] [--url URL]   fetch, verify against pinned SHA-256 sums, unpack

memnet options (defaults: the paper's — 3 hops, adjacent tying, position + temporal encoding, linear start,
random time noise 0.1, memory 50, batch 32, SGD, gradient norm ≤ 40; per task: d = 20, 20 + 100 epochs,
η halved every 25; joint: d = 50, 30 + 60 epochs, η halved every 15):
  --task N | --tasks 1,2,3 | --joint   which bAbI tasks (joint = all 20 in one model)
  --data DIR             folder holding en/ and en-10k/ (default data/babi)
  --10k                  train on the 10k sets
  --out DIR              run folder (default runs/memnet-task<N> or runs/memnet-joint)
  --encoding position|position-paper|bag-of-words   position encoding as the official code computes it
                         (default), as the paper writes it, or none
  --empty-slots attend|mask   empty memory slots take part in the attention (official code, default) or not
  --seed N (1)  --embedding N  --hops N (3)  --epochs N (main phase)  --linear-start N (epochs, 0 = off)
  --lr X  --batch N  --no-time-noise  --validation X (0.1)  --resume
  --clipping per-parameter|global   clip each weight matrix's gradient norm (official code) or all at once

train options (defaults: the paper's model and optimizer — LSTM 100, memory 128 × 20, RMSProp 1e-4 with
momentum 0.9, gradients clipped to ±10, one sequence per step — which solves copy in a few thousand sequences):
  --task copy|repeat-copy|associative-recall|priority-sort
  --out DIR              run folder (default runs/<task>)
  --seed N               every random choice follows it (default 1)
  --batch N              sequences per step (default 1)
  --optimizer rmsprop|adam   (default rmsprop, the paper's, with momentum 0.9)
  --lr X                 learning rate (default 1e-4 for rmsprop, 1e-3 for adam)
  --clip-value X         clip each gradient element (default 10); --clip-norm X (default off)
  --curriculum           start on short sequences and lengthen them as the error falls
  --until BITS           stop below this many error bits per sequence on held-out sequences (default 0.01)
  --stable N             ...on N evaluations in a row (default 3)
  --max-sequences N      stop after N training sequences; --time-limit SECONDS
  --eval-every N         evaluate every N training sequences (default 1000); --eval-size N (default 1000)
  --checkpoint-every N   checkpoint every N training sequences (default 1000)
  --resume               continue from DIR/checkpoint.safetensors exactly where it stopped
  --hidden N (100)  --layers N (1)  --controller lstm|gru|feedforward  --memory NxM (128x20)  --read-heads N  --write-heads N
  --max-length N         longest training sequence for copy-like tasks
`;

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new EngramError(`--${name}: expected a number, got '${value}'`);
  return n;
}

/** A terminal's status line: rewritten in place on a TTY, else printed every few seconds. */
function terminalIO() {
  const tty = process.stdout.isTTY === true;
  let lastPrinted = 0;
  let stop = false;
  let presses = 0;
  process.on('SIGINT', () => {
    stop = true;
    if (++presses > 1) process.exit(130);
  });
  return {
    status: (line: string) => {
      if (tty) process.stdout.write(`\r\x1b[K${line}`);
      else if (performance.now() - lastPrinted > 5000) {
        lastPrinted = performance.now();
        console.log(line);
      }
    },
    log: (line: string) => console.log(tty ? `\r\x1b[K${line}` : line),
    interrupted: () => stop,
  };
}

/** Parses a table-driven command's options, printing its usage for --help (null then). */
function tableCommand(synopsis: string, specs: readonly OptionSpec[], argv: string[]): OptionValues | null {
  const values = parseOptions(specs, argv);
  if (values === null) console.log(usageText(synopsis, specs));
  return values;
}

async function trainLm(argv: string[]): Promise<number> {
  const values = tableCommand(
    'usage: engram train lm [options]   an LSTM language model on Penn Treebank, Zaremba et al. 2014 recipes',
    TRAIN_LM_OPTIONS,
    argv,
  );
  return values === null ? 0 : trainLmCommand(values, terminalIO());
}

async function tune(argv: string[]): Promise<number> {
  const values = tableCommand('usage: engram tune --run DIR [--cache N]   θ × λ grid of the neural cache on the validation text', TUNE_LM_OPTIONS, argv);
  if (values === null) return 0;
  if (!values.has('run')) throw new EngramError('--run is required');
  return tuneLmCommand(values, terminalIO());
}

async function complete(argv: string[]): Promise<number> {
  const values = tableCommand('usage: engram complete --run DIR --text "..."   the next word, with and without the neural cache', COMPLETE_LM_OPTIONS, argv);
  if (values === null) return 0;
  if (!values.has('run')) throw new EngramError('--run is required');
  return completeLmCommand(values, terminalIO());
}

async function train(argv: string[]): Promise<number> {
  const [model, ...rest] = argv;
  if (model === 'memnet') return trainMemnetCommand(rest);
  if (model === 'lm') return trainLm(rest);
  if (model !== 'ntm') throw new EngramError(`engram train: the model must be 'ntm', 'memnet' or 'lm', got '${model ?? ''}'`);
  const { values } = parseArgs({
    args: rest,
    options: {
      task: { type: 'string', default: 'copy' },
      out: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      optimizer: { type: 'string', default: 'rmsprop' },
      lr: { type: 'string' },
      'clip-norm': { type: 'string' },
      'clip-value': { type: 'string' },
      curriculum: { type: 'boolean', default: false },
      until: { type: 'string' },
      stable: { type: 'string' },
      'max-sequences': { type: 'string' },
      'time-limit': { type: 'string' },
      'eval-every': { type: 'string' },
      'eval-size': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean', default: false },
      hidden: { type: 'string' },
      layers: { type: 'string' },
      controller: { type: 'string', default: 'lstm' },
      memory: { type: 'string', default: '128x20' },
      'read-heads': { type: 'string' },
      'write-heads': { type: 'string' },
      'max-length': { type: 'string' },
    },
  });
  const task = values.task as AlgorithmicTaskName;
  if (!(task in ALGORITHMIC_TASKS)) throw new EngramError(`--task: unknown task '${task}' (known: ${Object.keys(ALGORITHMIC_TASKS).join(', ')})`);
  if (values.optimizer !== 'adam' && values.optimizer !== 'rmsprop') throw new EngramError(`--optimizer: expected adam or rmsprop, got '${values.optimizer}'`);
  if (values.controller !== 'lstm' && values.controller !== 'gru' && values.controller !== 'feedforward')
    throw new EngramError(`--controller: expected lstm, gru or feedforward, got '${values.controller}'`);
  const memory = /^(\d+)x(\d+)$/.exec(values.memory ?? '');
  if (!memory) throw new EngramError(`--memory: expected NxM such as 128x20, got '${values.memory}'`);
  const batch = number(values.batch, 'batch', 1);
  const maxLength = values['max-length'] === undefined ? undefined : number(values['max-length'], 'max-length', 20);
  const options: TrainOptions = {
    task,
    out: values.out ?? join('runs', task),
    seed: number(values.seed, 'seed', 1),
    batch,
    optimizer: values.optimizer,
    learningRate: number(values.lr, 'lr', values.optimizer === 'adam' ? 1e-3 : 1e-4),
    clipNorm: number(values['clip-norm'], 'clip-norm', 0),
    clipValue: number(values['clip-value'], 'clip-value', 10),
    curriculum: values.curriculum ?? false,
    until: number(values.until, 'until', 0.01),
    stable: number(values.stable, 'stable', 3),
    maxSequences: number(values['max-sequences'], 'max-sequences', Number.POSITIVE_INFINITY),
    timeLimit: number(values['time-limit'], 'time-limit', Number.POSITIVE_INFINITY),
    evalEvery: Math.max(1, Math.round(number(values['eval-every'], 'eval-every', 1000) / batch)),
    evalSize: number(values['eval-size'], 'eval-size', 1000),
    checkpointEvery: Math.max(1, Math.round(number(values['checkpoint-every'], 'checkpoint-every', 1000) / batch)),
    resume: values.resume ?? false,
    hidden: number(values.hidden, 'hidden', 100),
    layers: number(values.layers, 'layers', 1),
    controller: values.controller,
    memorySlots: Number(memory[1]),
    memoryWidth: Number(memory[2]),
    readHeads: number(values['read-heads'], 'read-heads', 1),
    writeHeads: number(values['write-heads'], 'write-heads', 1),
    taskOptions: maxLength === undefined ? {} : { maxLength },
  };
  let stop = false;
  let presses = 0;
  process.on('SIGINT', () => {
    stop = true;
    if (++presses > 1) process.exit(130);
  });
  const tty = process.stdout.isTTY === true;
  let lastPrinted = 0;
  const outcome = await runTraining(options, {
    status: (line) => {
      if (tty) process.stdout.write(`\r\x1b[K${line}`);
      else if (performance.now() - lastPrinted > 5000) {
        lastPrinted = performance.now();
        console.log(line);
      }
    },
    log: (line) => console.log(tty ? `\r\x1b[K${line}` : line),
    interrupted: () => stop,
  });
  return { solved: 0, budget: 0, interrupted: 130, 'non-finite': 1 }[outcome];
}

async function trainMemnetCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      task: { type: 'string' },
      tasks: { type: 'string' },
      joint: { type: 'boolean', default: false },
      data: { type: 'string', default: 'data/babi' },
      '10k': { type: 'boolean', default: false },
      out: { type: 'string' },
      seed: { type: 'string' },
      embedding: { type: 'string' },
      hops: { type: 'string' },
      encoding: { type: 'string', default: 'position' },
      'empty-slots': { type: 'string', default: 'attend' },
      epochs: { type: 'string' },
      'linear-start': { type: 'string' },
      lr: { type: 'string' },
      batch: { type: 'string' },
      'no-time-noise': { type: 'boolean', default: false },
      clipping: { type: 'string', default: 'per-parameter' },
      validation: { type: 'string' },
      resume: { type: 'boolean', default: false },
    },
  });
  const tasks = values.joint
    ? Array.from({ length: 20 }, (_, i) => i + 1)
    : (values.tasks ?? values.task ?? '1').split(',').map((t) => {
        const n = Number(t);
        if (!Number.isInteger(n) || n < 1 || n > 20) throw new EngramError(`--task: bAbI tasks are 1..20, got '${t}'`);
        return n;
      });
  if (!['position', 'position-paper', 'bag-of-words'].includes(values.encoding ?? ''))
    throw new EngramError(`--encoding: expected position, position-paper or bag-of-words, got '${values.encoding}'`);
  if (values['empty-slots'] !== 'attend' && values['empty-slots'] !== 'mask')
    throw new EngramError(`--empty-slots: expected attend or mask, got '${values['empty-slots']}'`);
  const schedule = scheduleFor(tasks);
  if (values.epochs !== undefined) schedule.epochs = number(values.epochs, 'epochs', schedule.epochs);
  if (values['linear-start'] !== undefined) schedule.linearStartEpochs = number(values['linear-start'], 'linear-start', schedule.linearStartEpochs);
  if (values.lr !== undefined) {
    schedule.learningRate = number(values.lr, 'lr', schedule.learningRate);
    schedule.linearStartLearningRate = schedule.learningRate / 2;
  }
  if (values.batch !== undefined) schedule.batchSize = number(values.batch, 'batch', schedule.batchSize);
  if (values['no-time-noise']) schedule.timeNoise = 0;
  if (values.clipping !== 'per-parameter' && values.clipping !== 'global')
    throw new EngramError(`--clipping: expected per-parameter or global, got '${values.clipping}'`);
  schedule.clipping = values.clipping;
  const options: MemnetTrainOptions = {
    tasks,
    data: values.data ?? 'data/babi',
    tenK: values['10k'] ?? false,
    out: values.out ?? join('runs', `memnet-${tasks.length === 20 ? 'joint' : `task${tasks.join('-')}`}${values['10k'] ? '-10k' : ''}`),
    seed: number(values.seed, 'seed', 1),
    embedding: number(values.embedding, 'embedding', tasks.length > 1 ? 50 : 20),
    hops: number(values.hops, 'hops', 3),
    encoding: values.encoding as SentenceEncoding,
    emptySlots: values['empty-slots'] as EmptySlots,
    schedule,
    validationFraction: number(values.validation, 'validation', 0.1),
    resume: values.resume ?? false,
  };
  let stop = false;
  let presses = 0;
  process.on('SIGINT', () => {
    stop = true;
    if (++presses > 1) process.exit(130);
  });
  const outcome = await runMemnetTraining(options, { status: (line) => console.log(line), log: (line) => console.log(line), interrupted: () => stop });
  return { solved: 0, budget: 0, interrupted: 130, 'non-finite': 1 }[outcome];
}

async function evaluateMemnetRun(run: string, data: string): Promise<number> {
  const { model, vocabulary, tasks, path } = await loadMemnetRun(run);
  const tests = await Promise.all(tasks.map((task) => loadBabiTask(babiFolder(data, false), task, 'test')));
  console.log(`${path}: MemN2N, bAbI test sets of task${tasks.length > 1 ? 's' : ''} ${tasks.join(', ')}`);
  console.log(resultsTable(evaluateTasks(model, vocabulary, tasks, tests)));
  return 0;
}

async function askCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      run: { type: 'string', default: 'runs/memnet-task1' },
      story: { type: 'string' },
      question: { type: 'string' },
      task: { type: 'string' },
      example: { type: 'string' },
      data: { type: 'string', default: 'data/babi' },
    },
  });
  const { model, vocabulary } = await loadMemnetRun(values.run ?? 'runs/memnet-task1');
  if (values.story !== undefined || values.question !== undefined) {
    if (values.story === undefined || values.question === undefined) throw new EngramError('ask: give both --story and --question (or --task and --example)');
    const story = parseStory(values.story);
    const question = tokenize(values.question);
    console.log(renderAnswer(story, question, ask(model, vocabulary, story, question)));
    return 0;
  }
  const task = number(values.task, 'task', 1);
  const examples = await loadBabiTask(babiFolder(values.data ?? 'data/babi', false), task, 'test');
  const index = number(values.example, 'example', 0);
  const example = examples[index];
  if (example === undefined) throw new EngramError(`--example: task ${task}'s test set has examples 0..${examples.length - 1}, got ${index}`);
  console.log(`bAbI task ${task}, test example ${index}`);
  console.log(
    renderAnswer(example.story, example.question, ask(model, vocabulary, example.story, example.question), example.supportingFacts, answerToken(example)),
  );
  return 0;
}

async function download(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { to: { type: 'string' }, url: { type: 'string' } } });
  const onProgress = (message: string) => console.log(message);
  let report: DownloadReport;
  if (what === 'babi') report = await downloadBabi({ to: values.to ?? 'data/babi', url: values.url, onProgress });
  else if (what === 'ptb') report = await downloadPtb({ to: values.to ?? 'data/ptb', url: values.url, onProgress });
  else throw new EngramError(`engram download: expected 'babi' or 'ptb', got '${what ?? ''}'`);
  console.log(`${report.folder}: ${report.written.length} file(s) written, ${report.cached.length} already there, all verified against pinned SHA-256 sums`);
  if (report.missing.length > 0) console.log(`not in the source (optional): ${report.missing.join(', ')}`);
  return 0;
}

async function evaluate(argv: string[]): Promise<number> {
  const runAt = argv.indexOf('--run');
  const runArg = runAt >= 0 ? argv[runAt + 1] : argv.find((a) => a.startsWith('--run='))?.slice(6);
  if (runArg !== undefined && (await isLmRun(runArg))) {
    const values = tableCommand(
      'usage: engram eval --run DIR [--cache 100,500,2000]   language-model perplexity, alone and with a neural cache',
      EVAL_LM_OPTIONS,
      argv,
    );
    return values === null ? 0 : evalLmCommand(values, terminalIO());
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      run: { type: 'string', default: 'runs/copy' },
      data: { type: 'string', default: 'data/babi' },
      lengths: { type: 'string', default: '1-20,30,50,80,120' },
      sequences: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
    },
  });
  if (await isMemnetRun(values.run ?? 'runs/copy')) return evaluateMemnetRun(values.run ?? 'runs/copy', values.data ?? 'data/babi');
  const { model, task, taskOptions, path } = await loadRun(values.run ?? 'runs/copy');
  const lengths = (values.lengths ?? '').split(',').map((entry): number | [number, number] => {
    const range = /^(\d+)-(\d+)$/.exec(entry);
    return range ? [Number(range[1]), Number(range[2])] : number(entry, 'lengths', 20);
  });
  const sequences = number(values.sequences, 'sequences', 1000);
  console.log(`${path}: ${task}, ${count(sequences)} fresh sequences per row (seed ${number(values.seed, 'seed', 7)})`);
  console.log('| setting | error bits per sequence | loss (nats per sequence) |\n|---|---|---|');
  for (const row of evaluateModel(model, task, {
    lengths,
    sequences,
    seed: number(values.seed, 'seed', 7),
    batch: number(values.batch, 'batch', 50),
    taskOptions,
  })) {
    console.log(`| ${row.label} | ${row.errorBits.toFixed(4)} | ${row.loss.toFixed(4)} |`);
  }
  return 0;
}

async function show(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { run: { type: 'string', default: 'runs/copy' }, length: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } },
  });
  const run = values.run ?? 'runs/copy';
  const { model, task, taskOptions } = await loadRun(run);
  const length = values.length === undefined ? undefined : number(values.length, 'length', 20);
  const shown = showSequence(model, task, { length, seed: number(values.seed, 'seed', 3), taskOptions });
  console.log(renderTerminal(shown));
  const out = values.out ?? join(run, 'show.svg');
  writeFileSync(out, renderSvg(shown, `NTM on ${task}${length === undefined ? '' : `, length ${length}`}: ${shown.errorBits} wrong bits`));
  console.log(`figure: ${out}`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'train':
      return train(rest);
    case 'eval':
      return evaluate(rest);
    case 'show':
      return show(rest);
    case 'ask':
      return askCommand(rest);
    case 'tune':
      return tune(rest);
    case 'complete':
      return complete(rest);
    case 'download':
      return download(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      throw new EngramError(`unknown command '${command}'\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof EngramError ? `engram: ${error.message}` : error);
    process.exitCode = 2;
  },
);
