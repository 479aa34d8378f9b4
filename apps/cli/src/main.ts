#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  type AlgorithmicTaskName,
  type DownloadReport,
  answerToken,
  checkTaskOptions,
  downloadBabi,
  downloadPtb,
  loadBabiTask,
  tokenize,
} from '@engram/datasets';
import type { EmptySlots, SentenceEncoding } from '@engram/memnet';
import { EngramError } from '@engram/tensor';
import { ASK_OPTIONS, DOWNLOAD_OPTIONS, EVAL_OPTIONS, SHOW_OPTIONS, TRAIN_DNC_OPTIONS, TRAIN_MEMNET_OPTIONS, TRAIN_NTM_OPTIONS } from './commands.js';
import {
  EVAL_DNC_BABI_OPTIONS,
  SHOW_DNC_BABI_OPTIONS,
  TRAIN_DNC_BABI_OPTIONS,
  evalDncBabiCommand,
  isDncBabiRun,
  showDncBabiCommand,
  trainDncBabiCommand,
} from './dnc-babi.js';
import { evaluateModel, evaluationRows, loadRun } from './evaluate.js';
import { readJsonFile, writeText } from './files.js';
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
  SHOW_LM_OPTIONS,
  TRAIN_LM_OPTIONS,
  TUNE_LM_OPTIONS,
  completeLmCommand,
  evalLmCommand,
  isLmRun,
  showLmCommand,
  trainLmCommand,
  tuneLmCommand,
} from './lm.js';
import { type OptionSpec, type OptionValues, get, given, parseOptions, usageText } from './option-table.js';
import { renderSvg, renderTerminal, showSequence } from './show.js';
import { type TrainOptions, resumedTrainOptions, runTraining } from './train.js';

/** The version of this command (its package's). */
const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

const USAGE = `engram — train, evaluate and inspect Neural Turing Machines, End-to-End Memory Networks and language models

usage:
  engram train ntm --task copy [options]      an NTM on an algorithmic task until fresh sequences are solved
  engram train dnc --task repeat-copy [opts]  a DNC (dynamic allocation, temporal links) on an algorithmic task
  engram train memnet --task 1 | --joint      a MemN2N on bAbI with the official recipe
  engram train lm --recipe small|medium       an LSTM language model on Penn Treebank (Zaremba et al. 2014)
  engram train lm --model memnet              the memory network as a language model (Sukhbaatar et al. 2015 §5)
  engram eval --run DIR                       NTM, DNC: error bits by length; MemN2N: test error per task;
                                              language model: perplexity, with --cache N,N and --knn K
  engram show --run DIR [--length 20]         an NTM's or DNC's heads and memory on one sequence (terminal + SVG);
                                              a MemN2N language model (--text "..."): each hop's attention
  engram ask --run DIR --story "..." --question "..."   a MemN2N's answer and each hop's attention
  engram tune --run DIR --cache N             the neural cache's θ × λ grid on validation
  engram complete --run DIR --text "..."      the next word, with and without the cache (and --knn K); MemN2N: each hop's attention
  engram download babi|ptb [--to DIR]         fetch and verify the data against pinned SHA-256 sums
  engram --version

Every command answers --help with its options and defaults. ENGRAM_DEBUG=1 shows stack traces.
`;

/**
 * A terminal's status line: rewritten in place on a TTY, else printed every few seconds. With
 * `interruptible` (training, which checks `interrupted()` between steps), the first Ctrl-C asks it to
 * stop with a checkpoint and a second one exits; otherwise Ctrl-C ends the command as usual.
 */
function terminalIO(options: { interruptible?: boolean } = {}) {
  const tty = process.stdout.isTTY === true;
  let lastPrinted = 0;
  let stop = false;
  let presses = 0;
  if (options.interruptible)
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
    'usage: engram train lm [options]   a language model on Penn Treebank or your own text: an LSTM (Zaremba et al. 2014 recipes) or the memory network (--model memnet)',
    TRAIN_LM_OPTIONS,
    argv,
  );
  return values === null ? 0 : trainLmCommand(values, terminalIO({ interruptible: true }));
}

async function tune(argv: string[]): Promise<number> {
  const values = tableCommand('usage: engram tune --run DIR [--cache N]   θ × λ grid of the neural cache on the validation text', TUNE_LM_OPTIONS, argv);
  if (values === null) return 0;
  if (!values.has('run')) throw new EngramError('--run is required');
  return tuneLmCommand(values, terminalIO());
}

