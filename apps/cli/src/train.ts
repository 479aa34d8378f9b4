import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { appendText, keepCsvRows, writeText } from './files.js';
import { ALGORITHMIC_TASKS, type AlgorithmicTaskName } from '@engram/datasets';
import { DNC_RECIPE, type DncModel, dncRecurrent, dncSequenceSupported, loadDncCheckpoint, newDnc, saveDnc, saveDncCheckpoint } from '@engram/dnc';
import { createDncWorkers } from '@engram/dnc/workers';
import { type SequenceWorkers, createNtmWorkers } from '@engram/ntm/workers';
import {
  NTM_RECIPE,
  type NtmModel,
  type NtmRecipe,
  type NtmTrainingSnapshot,
  type SequenceModel,
  type TrainingState,
  loadCheckpoint,
  newNtm,
  ntmOptimizer,
  saveCheckpoint,
  saveNtm,
  trainNtm,
  fusedSequenceSupported,
} from '@engram/ntm';
import { EngramError, type Optimizer, type OptimizerState, Random, countParameters, getDefaultBackend } from '@engram/tensor';
import { bar, count, formatDuration } from './format.js';
import { plotCurve } from './plot.js';
import { prepareRunFolder } from './run-folder.js';

/** Everything `engram train ntm` (or `dnc`) can be told. */
export interface TrainOptions {
  /** Which memory model (default ntm). */
  model?: SequenceKindName;
  task: AlgorithmicTaskName;
  out: string;
  seed: number;
  batch: number;
  /** Threads each batch is split across (default 1; at most `batch` are used). */
  threads?: number;
  optimizer: 'adam' | 'rmsprop';
  /** Which RMSProp (default: the model's own, graves for the NTM and tensorflow for the DNC). */
  rmsprop?: RmspropVariant;
  learningRate: number;
  clipNorm: number;
  clipValue: number;
  curriculum: boolean;
  /** Stop once held-out sequences score below this many error bits per sequence... */
  until: number;
  /** ...on this many evaluations in a row (so a lucky moment of a noisy run does not count). */
  stable: number;
  maxSequences: number;
  timeLimit: number;
  evalEvery: number;
  evalSize: number;
  checkpointEvery: number;
  resume: boolean;
  /** Start afresh even if `out` already holds a checkpoint (otherwise that is refused). */
  overwrite?: boolean;
  /** `--lr` was given (with `--resume` it replaces the run's learning rate, and says so). */
  learningRateGiven?: boolean;
  /** `out` is the default runs/<task> (its missing parents are created; a given --out needs an existing parent). */
  defaultOut?: boolean;
  hidden: number;
  layers: number;
  controller: 'lstm' | 'gru' | 'feedforward';
  memorySlots: number;
  memoryWidth: number;
  readHeads: number;
  writeHeads: number;
  /** Task options (maxLength...) on top of the paper's defaults. */
  taskOptions: Record<string, number | undefined>;
}

/** Where training output goes (a terminal, or a test's buffer). */
export interface TrainIO {
  /** Writes a status line in place (a TTY) or as a new line every few seconds. */
  status(line: string): void;
  /** Writes a permanent line. */
  log(line: string): void;
  /** True once the user asked to stop (Ctrl-C). */
  interrupted(): boolean;
}

/** How the run ended. */
export type TrainOutcome = 'solved' | 'budget' | 'interrupted' | 'non-finite';

/** The header of the learning-curve CSV. */
export const CURVE_HEADER = 'step,sequences,seconds,loss,train_error_bits,eval_error_bits,curriculum_level\n';

/** The sizes `engram train ntm|dnc` sets from its options. */
interface SequenceSizes {
  /** The controller. */
  controller: { kind: 'lstm' | 'gru' | 'feedforward'; hiddenSize: number; layers: number };
  /** Memory rows (locations). */
  memorySlots: number;
  /** Memory width. */
  memoryWidth: number;
  /** Read heads. */
  readHeads: number;
  /** Write heads. */
  writeHeads: number;
}

