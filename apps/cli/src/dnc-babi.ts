/**
 * `engram train dnc --task babi` and `engram eval` of such a run: the DNC on bAbI (Graves et al. 2016), one model
 * on every task at once. The training loop is @engram/dnc's `trainDncBabi`; this module reads and writes the run
 * folder and prints.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { BABI_TASKS, type BabiExample, Vocabulary, loadBabiTask } from '@engram/datasets';
import {
  DNC_BABI_RECIPE,
  DNC_BABI_SIZES,
  type DncBabiEvaluation,
  type DncModel,
  babiProgress,
  babiVocabulary,
  createDnc,
  defaultDncConfig,
  dncRecurrent,
  encodeBabiTasks,
  evaluateDncBabi,
  inspectDnc,
  loadDnc,
  loadDncCheckpoint,
  saveDnc,
  saveDncCheckpoint,
  trainDncBabi,
} from '@engram/dnc';
import { createDncBabiWorkers } from '@engram/dnc/workers';
import { type NtmTrainingSnapshot, ntmOptimizer } from '@engram/ntm';
import { EngramError, Random, countParameters, getDefaultBackend } from '@engram/tensor';
import { appendText, keepCsvRows, readJsonFile, removeLeftoverTemporaries, writeText } from './files.js';
import { bar, count, formatDuration } from './format.js';
import { type OptionSpec, type OptionValues, get, given } from './option-table.js';
import { prepareRunFolder } from './run-folder.js';
import { document, heatmap } from './svg.js';

/** `engram train dnc --task babi`: defaults are the paper's model and optimizer. */
export const TRAIN_DNC_BABI_OPTIONS: readonly OptionSpec[] = [
  { name: 'task', type: 'choice', choices: ['babi'], help: 'babi: the 20 bAbI tasks, one model on all of them (Graves et al. 2016)' },
  {
    name: 'data',
    type: 'string',
    value: 'DIR',
    default: 'data/babi/en-10k',
    help: 'the bAbI folder with qaN_*_train.txt and _test.txt (engram download babi)',
  },
  { name: 'tasks', type: 'string', value: 'N,N', help: 'the tasks to train on (default: every task whose training file is there)' },
  { name: 'out', type: 'string', value: 'DIR', help: 'run folder (default runs/dnc-babi)' },
  { name: 'seed', type: 'integer', value: 'N', default: 1, min: 0, max: 2 ** 31 - 1, help: 'weights and the order of the stories follow it' },
  { name: 'batch', type: 'integer', value: 'N', default: 1, min: 1, max: 256, help: 'stories per step (the paper: 1)' },
  { name: 'threads', type: 'integer', value: 'N', min: 1, max: 64, help: 'threads that share each batch (default: every core; at most --batch)' },
  { name: 'lr', type: 'number', value: 'X', default: 1e-4, min: 1e-12, max: 10, help: 'RMSProp learning rate (momentum 0.9)' },
  { name: 'clip-norm', type: 'number', value: 'X', default: 50, min: 0, max: 1e9, help: 'clip the global gradient norm (0: off)' },
  { name: 'hidden', type: 'integer', value: 'N', default: 256, min: 1, max: 4096, help: 'LSTM controller units' },
  { name: 'memory', type: 'string', value: 'NxM', default: '256x64', help: 'memory slots × width' },
  { name: 'read-heads', type: 'integer', value: 'N', default: 4, min: 1, max: 64, help: 'read heads' },
  { name: 'validation', type: 'integer', value: 'N', default: 20, min: 1, max: 10_000, help: 'stories per task held out of training and evaluated' },
  { name: 'eval-every', type: 'integer', value: 'N', default: 2000, min: 1, max: 1e9, help: 'evaluate the held-out stories every N steps' },
  { name: 'checkpoint-every', type: 'integer', value: 'N', default: 200, min: 1, max: 1e9, help: 'checkpoint every N steps (and on Ctrl-C)' },
  { name: 'max-steps', type: 'integer', value: 'N', min: 1, max: 1e12, help: 'stop (with a checkpoint and a model) after N steps in all' },
  { name: 'time-limit', type: 'number', value: 'SECONDS', min: 1, max: 1e9, help: 'stop after this much training time in all' },
  { name: 'resume', type: 'flag', help: 'continue DIR/checkpoint.safetensors exactly where it stopped' },
  { name: 'overwrite', type: 'flag', help: 'start afresh in a run folder that already holds a checkpoint' },
];