async function complete(argv: string[]): Promise<number> {
  const values = tableCommand(
    'usage: engram complete --run DIR --text "..."   the next word: with and without the neural cache (LSTM), or with each hop\'s attention (MemN2N)',
    COMPLETE_LM_OPTIONS,
    argv,
  );
  if (values === null) return 0;
  if (!values.has('run')) throw new EngramError('--run is required');
  return completeLmCommand(values, terminalIO());
}

async function train(argv: string[]): Promise<number> {
  const [model, ...rest] = argv;
  if (model === 'memnet') return trainMemnetCommand(rest);
  if (model === 'lm') return trainLm(rest);
  if (model === '--help' || model === '-h' || model === undefined) {
    console.log("usage: engram train ntm|dnc|memnet|lm [options]   (engram train ntm --help, … for each model's options)");
    return model === undefined ? 2 : 0;
  }
  if (model !== 'ntm' && model !== 'dnc') throw new EngramError(`engram train: the model must be 'ntm', 'dnc', 'memnet' or 'lm', got '${model}'`);
  if (model === 'dnc' && rest.some((a, i) => a === '--task=babi' || (a === '--task' && rest[i + 1] === 'babi'))) {
    const values = tableCommand(
      "usage: engram train dnc --task babi [options]   a DNC on the 20 bAbI tasks at once (the paper's model and optimizer)",
      TRAIN_DNC_BABI_OPTIONS,
      rest,
    );
    return values === null ? 0 : trainDncBabiCommand(values, terminalIO({ interruptible: true }));
  }
  const values = tableCommand(
    model === 'ntm'
      ? "usage: engram train ntm [options]   an NTM on an algorithmic task (defaults: the paper's model and optimizer)"
      : "usage: engram train dnc [options]   a DNC on an algorithmic task (defaults: deepmind/dnc's training script)",
    model === 'ntm' ? TRAIN_NTM_OPTIONS : TRAIN_DNC_OPTIONS,
    rest,
  );
  if (values === null) return 0;
  const task = get<AlgorithmicTaskName>(values, 'task') ?? 'copy';
  const optimizer = get<'adam' | 'rmsprop'>(values, 'optimizer') ?? 'rmsprop';
  const memory = /^(\d{1,5})x(\d{1,5})$/.exec(get<string>(values, 'memory') ?? '');
  if (!memory || Number(memory[1]) < 1 || Number(memory[2]) < 1 || Number(memory[1]) > 65536 || Number(memory[2]) > 65536)
    throw new EngramError(`--memory: expected NxM with N and M in 1..65536, such as 128x20, got '${get<string>(values, 'memory')}'`);
  const batch = get<number>(values, 'batch') ?? 1;
  const maxLength = get<number>(values, 'max-length');
  const numberOr = (name: string, fallback: number): number => get<number>(values, name) ?? fallback;
  const options: TrainOptions = {
    model,
    task,
    out: get<string>(values, 'out') ?? join('runs', task),
    seed: numberOr('seed', 1),
    batch,
    threads: numberOr('threads', availableParallelism()),
    optimizer,
    rmsprop: get<'graves' | 'tensorflow'>(values, 'rmsprop') ?? (model === 'ntm' ? 'graves' : 'tensorflow'),
    learningRate: numberOr('lr', optimizer === 'adam' ? 1e-3 : 1e-4),
    clipNorm: numberOr('clip-norm', 0),
    clipValue: numberOr('clip-value', 10),
    curriculum: get<boolean>(values, 'curriculum') === true,
    until: numberOr('until', 0.01),
    stable: numberOr('stable', 3),
    maxSequences: numberOr('max-sequences', Number.POSITIVE_INFINITY),
    timeLimit: numberOr('time-limit', Number.POSITIVE_INFINITY),
    evalEvery: Math.max(1, Math.round(numberOr('eval-every', 1000) / batch)),
    evalSize: numberOr('eval-size', 1000),
    checkpointEvery: Math.max(1, Math.round(numberOr('checkpoint-every', 1000) / batch)),
    resume: get<boolean>(values, 'resume') === true,
    overwrite: get<boolean>(values, 'overwrite') === true,
    defaultOut: !values.has('out'),
    learningRateGiven: values.has('lr'),
    hidden: numberOr('hidden', 100),
    layers: numberOr('layers', 1),
    controller: get<'lstm' | 'gru' | 'feedforward'>(values, 'controller') ?? 'lstm',
    memorySlots: Number(memory[1]),
    memoryWidth: Number(memory[2]),
    readHeads: numberOr('read-heads', 1),
    writeHeads: numberOr('write-heads', 1),
    taskOptions: { ...parseTaskOptions(get<string>(values, 'task-options')), ...(maxLength === undefined ? {} : { maxLength }) },
  };
  const runFile = join(options.out, 'run.json');
  const resumed =
    options.resume && existsSync(runFile) ? resumedTrainOptions(options, await readJsonFile(runFile), (flag) => given(values, flag), runFile) : options;
  const outcome = await runTraining(resumed, terminalIO({ interruptible: true }));
  return { solved: 0, budget: 0, interrupted: 130, 'non-finite': 1 }[outcome];
}