/** A trained model of either kind, as `engram train` handles it. */
interface TrainedModel {
  /** What the sequence loop trains. */
  recurrent: SequenceModel;
  /** The model's sizes, for the header line. */
  sizes: SequenceSizes;
  /** Writes a checkpoint. */
  saveCheckpoint(path: string, optimizer: Optimizer, training: TrainingState): Promise<void>;
  /** Writes the model file. */
  save(path: string, metadata: Record<string, string>): Promise<void>;
  /** Starts worker threads that share each batch (`createNtmWorkers`, `createDncWorkers`). */
  workers(threads: number, batch: number): Promise<SequenceWorkers>;
  /** Whether it trains through the backend's whole-sequence kernel (else on the autodiff tape). */
  wholeSequence: boolean;
}

/** One memory model `engram train` trains on the algorithmic tasks: one row per model, so neither path restates the other. */
interface SequenceKind {
  /** Its name in messages. */
  label: string;
  /** The recipe the options start from. */
  recipe: NtmRecipe;
  /** A fresh model of these sizes for the task, its optimizer and training state, all from `seed` (`newNtm`, `newDnc`). */
  create(
    task: AlgorithmicTaskName,
    seed: number,
    options: { recipe: NtmRecipe; taskOptions: Record<string, number | undefined>; config: SequenceSizes },
  ): { model: TrainedModel } & NtmTrainingSnapshot;
  /** A checkpoint read back. */
  load(path: string, seed: number): Promise<{ model: TrainedModel; optimizerState: OptimizerState; learningRate: number; training: TrainingState }>;
}

const ntmKind = (model: NtmModel): TrainedModel => ({
  recurrent: model,
  sizes: model.config,
  saveCheckpoint: (path, optimizer, training) => saveCheckpoint(path, model, optimizer, training),
  save: (path, metadata) => saveNtm(path, model, metadata),
  workers: (threads, batch) => createNtmWorkers(model, threads, batch),
  wholeSequence: fusedSequenceSupported(model) && model.params.output.weight.backend.models !== undefined,
});
const dncKind = (model: DncModel): TrainedModel => ({
  recurrent: dncRecurrent(model),
  sizes: model.config,
  saveCheckpoint: (path, optimizer, training) => saveDncCheckpoint(path, model, optimizer, training),
  save: (path, metadata) => saveDnc(path, model, metadata),
  workers: (threads, batch) => createDncWorkers(model, threads, batch),
  wholeSequence: dncSequenceSupported(model) && model.params.output.weight.backend.models !== undefined,
});

/** The memory models of `engram train ntm|dnc`. */
export const SEQUENCE_KINDS = {
  ntm: {
    label: 'NTM',
    recipe: NTM_RECIPE,
    create: (task, seed, options) => {
      const { model, ...start } = newNtm(task, seed, options);
      return { model: ntmKind(model), ...start };
    },
    load: async (path, seed) => {
      const checkpoint = await loadCheckpoint(path, new Random(seed));
      return { ...checkpoint, model: ntmKind(checkpoint.model) };
    },
  },
  dnc: {
    label: 'DNC',
    recipe: DNC_RECIPE,
    create: (task, seed, options) => {
      const { model, ...start } = newDnc(task, seed, options);
      return { model: dncKind(model), ...start };
    },
    load: async (path) => {
      const checkpoint = await loadDncCheckpoint(path);
      return { ...checkpoint, model: dncKind(checkpoint.model) };
    },
  },
} satisfies Record<string, SequenceKind>;

/** The models `engram train` trains on the algorithmic tasks. */
export type SequenceKindName = keyof typeof SEQUENCE_KINDS;

/** The two RMSProps: Graves 2013's (the NTM paper's) and TensorFlow's (deepmind/dnc's). */
export const RMSPROP_VARIANTS = {
  graves: { momentum: NTM_RECIPE.momentum, decay: NTM_RECIPE.decay, centered: true, epsilon: 1e-4 },
  tensorflow: { momentum: DNC_RECIPE.momentum, decay: DNC_RECIPE.decay, centered: false, epsilon: DNC_RECIPE.epsilon as number },
} as const;