/** What run.json records for a DNC-on-bAbI run. */
interface BabiRunInfo {
  kind: 'dnc-babi';
  data: string;
  tasks: number[];
  seed: number;
  batch: number;
  threads: number;
  learningRate: number;
  clipNorm: number;
  validation: number;
  evalEvery: number;
  checkpointEvery: number;
  sizes: { hidden: number; memorySlots: number; memoryWidth: number; readHeads: number };
  /** The vocabulary, index order (index 0 is padding). */
  words: string[];
  started: string;
}

/** Where output goes (a terminal or a test's buffer). */
export interface DncBabiIO {
  /** A status line, rewritten in place on a terminal. */
  status(line: string): void;
  /** A permanent line. */
  log(line: string): void;
  /** True once the user asked to stop (Ctrl-C). */
  interrupted(): boolean;
}

const CURVE_HEADER = 'step,stories,epoch,seconds,loss,wrong,questions,gradient_norm\n';
const EVALS_HEADER = 'step,training_seconds,error,mean_task_error,failed,per_task\n';

/** The tasks of `--tasks` (or every task with a training file), each checked. */
function chooseTasks(values: OptionValues, data: string, notes: string[]): number[] {
  const text = get<string>(values, 'tasks');
  if (text !== undefined) {
    const tasks = text.split(',').map((t) => {
      const n = Number(t.trim());
      if (!Number.isInteger(n) || n < 1 || n > 20) throw new EngramError(`--tasks: bAbI tasks are 1..20, got '${t}'`);
      return n;
    });
    return [...new Set(tasks)].sort((a, b) => a - b);
  }
  const present = BABI_TASKS.flatMap((stem, i) => (existsSync(join(data, `${stem}_train.txt`)) ? [i + 1] : []));
  const missing = BABI_TASKS.flatMap((stem, i) => (present.includes(i + 1) ? [] : [`${i + 1} (${stem}_train.txt)`]));
  if (present.length === 0) throw new EngramError(`--data: no bAbI training file in ${data} (engram download babi)`);
  if (missing.length > 0) notes.push(`tasks without a training file in ${data}, left out: ${missing.join(', ')}`);
  return present;
}

/** Each task's training and test examples. */
async function loadTasks(data: string, tasks: number[]): Promise<{ train: Map<number, BabiExample[]>; test: Map<number, BabiExample[]> }> {
  const train = new Map<number, BabiExample[]>();
  const test = new Map<number, BabiExample[]>();
  for (const task of tasks) {
    train.set(task, await loadBabiTask(data, task, 'train'));
    test.set(task, await loadBabiTask(data, task, 'test'));
  }
  return { train, test };
}

function modelFor(info: BabiRunInfo): DncModel {
  const size = info.words.length;
  const config = defaultDncConfig(size, size, {
    ...DNC_BABI_SIZES,
    controller: { kind: 'lstm', hiddenSize: info.sizes.hidden, layers: 1 },
    memorySlots: info.sizes.memorySlots,
    memoryWidth: info.sizes.memoryWidth,
    readHeads: info.sizes.readHeads,
  });
  return createDnc(config, new Random(info.seed));
}