/** `--task-options width=4,maxLength=2`: each key a task option of @engram/datasets, each value in its range. */
function parseTaskOptions(text: string | undefined): Record<string, number | undefined> {
  if (text === undefined) return {};
  const entries = text.split(',').map((pair) => {
    const match = /^([A-Za-z]+)=(\d+)$/.exec(pair.trim());
    if (!match) throw new EngramError(`--task-options: expected KEY=N pairs separated by commas, such as width=4,maxLength=2, got '${pair}'`);
    return [match[1] as string, Number(match[2])] as const;
  });
  return checkTaskOptions(Object.fromEntries(entries), '--task-options');
}

async function trainMemnetCommand(argv: string[]): Promise<number> {
  const values = tableCommand(
    'usage: engram train memnet --task N | --tasks 1,2,3 | --joint [options]   MemN2N on bAbI, the official recipe',
    TRAIN_MEMNET_OPTIONS,
    argv,
  );
  if (values === null) return 0;
  const joint = get<boolean>(values, 'joint') === true;
  const tasks = joint
    ? Array.from({ length: 20 }, (_, i) => i + 1)
    : (get<string>(values, 'tasks') ?? String(get<number>(values, 'task') ?? 1)).split(',').map((t) => {
        const n = Number(t);
        if (!Number.isInteger(n) || n < 1 || n > 20) throw new EngramError(`--tasks: bAbI tasks are 1..20, got '${t}'`);
        return n;
      });
  const schedule = scheduleFor(tasks);
  const given = (name: string): number | undefined => get<number>(values, name);
  schedule.epochs = given('epochs') ?? schedule.epochs;
  schedule.linearStartEpochs = given('linear-start') ?? schedule.linearStartEpochs;
  const lr = given('lr');
  if (lr !== undefined) {
    schedule.learningRate = lr;
    schedule.linearStartLearningRate = lr / 2;
  }
  schedule.batchSize = given('batch') ?? schedule.batchSize;
  if (get<boolean>(values, 'no-time-noise')) schedule.timeNoise = 0;
  schedule.clipping = get<'per-parameter' | 'global'>(values, 'clipping') ?? 'per-parameter';
  const tenK = get<boolean>(values, '10k') === true;
  const options: MemnetTrainOptions = {
    tasks,
    data: get<string>(values, 'data') ?? 'data/babi',
    tenK,
    out: get<string>(values, 'out') ?? join('runs', `memnet-${tasks.length === 20 ? 'joint' : `task${tasks.join('-')}`}${tenK ? '-10k' : ''}`),
    seed: given('seed') ?? 1,
    embedding: given('embedding') ?? (tasks.length > 1 ? 50 : 20),
    hops: given('hops') ?? 3,
    encoding: get<SentenceEncoding>(values, 'encoding') ?? 'position',
    emptySlots: get<EmptySlots>(values, 'empty-slots') ?? 'attend',
    schedule,
    validationFraction: given('validation') ?? 0.1,
    resume: get<boolean>(values, 'resume') === true,
  };
  // One line per epoch: every status line is kept.
  const { interrupted } = terminalIO({ interruptible: true });
  const outcome = await runMemnetTraining(options, { status: (line) => console.log(line), log: (line) => console.log(line), interrupted });
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
  const parsed = tableCommand('usage: engram ask --run DIR --story "..." --question "..." | --task N --example N   a MemN2N answers', ASK_OPTIONS, argv);
  if (parsed === null) return 0;
  const values = {
    run: get<string>(parsed, 'run'),
    story: get<string>(parsed, 'story'),
    question: get<string>(parsed, 'question'),
    data: get<string>(parsed, 'data'),
  };
  const { model, vocabulary } = await loadMemnetRun(values.run ?? 'runs/memnet-task1');
  if (values.story !== undefined || values.question !== undefined) {
    if (values.story === undefined || values.question === undefined) throw new EngramError('ask: give both --story and --question (or --task and --example)');
    const story = parseStory(values.story);
    const question = tokenize(values.question);
    console.log(renderAnswer(story, question, ask(model, vocabulary, story, question)));
    return 0;
  }
  const task = get<number>(parsed, 'task') ?? 1;
  const examples = await loadBabiTask(babiFolder(values.data ?? 'data/babi', false), task, 'test');
  const index = get<number>(parsed, 'example') ?? 0;
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
  const synopsis = 'usage: engram download babi|ptb [--to DIR] [--url URL]   fetch, verify against pinned SHA-256 sums, unpack';
  if (what === '--help' || what === '-h') {
    console.log(usageText(synopsis, DOWNLOAD_OPTIONS));
    return 0;
  }
  const values = tableCommand(synopsis, DOWNLOAD_OPTIONS, rest);
  if (values === null) return 0;
  const onProgress = (message: string) => console.log(message);
  const url = get<string>(values, 'url');
  let report: DownloadReport;
  if (what === 'babi') report = await downloadBabi({ to: get<string>(values, 'to') ?? 'data/babi', url, onProgress });
  else if (what === 'ptb') report = await downloadPtb({ to: get<string>(values, 'to') ?? 'data/ptb', url, onProgress });
  else throw new EngramError(`engram download: expected 'babi' or 'ptb', got '${what ?? ''}'`);
  console.log(`${report.folder}: ${report.written.length} file(s) written, ${report.cached.length} already there, all verified against pinned SHA-256 sums`);
  if (report.missing.length > 0) console.log(`not in the source (optional): ${report.missing.join(', ')}`);
  return 0;
}