/** The RMSProp variants `--rmsprop` names. */
export type RmspropVariant = keyof typeof RMSPROP_VARIANTS;

/** The recipe the options describe (the model's own, with any flag applied). */
function recipeOf(options: TrainOptions, kind: SequenceKind): NtmRecipe {
  return {
    ...kind.recipe,
    ...(options.rmsprop === undefined ? {} : RMSPROP_VARIANTS[options.rmsprop]),
    optimizer: options.optimizer,
    learningRate: options.learningRate,
    batch: options.batch,
    clipValue: options.clipValue,
    clipNorm: options.clipNorm,
  };
}

/** How a fixed setting is checked when read back from run.json. */
type SettingKind = 'task' | 'count' | 'integer' | 'number' | 'boolean' | 'choice' | 'options';

/** The settings a run keeps for life, each with the flag that sets it: on `--resume` they come from the run's run.json. */
const RUN_FIXED: readonly (readonly [field: keyof TrainOptions, flag: string, kind: SettingKind, choices?: readonly string[]])[] = [
  ['task', 'task', 'task'],
  ['seed', 'seed', 'integer'],
  ['batch', 'batch', 'count'],
  ['optimizer', 'optimizer', 'choice', ['adam', 'rmsprop']],
  ['rmsprop', 'rmsprop', 'choice', ['graves', 'tensorflow']],
  ['clipNorm', 'clip-norm', 'number'],
  ['clipValue', 'clip-value', 'number'],
  ['curriculum', 'curriculum', 'boolean'],
  ['hidden', 'hidden', 'count'],
  ['layers', 'layers', 'count'],
  ['controller', 'controller', 'choice', ['lstm', 'gru', 'feedforward']],
  ['memorySlots', 'memory', 'count'],
  ['memoryWidth', 'memory', 'count'],
  ['readHeads', 'read-heads', 'count'],
  ['writeHeads', 'write-heads', 'count'],
  ['taskOptions', 'task-options', 'options'],
];

/** Settings a resumed run may change: given with `--resume` they apply from then on, otherwise the run's own continue. */
const RUN_ADJUSTABLE: readonly (readonly [keyof TrainOptions, string])[] = [
  ['learningRate', 'lr'],
  ['until', 'until'],
  ['stable', 'stable'],
  ['maxSequences', 'max-sequences'],
  ['timeLimit', 'time-limit'],
  ['evalEvery', 'eval-every'],
  ['evalSize', 'eval-size'],
  ['checkpointEvery', 'checkpoint-every'],
  ['threads', 'threads'],
];

/** Keys that could reach an object's prototype if copied from a file. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The options of a resumed run: every setting fixed at its start from its run.json (a run resumed
 * on the command line's defaults would otherwise train another task); such a flag given again must
 * say what the run says. The adjustable ones (learning rate, stopping rule, evaluation, checkpoints,
 * threads) come from the flags given now, else from the run. Each field of run.json is checked and
 * named in the error.
 * @param options - the options parsed from the command line
 * @param saved - run.json of the run, parsed
 * @param given - whether a flag was given on the command line
 * @param where - run.json's path, for the errors
 */