async function readRunInfo(out: string): Promise<BabiRunInfo> {
  const path = join(out, 'run.json');
  const info = await readJsonFile(path);
  const i = info as Partial<BabiRunInfo>;
  if (typeof info !== 'object' || info === null || i.kind !== 'dnc-babi') throw new EngramError(`${path}: not a DNC-on-bAbI run`);
  const positive = (name: string, value: unknown, max: number) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max)
      throw new EngramError(`${path}: '${name}' must be a number in (0, ${max}]`);
  };
  if (typeof i.seed !== 'number' || !Number.isInteger(i.seed) || i.seed < 0 || i.seed > 2 ** 31 - 1)
    throw new EngramError(`${path}: 'seed' must be an integer in 0..2147483647`);
  for (const name of ['batch', 'threads', 'learningRate', 'validation', 'evalEvery', 'checkpointEvery'] as const) positive(name, i[name], 1e12);
  if (typeof i.clipNorm !== 'number' || !(i.clipNorm >= 0)) throw new EngramError(`${path}: 'clipNorm' must be a number ≥ 0`);
  if (typeof i.data !== 'string') throw new EngramError(`${path}: 'data' must be a string`);
  if (!Array.isArray(i.tasks) || i.tasks.length === 0 || !i.tasks.every((t) => Number.isInteger(t) && t >= 1 && t <= 20))
    throw new EngramError(`${path}: 'tasks' must be bAbI task numbers 1..20`);
  const s = i.sizes as Record<string, unknown> | undefined;
  for (const name of ['hidden', 'memorySlots', 'memoryWidth', 'readHeads']) positive(`sizes.${name}`, s?.[name], 65536);
  if (
    !Array.isArray(i.words) ||
    i.words.length < 2 ||
    i.words.length > 100_000 ||
    i.words[0] !== Vocabulary.PAD ||
    !i.words.every((w) => typeof w === 'string')
  )
    throw new EngramError(`${path}: 'words' must be the vocabulary, '${Vocabulary.PAD}' first`);
  Vocabulary.fromWords(i.words);
  return info as BabiRunInfo;
}