/** The `--run` argument before the options are parsed (which table parses them depends on the run's kind). */
function runArgument(argv: readonly string[]): string | undefined {
  const at = argv.indexOf('--run');
  return at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith('--run='))?.slice(6);
}

async function evaluate(argv: string[]): Promise<number> {
  const runArg = runArgument(argv);
  if (runArg !== undefined && (await isLmRun(runArg))) {
    const values = tableCommand(
      'usage: engram eval --run DIR [--cache 100,500,2000]   language-model perplexity, alone and with a neural cache',
      EVAL_LM_OPTIONS,
      argv,
    );
    return values === null ? 0 : evalLmCommand(values, terminalIO());
  }
  if (runArg !== undefined && (await isDncBabiRun(runArg))) {
    const values = tableCommand('usage: engram eval --run DIR [--stories N]   a DNC-on-bAbI run: test error per task', EVAL_DNC_BABI_OPTIONS, argv);
    return values === null ? 0 : evalDncBabiCommand(values, terminalIO());
  }
  const parsed = tableCommand(
    "usage: engram eval --run DIR [options]   an NTM's error bits by length, or a MemN2N's test error per task\n" +
      '(a language-model run, with --cache and --knn, and a DNC-on-bAbI run have options of their own: engram eval --run DIR --help)',
    EVAL_OPTIONS,
    argv,
  );
  if (parsed === null) return 0;
  const values = { run: get<string>(parsed, 'run'), data: get<string>(parsed, 'data'), lengths: get<string>(parsed, 'lengths') };
  if (await isMemnetRun(values.run ?? 'runs/copy')) return evaluateMemnetRun(values.run ?? 'runs/copy', values.data ?? 'data/babi');
  const { model, task, taskOptions, path } = await loadRun(values.run ?? 'runs/copy');
  const { lengths, repeats } = evaluationRows(task, path, {
    lengths: given(parsed, 'lengths') ? values.lengths : undefined,
    repeats: get<string>(parsed, 'repeats'),
    defaultLengths: values.lengths ?? '',
  });
  const sequences = get<number>(parsed, 'sequences') ?? 1000;
  const seed = get<number>(parsed, 'seed') ?? 7;
  console.log(`${path}: ${task}, ${count(sequences)} fresh sequences per row (seed ${seed})`);
  const progress = terminalIO();
  console.log('| setting | error bits per sequence | loss (nats per sequence) |\n|---|---|---|');
  for (const row of evaluateModel(model, task, {
    lengths,
    repeats,
    sequences,
    seed,
    batch: get<number>(parsed, 'batch') ?? 50,
    taskOptions,
    onProgress: (label, done, total) => progress.status(`evaluating ${label}: ${done} of ${total} sequences`),
  })) {
    progress.log(`| ${row.label} | ${row.errorBits.toFixed(4)} | ${row.loss.toFixed(4)} |`);
  }
  return 0;
}