export function resumedTrainOptions(options: TrainOptions, saved: unknown, given: (flag: string) => boolean, where: string): TrainOptions {
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) throw new EngramError(`${where}: expected an object of the run's settings`);
  const run = saved as Record<string, unknown>;
  const model = options.model ?? 'ntm';
  const savedModel = run.model ?? 'ntm';
  if (typeof savedModel !== 'string' || !Object.hasOwn(SEQUENCE_KINDS, savedModel))
    throw new EngramError(`${where}: field 'model' must be one of ${Object.keys(SEQUENCE_KINDS).join(', ')}, got ${JSON.stringify(savedModel)}`);
  if (savedModel !== model) throw new EngramError(`${where}: the run is a ${savedModel} run, not ${model}: resume it with engram train ${savedModel}`);
  const result: Record<string, unknown> = { ...options };
  for (const [field, , kind, choices] of RUN_FIXED) {
    const value = run[field];
    const bad = (expected: string): never => {
      throw new EngramError(`${where}: field '${field}' must be ${expected}, got ${JSON.stringify(value) ?? 'nothing'}`);
    };
    if (value === undefined && field === 'rmsprop') continue;
    if (kind === 'task' && !(typeof value === 'string' && Object.hasOwn(ALGORITHMIC_TASKS, value))) bad(`one of ${Object.keys(ALGORITHMIC_TASKS).join(', ')}`);
    if (kind === 'count' && !(Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 1e9)) bad('a whole number from 1 to 1e9');
    if (kind === 'integer' && !Number.isSafeInteger(value)) bad('a whole number');
    if (kind === 'number' && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) bad('a number ≥ 0');
    if (kind === 'boolean' && typeof value !== 'boolean') bad('true or false');
    if (kind === 'choice' && !(typeof value === 'string' && (choices ?? []).includes(value))) bad(`one of ${(choices ?? []).join(', ')}`);
    if (kind === 'options') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('an object of task options');
      const entries = Object.entries(value as object);
      if (entries.some(([key, v]) => PROTOTYPE_KEYS.has(key) || !(v === null || (typeof v === 'number' && Number.isFinite(v))))) bad('an object of numbers');
      result[field] = Object.fromEntries(entries.filter(([, v]) => v !== null));
      continue;
    }
    result[field] = value;
  }
  // A fixed flag given again is fine when it says what the run says (the start command with --resume added).
  const sorted = (x: unknown): string => JSON.stringify(typeof x === 'object' && x !== null ? Object.entries(x).sort(([a], [b]) => a.localeCompare(b)) : x);
  for (const [field, flag] of RUN_FIXED) {
    const mine = field === 'taskOptions' ? Object.fromEntries(Object.entries(options.taskOptions).filter(([, v]) => v !== undefined)) : options[field];
    const flags = field === 'taskOptions' ? ['task-options', 'max-length'] : [flag];
    if (flags.some(given) && sorted(mine) !== sorted(result[field]))
      throw new EngramError(
        `--resume continues the run as it started: --${flags.filter(given).join(' / --')} differs from the run's ${field} (${JSON.stringify(result[field])} in ${where}); leave it out`,
      );
  }
  const batch = result.batch as number;
  for (const [field, flag] of RUN_ADJUSTABLE) {
    if (given(flag)) continue;
    const value = run[field];
    // JSON writes Infinity (no budget) as null.
    if (value === null && (field === 'maxSequences' || field === 'timeLimit')) result[field] = Number.POSITIVE_INFINITY;
    else if (typeof value === 'number' && Number.isFinite(value) && value > 0) result[field] = value;
    else if (value !== undefined) throw new EngramError(`${where}: field '${field}' must be a number > 0, got ${JSON.stringify(value)}`);
  }
  // --eval-every and --checkpoint-every count sequences; the options hold steps of the run's batch.
  for (const [field, flag] of [
    ['evalEvery', 'eval-every'],
    ['checkpointEvery', 'checkpoint-every'],
  ] as const)
    if (given(flag)) result[field] = Math.max(1, Math.round(((options[field] as number) * options.batch) / batch));
  result.learningRateGiven = given('lr');
  return result as unknown as TrainOptions;
}

/**
 * Trains an NTM or a DNC on an algorithmic task until fresh sequences score under `until` error bits per
 * sequence (or the budget runs out), with a live status line, a checkpoint every
 * `checkpointEvery` steps and on Ctrl-C, a learning curve (CSV + SVG), and the final model. The
 * loop itself is @engram/ntm's `trainNtm`; this function reads and writes the run folder and prints.
 */