/** `engram train dnc --task babi`. Returns the exit code. */
export async function trainDncBabiCommand(values: OptionValues, io: DncBabiIO): Promise<number> {
  const out = get<string>(values, 'out') ?? join('runs', 'dnc-babi');
  const resume = get<boolean>(values, 'resume') === true;
  const checkpointPath = join(out, 'checkpoint.safetensors');
  const fixed = ['data', 'tasks', 'seed', 'batch', 'hidden', 'memory', 'read-heads', 'validation'];
  if (resume && fixed.some((name) => given(values, name)))
    throw new EngramError(`--resume continues the run as it was: ${fixed.map((n) => `--${n}`).join(', ')} come from the run and cannot be given`);
  if (!resume && existsSync(checkpointPath) && get<boolean>(values, 'overwrite') !== true)
    throw new EngramError(`${out} already holds a run (checkpoint.safetensors): add --resume to continue it or --overwrite to start afresh`);
  const notes: string[] = [];
  let info: BabiRunInfo;
  let model: DncModel;
  let snapshot: NtmTrainingSnapshot | undefined;
  let loaded: { train: Map<number, BabiExample[]>; test: Map<number, BabiExample[]> };
  if (resume) {
    if (!existsSync(checkpointPath)) throw new EngramError(`--resume: no checkpoint at ${checkpointPath}`);
    removeLeftoverTemporaries(out);
    info = await readRunInfo(out);
    for (const [name, key] of [
      ['threads', 'threads'],
      ['lr', 'learningRate'],
      ['clip-norm', 'clipNorm'],
      ['eval-every', 'evalEvery'],
      ['checkpoint-every', 'checkpointEvery'],
    ] as const) {
      // Only a value given on this command line (not a table default) replaces the run's.
      const value = given(values, name) ? get<number>(values, name) : undefined;
      if (value !== undefined && value !== info[key]) {
        notes.push(`--${name} ${value} instead of ${info[key]}`);
        info = { ...info, [key]: value };
      }
    }
    loaded = await loadTasks(info.data, info.tasks);
    const checkpoint = await loadDncCheckpoint(checkpointPath);
    model = checkpoint.model;
    if (model.config.inputSize !== info.words.length)
      throw new EngramError(`${checkpointPath}: the model reads ${model.config.inputSize} words; run.json has ${info.words.length}`);
    babiProgress(checkpoint.training, checkpointPath);
    const optimizer = ntmOptimizer(dncRecurrent(model), { ...DNC_BABI_RECIPE, learningRate: info.learningRate });
    optimizer.loadState(checkpoint.optimizerState);
    snapshot = { training: checkpoint.training, optimizer };
    await writeText(join(out, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
  } else {
    const data = get<string>(values, 'data') ?? 'data/babi/en-10k';
    const tasks = chooseTasks(values, data, notes);
    loaded = await loadTasks(data, tasks);
    const vocabulary = babiVocabulary([...loaded.train.values(), ...loaded.test.values()].flat());
    const memory = /^(\d{1,5})x(\d{1,5})$/.exec(get<string>(values, 'memory') ?? '');
    if (!memory) throw new EngramError(`--memory: expected NxM such as 256x64, got '${get<string>(values, 'memory')}'`);
    info = {
      kind: 'dnc-babi',
      data,
      tasks,
      seed: get<number>(values, 'seed') ?? 1,
      batch: get<number>(values, 'batch') ?? 1,
      threads: get<number>(values, 'threads') ?? availableParallelism(),
      learningRate: get<number>(values, 'lr') ?? DNC_BABI_RECIPE.learningRate,
      clipNorm: get<number>(values, 'clip-norm') ?? DNC_BABI_RECIPE.clipNorm,
      validation: get<number>(values, 'validation') ?? 20,
      evalEvery: get<number>(values, 'eval-every') ?? 2000,
      checkpointEvery: get<number>(values, 'checkpoint-every') ?? 200,
      sizes: {
        hidden: get<number>(values, 'hidden') ?? 256,
        memorySlots: Number(memory[1]),
        memoryWidth: Number(memory[2]),
        readHeads: get<number>(values, 'read-heads') ?? 4,
      },
      words: vocabulary.words,
      started: new Date().toISOString(),
    };
    model = modelFor(info);
    prepareRunFolder(out, '--out', !values.has('out'));
    await writeText(join(out, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
    await writeText(join(out, 'curve.csv'), CURVE_HEADER);
    await writeText(join(out, 'evals.csv'), EVALS_HEADER);
  }
  const vocabulary = Vocabulary.fromWords(info.words);
  // The last `validation` stories of each task are held out of training.
  const train = [];
  const validation = [];
  for (const task of info.tasks) {
    const stories = encodeBabiTasks(new Map([[task, loaded.train.get(task) ?? []]]), vocabulary);
    const held = Math.min(info.validation, Math.max(0, stories.length - 1));
    train.push(...stories.slice(0, stories.length - held));
    validation.push(...stories.slice(stories.length - held));
  }
  const recipe = { ...DNC_BABI_RECIPE, batch: info.batch, learningRate: info.learningRate, clipNorm: info.clipNorm };
  const threads = Math.min(info.threads, info.batch);
  const at = snapshot?.training;
  if (at) {
    const progress = babiProgress(at);
    // Rows logged after the checkpoint are dropped: the resumed run recomputes them exactly.
    await keepCsvRows(join(out, 'curve.csv'), CURVE_HEADER, (f) => Number(f[0]) <= at.step);
    await keepCsvRows(join(out, 'evals.csv'), EVALS_HEADER, (f) => Number(f[0]) <= at.step);
    io.log(
      `resumed ${checkpointPath} at step ${count(at.step)}, epoch ${progress.epoch + 1} at story ${count(progress.position)}${notes.length ? `; ${notes.join('; ')}` : ''}`,
    );
  } else if (notes.length > 0) io.log(notes.join('; '));
  const c = model.config;
  io.log(
    `DNC on bAbI tasks ${info.tasks.join(',')}: lstm ${c.controller.hiddenSize}, memory ${c.memorySlots} × ${c.memoryWidth}, ${c.readHeads} read / ${c.writeHeads} write heads, vocabulary ${vocabulary.size}, ${count(countParameters(model.params))} parameters; ` +
      `rmsprop lr ${info.learningRate} momentum 0.9, gradient norm ≤ ${info.clipNorm}, batch ${info.batch}; backend ${getDefaultBackend().description}; ${threads} thread${threads > 1 ? 's' : ''}`,
  );
  io.log(
    `${count(train.length)} training stories (${count(train.reduce((n, s) => n + s.inputs.length, 0))} words a pass), ${count(validation.length)} held out; Ctrl-C saves a checkpoint`,
  );

  const started = performance.now();
  const storiesAtStart = at?.sequences ?? 0;
  let lastValidation: DncBabiEvaluation | undefined;
  let recent: [number, number][] = [];
  let lastStep = at?.step ?? 0;
  let trainedSeconds = at?.seconds ?? 0;
  const workers = threads > 1 ? await createDncBabiWorkers(model, threads, info.batch) : undefined;
  const outcome = await trainDncBabi(model, train, {
    recipe,
    seed: info.seed,
    ...(snapshot ? { resume: snapshot } : {}),
    ...(workers ? { gradients: workers } : {}),
    validation,
    evalEvery: info.evalEvery,
    checkpointEvery: info.checkpointEvery,
    ...(values.has('max-steps') ? { maxSteps: get<number>(values, 'max-steps') as number } : {}),
    ...(values.has('time-limit') ? { timeLimit: get<number>(values, 'time-limit') as number } : {}),
    shouldStop: io.interrupted,
    onCheckpoint: (s) => saveDncCheckpoint(checkpointPath, model, s.optimizer, s.training),
    onEvaluate: async (e) => {
      lastValidation = e;
      const perTask = e.perTask.map((t) => `${t.task}:${t.error.toFixed(4)}`).join(' ');
      await appendText(
        join(out, 'evals.csv'),
        `${e.step},${trainedSeconds.toFixed(1)},${e.error.toFixed(5)},${e.meanTaskError.toFixed(5)},${e.failed},${perTask}\n`,
      );
      io.log(
        `step ${count(e.step)}: held-out error ${(e.error * 100).toFixed(2)}% (mean over tasks ${(e.meanTaskError * 100).toFixed(2)}%, ${e.failed} above 5%)`,
      );
    },
    onStep: async (r) => {
      lastStep = r.step;
      trainedSeconds = r.seconds;
      await appendText(
        join(out, 'curve.csv'),
        `${r.step},${r.stories},${r.progress.epoch},${r.seconds.toFixed(2)},${r.loss.toFixed(5)},${r.wrong},${r.questions},${r.gradientNorm.toFixed(4)}\n`,
      );
      recent.push([r.wrong, r.questions]);
      if (recent.length > 200) recent = recent.slice(-200);
      const wrong =
        recent.reduce((n, x) => n + x[0], 0) /
        Math.max(
          1,
          recent.reduce((n, x) => n + x[1], 0),
        );
      const rate = (r.stories - storiesAtStart) / Math.max(1e-9, (performance.now() - started) / 1000);
      const fraction = r.progress.position / r.epochSize;
      io.status(
        `${bar(fraction)} epoch ${r.progress.epoch + 1} ${(fraction * 100).toFixed(1)}% | step ${count(r.step)} | ${rate.toFixed(2)} stories/s | loss ${r.loss.toFixed(3)} | ` +
          `wrong ${(wrong * 100).toFixed(1)}% (last 200 steps)${lastValidation ? ` | held-out ${(lastValidation.error * 100).toFixed(1)}%` : ''} | ${formatDuration(r.seconds)} | epoch ETA ${formatDuration((r.epochSize - r.progress.position) / Math.max(rate, 1e-9))}`,
      );
    },
  }).finally(() => workers?.close());
  const metadata = { babiTasks: info.tasks.join(','), babiWords: JSON.stringify(info.words), step: String(lastStep) };
  if (outcome.kind === 'non-finite') {
    io.log(`\n${outcome.message}. The last good checkpoint is kept at ${checkpointPath}.`);
    return 1;
  }
  if (outcome.kind === 'interrupted') {
    io.log(`\nstopped at step ${count(outcome.step)}: checkpoint saved; continue with: engram train dnc --task babi --out ${out} --resume`);
    return io.interrupted() ? 130 : 0;
  }
  await saveDnc(join(out, 'model.safetensors'), model, metadata);
  io.log(
    `\n${outcome.kind === 'finished' ? 'finished' : 'stopped at the budget'}: step ${count(outcome.step)}; model in ${join(out, 'model.safetensors')}; test error per task: engram eval --run ${out}`,
  );
  return 0;
}

/** A DNC-on-bAbI run's settings and its model: model.safetensors when training ended, else the last checkpoint. */
async function loadBabiRun(out: string): Promise<{ info: BabiRunInfo; model: DncModel; file: string }> {
  const info = await readRunInfo(out);
  const file = [join(out, 'model.safetensors'), join(out, 'checkpoint.safetensors')].find((f) => existsSync(f));
  if (file === undefined) throw new EngramError(`${out}: no model.safetensors or checkpoint.safetensors (has the run saved a checkpoint yet?)`);
  const { model } = file.endsWith('model.safetensors') ? await loadDnc(file) : await loadDncCheckpoint(file);
  if (model.config.inputSize !== info.words.length)
    throw new EngramError(`${file}: the model reads ${model.config.inputSize} words; run.json has ${info.words.length}`);
  return { info, model, file };
}

/** `engram eval --run DIR` of a DNC-on-bAbI run: test error per task. */
export const EVAL_DNC_BABI_OPTIONS: readonly OptionSpec[] = [
  { name: 'run', type: 'string', value: 'DIR', help: 'the run folder' },
  { name: 'data', type: 'string', value: 'DIR', help: "the bAbI folder (default: the run's)" },
  { name: 'stories', type: 'integer', value: 'N', min: 1, max: 1e6, help: 'test stories per task (default: all)' },
];

/** True when `dir` is a DNC-on-bAbI run folder. */
export async function isDncBabiRun(dir: string): Promise<boolean> {
  try {
    return (JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as { kind?: unknown }).kind === 'dnc-babi';
  } catch {
    return false;
  }
}

/** `engram eval --run DIR` for a DNC-on-bAbI run: prints the test error per task. Returns the exit code. */
export async function evalDncBabiCommand(values: OptionValues, io: DncBabiIO): Promise<number> {
  const out = get<string>(values, 'run') as string;
  const { info, model, file } = await loadBabiRun(out);
  const vocabulary = Vocabulary.fromWords(info.words);
  const data = get<string>(values, 'data') ?? info.data;
  const limit = get<number>(values, 'stories');
  io.log(`${file}: test error per task (${limit === undefined ? 'every test story' : `the first ${count(limit)} test stories of each task`})`);
  io.log('| task | test error | questions |\n|---|---|---|');
  const all: DncBabiEvaluation['perTask'] = [];
  for (const task of info.tasks) {
    const stories = encodeBabiTasks(new Map([[task, await loadBabiTask(data, task, 'test')]]), vocabulary).slice(0, limit);
    io.status(`task ${task}: ${stories.length} stories`);
    const e = evaluateDncBabi(model, stories);
    const row = e.perTask[0];
    if (row === undefined) continue;
    all.push(row);
    io.log(`| ${task} | ${(row.error * 100).toFixed(1)}% | ${row.questions} |`);
  }
  const mean = all.reduce((s, t) => s + t.error, 0) / Math.max(1, all.length);
  io.log(
    `mean ${(mean * 100).toFixed(2)}%, ${all.filter((t) => t.error > 0.05).length} failed (> 5%) of ${all.length} tasks (the paper's best run: 3.8%, 2 failed)`,
  );
  return 0;
}

/** `engram show --run DIR` of a DNC-on-bAbI run: one test story, word by word. */
export const SHOW_DNC_BABI_OPTIONS: readonly OptionSpec[] = [
  { name: 'run', type: 'string', value: 'DIR', help: 'the run folder' },
  { name: 'task', type: 'integer', value: 'N', min: 1, max: 20, help: "the bAbI task (default: the run's first)" },
  { name: 'example', type: 'integer', value: 'K', default: 0, min: 0, max: 1e6, help: 'which test story of the task (0 = the first)' },
  { name: 'data', type: 'string', value: 'DIR', help: "the bAbI folder (default: the run's)" },
  { name: 'out', type: 'string', value: 'FILE.svg', help: 'the figure (default DIR/show.svg)' },
];

const argmax = (values: readonly number[]): number => values.reduce((best, v, i) => (v > (values[best] as number) ? i : best), 0);

/**
 * `engram show --run DIR` for a DNC-on-bAbI run: a test story read word by word, with the answer at each '-' step
 * (right or wrong), where the write head wrote (and whether by allocation), and what each read head read and how
 * (backward, forward or by content); an SVG of the write and read weightings, usage and read modes over the words.
 * Returns the exit code.
 */
export async function showDncBabiCommand(values: OptionValues, io: DncBabiIO): Promise<{ code: number; svg: string; out: string }> {
  const out = get<string>(values, 'run') as string;
  const { info, model, file } = await loadBabiRun(out);
  const vocabulary = Vocabulary.fromWords(info.words);
  const task = get<number>(values, 'task') ?? (info.tasks[0] as number);
  if (!info.tasks.includes(task)) throw new EngramError(`--task: the run was trained on tasks ${info.tasks.join(',')}, not ${task}`);
  const stories = encodeBabiTasks(new Map([[task, await loadBabiTask(get<string>(values, 'data') ?? info.data, task, 'test')]]), vocabulary);
  const k = get<number>(values, 'example') ?? 0;
  const story = stories[k];
  if (story === undefined) throw new EngramError(`--example: task ${task} has ${stories.length} test stories (0..${stories.length - 1}), not ${k}`);
  const width = vocabulary.size;
  const rows = Array.from(story.inputs, (id) => Array.from({ length: width }, (_, i) => (i === id ? 1 : 0)));
  const inspection = inspectDnc(model, rows);
  io.log(`${file}: task ${task}, test story ${k} (${story.inputs.length} words), step by step`);
  io.log('| word | answer | write (slot, gate, allocation) | reads (slot, mode) |\n|---|---|---|---|');
  const modeName = (modes: readonly number[]): string => {
    const i = argmax(modes);
    return i === modes.length - 1 ? 'content' : i < (modes.length - 1) / 2 ? 'backward' : 'forward';
  };
  let right = 0;
  inspection.steps.forEach((step, t) => {
    const word = vocabulary.words[story.inputs[t] as number] as string;
    const target = story.targets[t] as number;
    const predicted = argmax(step.output);
    if (target >= 0 && predicted === target) right++;
    const answer = target < 0 ? '' : `${vocabulary.words[predicted]} ${predicted === target ? '✓' : `✗ (${vocabulary.words[target]})`}`;
    const writes = step.writeWeightings
      .map((w, h) => `${argmax(w)}, ${(step.writeGates[h] as number).toFixed(2)}, ${(step.allocationGates[h] as number).toFixed(2)}`)
      .join('; ');
    const reads = step.readWeightings.map((w, h) => `${argmax(w)} ${modeName(step.readModes[h] as number[])}`).join('; ');
    io.log(`| ${word} | ${answer} | ${writes} | ${reads} |`);
  });
  const scored = Array.from(story.targets).filter((x) => x >= 0).length;
  io.log(`${right} of ${scored} answer words right`);
  const used = inspection.steps.flatMap((s) => [...s.writeWeightings, ...s.readWeightings].flatMap((w) => w.flatMap((v, i) => (v > 0.01 ? [i] : []))));
  const lastRow = Math.min(model.config.memorySlots - 1, Math.max(0, ...used) + 2);
  const crop = (w: readonly number[]) => w.slice(0, lastRow + 1);
  const cell = 6;
  let y = 50;
  const parts = [
    `<text x="20" y="24" font-size="15" font-family="sans-serif">DNC on bAbI task ${task}, test story ${k}: ${right} of ${scored} answer words right</text>`,
  ];
  const add = (label: string, columns: number[][]) => {
    const drawn = heatmap(label, columns, 20, y, cell);
    parts.push(drawn.svg);
    y += drawn.height + 30;
  };
  for (const h of model.config.writeHeads > 0 ? Array.from({ length: model.config.writeHeads }, (_, i) => i) : [])
    add(
      `write weighting, head ${h + 1} (memory rows 0–${lastRow} ↓, words →)`,
      inspection.steps.map((s) => crop(s.writeWeightings[h] as number[])),
    );
  add(
    `usage (memory rows 0–${lastRow} ↓)`,
    inspection.steps.map((s) => crop(s.usage)),
  );
  for (let h = 0; h < model.config.readHeads; h++) {
    add(
      `read weighting, head ${h + 1} (memory rows 0–${lastRow} ↓)`,
      inspection.steps.map((s) => crop(s.readWeightings[h] as number[])),
    );
    add(
      `read mode, head ${h + 1} (backward, forward per write head, content ↓)`,
      inspection.steps.map((s) => s.readModes[h] as number[]),
    );
  }
  const svg = document(Math.max(420, 40 + inspection.steps.length * cell), y, parts.join(''), `DNC on bAbI task ${task}, test story ${k}`);
  return { code: 0, svg, out: get<string>(values, 'out') ?? join(out, 'show.svg') };
}