/** Parses a figure command's options, runs it and writes its SVG (`engram show` on a language-model or DNC-on-bAbI run). */
async function figureCommand(
  synopsis: string,
  specs: readonly OptionSpec[],
  argv: string[],
  draw: (values: OptionValues) => Promise<{ out: string; svg: string; code?: number }>,
): Promise<number> {
  const values = tableCommand(synopsis, specs, argv);
  if (values === null) return 0;
  const shown = await draw(values);
  await writeText(shown.out, shown.svg);
  console.log(`figure: ${shown.out}`);
  return shown.code ?? 0;
}

async function show(argv: string[]): Promise<number> {
  const runArg = runArgument(argv);
  if (runArg !== undefined && (await isLmRun(runArg)))
    return figureCommand(
      'usage: engram show --run DIR --text "..." [--out FILE.svg]   a memory-network language model: each hop\'s attention over the words before the next (terminal + SVG)',
      SHOW_LM_OPTIONS,
      argv,
      (values) => showLmCommand(values, terminalIO()),
    );
  if (runArg !== undefined && (await isDncBabiRun(runArg)))
    return figureCommand(
      'usage: engram show --run DIR [--task N] [--example K]   a DNC-on-bAbI run on one test story, word by word',
      SHOW_DNC_BABI_OPTIONS,
      argv,
      (values) => showDncBabiCommand(values, terminalIO()),
    );
  const parsed = tableCommand(
    "usage: engram show --run DIR [--length N] [--seed N] [--out FILE.svg]   an NTM's or a DNC's heads and memory on one sequence",
    SHOW_OPTIONS,
    argv,
  );
  if (parsed === null) return 0;
  const values = { run: get<string>(parsed, 'run'), out: get<string>(parsed, 'out') };
  const run = values.run ?? 'runs/copy';
  const loaded = await loadRun(run);
  const { task, taskOptions } = loaded;
  const length = get<number>(parsed, 'length');
  const shown = showSequence(loaded, task, { length, seed: get<number>(parsed, 'seed') ?? 3, taskOptions });
  console.log(renderTerminal(shown));
  const out = values.out ?? (run.endsWith('.safetensors') ? `${run.slice(0, -'.safetensors'.length)}.show.svg` : join(run, 'show.svg'));
  await writeText(
    out,
    renderSvg(shown, `${loaded.dnc ? 'DNC' : 'NTM'} on ${task}${length === undefined ? '' : `, length ${length}`}: ${shown.errorBits} wrong bits`),
  );
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
    case '--version':
    case '-v':
      console.log(VERSION);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new EngramError(`unknown command '${command}'\n\n${USAGE}`);
  }
}

/** The message of an error, on one line (a file system error says which file and why). */
function oneLine(error: unknown): string {
  if (error instanceof Error) {
    const hint = isUserError(error) ? '' : ' (an internal error: ENGRAM_DEBUG=1 shows where)';
    return `${error.message.split('\n')[0]}${hint}`;
  }
  return String(error);
}

/** The user's mistake (a bad flag, value or file) rather than a bug: these exit with 2. */
function isUserError(error: unknown): boolean {
  if (error instanceof EngramError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(E(NOENT|ACCES|ISDIR|NOTDIR|EXIST|PERM|ROFS|NOSPC|LOOP|NAMETOOLONG)|ERR_PARSE_ARGS_)/.test(code);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (process.env.ENGRAM_DEBUG === '1') console.error(error);
    else console.error(`engram: ${oneLine(error)}`);
    process.exitCode = isUserError(error) ? 2 : 1;
  },
);