export async function runTraining(options: TrainOptions, io: TrainIO): Promise<TrainOutcome> {
  const taskOptions = options.taskOptions;
  const kind: SequenceKind = SEQUENCE_KINDS[options.model ?? 'ntm'];
  const recipe = recipeOf(options, kind);
  // A fresh model is built (and its sizes checked) before anything is written.
  const fresh = options.resume
    ? null
    : kind.create(options.task, options.seed, {
        recipe,
        taskOptions,
        config: {
          controller: { kind: options.controller, hiddenSize: options.hidden, layers: options.layers },
          memorySlots: options.memorySlots,
          memoryWidth: options.memoryWidth,
          readHeads: options.readHeads,
          writeHeads: options.writeHeads,
        },
      });
  prepareRunFolder(options.out, '--out', options.defaultOut === true);
  const checkpointPath = join(options.out, 'checkpoint.safetensors');
  const curvePath = join(options.out, 'curve.csv');
  let model: TrainedModel;
  let snapshot: NtmTrainingSnapshot | undefined;

  if (!options.resume && options.overwrite !== true && existsSync(checkpointPath))
    throw new EngramError(`${options.out} already holds a run (checkpoint.safetensors): add --resume to continue it or --overwrite to start afresh`);
  if (options.resume) {
    if (!existsSync(checkpointPath)) throw new EngramError(`--resume: no checkpoint at ${checkpointPath}`);
    const checkpoint = await kind.load(checkpointPath, options.seed);
    // The checkpoint records its task: resuming it on another would read batches of the wrong width.
    const savedTask = checkpoint.training.extra.task;
    if (typeof savedTask === 'string' && savedTask !== options.task)
      throw new EngramError(`--resume: ${checkpointPath} was trained on '${savedTask}', not '${options.task}'`);
    model = checkpoint.model;
    const optimizer = ntmOptimizer(model.recurrent, recipe);
    // A learning rate given with --resume applies (and the header says so); otherwise the run's own continues.
    optimizer.learningRate = options.learningRateGiven ? options.learningRate : checkpoint.learningRate;
    if (options.learningRateGiven && options.learningRate !== checkpoint.learningRate)
      io.log(`--lr: the learning rate changes from ${checkpoint.learningRate} to ${options.learningRate} from here on`);
    optimizer.loadState(checkpoint.optimizerState);
    snapshot = { training: checkpoint.training, optimizer };
    const step = checkpoint.training.step;
    // Rows logged after the checkpoint (a run killed before it could save) are dropped: the
    // resumed run recomputes them exactly.
    await keepCsvRows(curvePath, CURVE_HEADER, (f) => Number(f[0]) <= step);
    io.log(`resumed ${checkpointPath} at step ${count(step)} (${count(checkpoint.training.sequences)} sequences)`);
  } else {
    const { model: created, ...start } = fresh as NonNullable<typeof fresh>;
    model = created;
    snapshot = start;
    await writeText(curvePath, CURVE_HEADER);
    await writeText(join(options.out, 'run.json'), `${JSON.stringify({ ...options, started: new Date().toISOString() }, null, 2)}\n`);
  }

  const config = model.sizes;
  const threads = Math.min(options.threads ?? 1, options.batch);
  io.log(
    `${kind.label} on '${options.task}': ${config.controller.kind} ${config.controller.hiddenSize}, memory ${config.memorySlots} × ${config.memoryWidth}, ` +
      `${config.readHeads} read / ${config.writeHeads} write heads, ${count(countParameters(model.recurrent.params))} parameters; ` +
      `${options.optimizer} lr ${snapshot?.optimizer.learningRate ?? options.learningRate}, batch ${options.batch}; backend ${getDefaultBackend().description}; ${model.wholeSequence ? 'each batch of sequences in one WebAssembly kernel' : 'the autodiff tape'}; ${threads} thread${threads > 1 ? 's' : ''}`,
  );
  io.log(
    `stops when ${options.evalSize} held-out fresh sequences score < ${options.until} error bits per sequence ${options.stable} evaluation${options.stable > 1 ? 's' : ''} in a row; Ctrl-C saves a checkpoint`,
  );

  const started = performance.now();
  const sequencesAtStart = options.resume ? (snapshot?.training.sequences ?? 0) : 0;
  let last = { step: snapshot?.training.step ?? 0, sequences: sequencesAtStart, seconds: snapshot?.training.seconds ?? 0 };
  let lastEval = Number.NaN;
  let lastCheckpoint = snapshot?.training.step ?? 0;
  const workers = threads > 1 ? await model.workers(threads, options.batch) : undefined;
  const result = await trainNtm(model.recurrent, options.task, {
    ...(workers ? { gradients: workers } : {}),
    recipe,
    seed: options.seed,
    taskOptions,
    curriculum: options.curriculum,
    evaluation: { every: options.evalEvery, size: options.evalSize, until: options.until, stable: options.stable },
    maxSequences: options.maxSequences,
    timeLimit: options.timeLimit,
    checkpointEvery: options.checkpointEvery,
    ...(snapshot ? { resume: snapshot } : {}),
    shouldStop: io.interrupted,
    onCheckpoint: async (s) => {
      await model.saveCheckpoint(checkpointPath, s.optimizer, { ...s.training, extra: { task: options.task, taskOptions } });
      lastCheckpoint = s.training.step;
    },
    onStep: async (r) => {
      last = r;
      if (r.heldOutBits !== undefined) lastEval = r.heldOutBits;
      await appendText(
        curvePath,
        `${r.step},${r.sequences},${r.seconds.toFixed(2)},${r.loss.toFixed(5)},${r.errorBits.toFixed(4)},${r.heldOutBits === undefined ? '' : r.heldOutBits.toFixed(4)},${r.level ?? ''}\n`,
      );
      const rate = (r.sequences - sequencesAtStart) / Math.max(1e-9, (performance.now() - started) / 1000);
      // Progress: by budget when there is one, else by error on a log scale from 100 bits down to the goal.
      const byError = (Math.log10(100) - Math.log10(Math.max(r.recentBits, options.until))) / (Math.log10(100) - Math.log10(options.until));
      const fraction = Number.isFinite(options.maxSequences) ? r.sequences / options.maxSequences : byError;
      const remaining = Math.min(
        Number.isFinite(options.maxSequences) ? (options.maxSequences - r.sequences) / Math.max(rate, 1e-9) : Number.POSITIVE_INFINITY,
        options.timeLimit - r.seconds,
      );
      const eta = Number.isFinite(remaining) ? ` | ETA ≤ ${formatDuration(remaining)}` : '';
      io.status(
        `${bar(fraction)} step ${count(r.step)} | ${count(r.sequences)} seq | ${rate.toFixed(1)} seq/s | loss ${r.loss.toFixed(3)} | ` +
          `bits/seq ${r.recentBits.toFixed(3)}${Number.isNaN(lastEval) ? '' : ` (fresh ${lastEval.toFixed(3)})`}${r.atFullRange ? '' : ` | length ≤ ${r.level}`} | ${formatDuration(r.seconds)}${eta}`,
      );
    },
  }).finally(() => workers?.close());

  const outcome: TrainOutcome = result.kind;
  if (result.kind === 'non-finite')
    io.log(
      `\n${result.message}. ${existsSync(checkpointPath) ? `The last good checkpoint (step ${count(lastCheckpoint)}) is kept at ${checkpointPath}.` : 'No checkpoint had been written yet.'}`,
    );
  const { step, sequences, seconds } = last;
  if (outcome === 'solved' || outcome === 'budget')
    await model.save(join(options.out, 'model.safetensors'), { task: options.task, taskOptions: JSON.stringify(taskOptions), step: String(step) });
  await plotCurve(curvePath, join(options.out, 'curve.svg'), `${kind.label} on ${options.task}`);
  const summary = {
    solved: `solved: ${count(sequences)} sequences, ${count(step)} steps, ${formatDuration(seconds)}; fresh error ${lastEval.toFixed(4)} bits per sequence`,
    budget: `stopped at the budget: ${count(sequences)} sequences, ${formatDuration(seconds)}; fresh error ${Number.isNaN(lastEval) ? 'not measured yet' : lastEval.toFixed(4)} bits per sequence`,
    interrupted: `interrupted at step ${count(step)}: checkpoint saved; continue with --resume`,
    'non-finite': 'stopped on a non-finite value',
  }[outcome];
  io.log(
    `\n${summary}\nfiles in ${options.out}: checkpoint.safetensors${outcome === 'solved' || outcome === 'budget' ? ', model.safetensors' : ''}, curve.csv, curve.svg`,
  );
  return outcome;
}
