import { type NtmRecipe, type NtmTrainingSnapshot, type TrainingState, freshNtmTraining, ntmOptimizer } from '@engram/ntm';
import { EngramError, Random, gradientNorm as globalNorm, noGrad, normClipScale, parameterList, eventYielder, YIELD_EVERY_MS } from '@engram/tensor';
import { type BabiSequence, DNC_BABI_RECIPE, babiGradients, babiScore } from './babi.js';
import type { DncModel } from './model.js';
import { dncRecurrent } from './model.js';

/** Where one epoch of {@link trainDncBabi} stands (kept in a checkpoint's `training.extra`). */
export interface DncBabiProgress {
  /** Epochs finished. */
  epoch: number;
  /** Stories of the current epoch trained so far. */
  position: number;
}

/** What one step reports. */
export interface DncBabiStepReport {
  /** Steps done in all. */
  step: number;
  /** Stories trained on in all. */
  stories: number;
  /** Where the epoch stands. */
  progress: DncBabiProgress;
  /** Stories per epoch (those that fill whole batches). */
  epochSize: number;
  /** Cross-entropy per story on this batch, nats. */
  loss: number;
  /** Questions of this batch answered wrong, and asked. */
  wrong: number;
  /** Questions asked in this batch. */
  questions: number;
  /** Global gradient norm before clipping. */
  gradientNorm: number;
  /** Training seconds in all. */
  seconds: number;
}

/** The error on held-out stories: per task and over all questions. */
export interface DncBabiEvaluation {
  /** Steps done when it was measured. */
  step: number;
  /** Wrong answers / questions over every held-out question. */
  error: number;
  /** Per task: its error and question count, in task order. */
  perTask: DncBabiTaskError[];
  /** The mean of the per-task errors (the paper's "mean error"). */
  meanTaskError: number;
  /** Tasks with error above 5% (the paper's "failed"). */
  failed: number;
}

/** One task's line of a {@link DncBabiEvaluation}. */
export interface DncBabiTaskError {
  /** The bAbI task (1..20). */
  task: number;
  /** Wrong answers / questions. */
  error: number;
  /** Questions asked. */
  questions: number;
}

/** What {@link DncBabiGradients.compute} returns. */
export interface DncBabiBatchResult {
  /** The summed cross-entropy divided by the whole batch's size. */
  loss: number;
  /** Questions answered wrong. */
  wrong: number;
  /** Questions asked. */
  questions: number;
}

/**
 * Where a batch's loss and gradients come from. By default the whole batch runs on this thread;
 * `createDncBabiWorkers` (from `@engram/dnc/workers`) splits its stories across worker threads.
 */
export interface DncBabiGradients {
  /**
   * Fills the gradients of `parameterList(model.params)` for the stories and returns the summed loss (divided by
   * the number of stories) and the wrong and asked question counts.
   * @param model - the DNC being trained
   * @param stories - the batch
   */
  compute(model: DncModel, stories: readonly BabiSequence[]): Promise<DncBabiBatchResult>;
}

/** How {@link trainDncBabi} ended. */
export interface DncBabiOutcome {
  /** `finished`: every epoch ran; `budget`: `maxSteps` or `timeLimit` reached; `interrupted`: `shouldStop`; `non-finite`: a NaN/Inf. */
  kind: 'finished' | 'budget' | 'interrupted' | 'non-finite';
  /** Steps done. */
  step: number;
  /** What was not finite (`non-finite` only). */
  message?: string;
}

/** Options of {@link trainDncBabi}. Hooks may be async; training waits for them. */
export interface TrainDncBabiOptions {
  /** The optimizer, clipping and batch (default {@link DNC_BABI_RECIPE}). */
  recipe?: NtmRecipe;
  /** Seeds the order of the stories (default 1). */
  seed?: number;
  /** Continue from a snapshot (`onCheckpoint`'s), exactly. */
  resume?: NtmTrainingSnapshot;
  /** Passes over the training stories (default 1,000: in practice a budget ends training). */
  epochs?: number;
  /** Stop after this many steps in all. */
  maxSteps?: number;
  /** Stop after this many training seconds in all. */
  timeLimit?: number;
  /** Held-out stories, evaluated every `evalEvery` steps and at the end. */
  validation?: readonly BabiSequence[];
  /** Steps between evaluations (default 2,000). */
  evalEvery?: number;
  /** Steps between checkpoints (default 500), and one when training ends. */
  checkpointEvery?: number;
  /** After every step. */
  onStep?: (report: DncBabiStepReport) => void | Promise<void>;
  /** After every evaluation. */
  onEvaluate?: (evaluation: DncBabiEvaluation) => void | Promise<void>;
  /** With a snapshot to save. */
  onCheckpoint?: (snapshot: NtmTrainingSnapshot) => void | Promise<void>;
  /** Checked between steps: true stops with a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Computes each batch's gradients (default: on this thread). */
  gradients?: DncBabiGradients;
}

/**
 * The progress kept in a checkpoint's `training.extra.babi`, checked field by field (a hostile file names the field).
 * @param training - a training state read from a checkpoint
 * @param source - named in errors
 */
export function babiProgress(training: TrainingState, source = 'checkpoint'): DncBabiProgress {
  const babi = training.extra.babi as Record<string, unknown> | undefined;
  if (babi === undefined) return { epoch: 0, position: 0 };
  if (typeof babi !== 'object' || babi === null || Array.isArray(babi)) throw new EngramError(`${source}: 'training.extra.babi' must be an object`);
  const count = (name: 'epoch' | 'position'): number => {
    const v = babi[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1e9)
      throw new EngramError(`${source}: 'training.extra.babi.${name}' must be an integer in 0..1e9`);
    return v;
  };
  return { epoch: count('epoch'), position: count('position') };
}

/** Batches per pool of {@link batchByLength}. */
const LENGTH_POOL_BATCHES = 50;

/**
 * Reorders the first `size` entries of a shuffled order so that each batch holds stories of similar length (a batch
 * waits for its longest story, on every thread): pools of 50 batches are sorted by length and cut into batches,
 * then the batches are shuffled. Deterministic for the generator's state.
 * @param order - the epoch's shuffled order, reordered in place
 * @param size - how many entries fill whole batches
 * @param batch - stories per batch
 * @param stories - the training stories (their lengths)
 * @param rng - the epoch's generator, after the shuffle
 */
export function batchByLength(order: Int32Array, size: number, batch: number, stories: readonly BabiSequence[], rng: Random): void {
  const pool = batch * LENGTH_POOL_BATCHES;
  const length = (i: number) => (stories[i] as BabiSequence).inputs.length;
  for (let from = 0; from < size; from += pool) {
    const part = Array.from(order.subarray(from, Math.min(size, from + pool))).sort((a, b) => length(a) - length(b) || a - b);
    order.set(part, from);
  }
  const batches = size / batch;
  const sorted = order.slice(0, size);
  rng.permutation(batches).forEach((b, k) => {
    order.set(sorted.subarray(b * batch, (b + 1) * batch), k * batch);
  });
}

/**
 * Error per task of the DNC on stories, without a tape (one story at a time: at these sizes a step is
 * arithmetic-bound, so batching gains nothing).
 * @param model - the DNC
 * @param stories - the stories to answer
 * @param step - the step number to report
 */
export function evaluateDncBabi(model: DncModel, stories: readonly BabiSequence[], step = 0): DncBabiEvaluation {
  const tallies = new Map<number, [number, number]>();
  noGrad(() => {
    for (const story of stories) {
      for (const [task, [wrong, asked]] of babiScore(model, [story]).perTask) {
        const t = tallies.get(task) ?? [0, 0];
        t[0] += wrong;
        t[1] += asked;
        tallies.set(task, t);
      }
    }
  });
  const perTask = [...tallies].sort((a, b) => a[0] - b[0]).map(([task, [wrong, questions]]) => ({ task, error: wrong / questions, questions }));
  const wrong = [...tallies.values()].reduce((n, t) => n + t[0], 0);
  const questions = [...tallies.values()].reduce((n, t) => n + t[1], 0);
  return {
    step,
    error: questions === 0 ? 0 : wrong / questions,
    perTask,
    meanTaskError: perTask.length === 0 ? 0 : perTask.reduce((s, t) => s + t.error, 0) / perTask.length,
    failed: perTask.filter((t) => t.error > 0.05).length,
  };
}

/**
 * Trains a DNC on bAbI stories (Graves et al. 2016, Methods): each epoch the stories in a seeded order,
 * `batch` at a time (with more than one, batches of stories of similar length, in a shuffled order; the stories
 * that do not fill a last batch wait for the next epoch's order), the
 * cross-entropy of every answer word summed and divided by the batch, the global gradient norm clipped,
 * RMSProp; NaN/Inf stops with the step before the weights change; evaluation on held-out stories every
 * `evalEvery` steps; a snapshot every `checkpointEvery` steps, from which `resume` continues exactly.
 * @param model - the DNC (input and output widths = the vocabulary's size)
 * @param train - the training stories ({@link encodeBabiTasks})
 * @param options - recipe, seed, budgets, evaluation, checkpoints, hooks and `resume`
 * @example
 * ```ts
 * const vocabulary = babiVocabulary([...tasks.values()].flat());
 * const model = createDnc(defaultDncConfig(vocabulary.size, vocabulary.size, DNC_BABI_SIZES), new Random(1));
 * await trainDncBabi(model, encodeBabiTasks(tasks, vocabulary), { timeLimit: 3600 });
 * ```
 */
export async function trainDncBabi(model: DncModel, train: readonly BabiSequence[], options: TrainDncBabiOptions = {}): Promise<DncBabiOutcome> {
  const recipe = options.recipe ?? DNC_BABI_RECIPE;
  const batch = recipe.batch;
  const epochSize = Math.floor(train.length / batch) * batch;
  if (epochSize === 0) throw new EngramError(`trainDncBabi: ${train.length} stories do not fill a batch of ${batch}`);
  const snapshot: NtmTrainingSnapshot = options.resume ?? {
    training: freshNtmTraining(new Random(options.seed ?? 1)),
    optimizer: ntmOptimizer(dncRecurrent(model), recipe),
  };
  const { training, optimizer } = snapshot;
  const params = parameterList(model.params);
  const progress = babiProgress(training);
  // The epoch's order comes from the generator's state at the epoch's start (kept in the checkpoint).
  let epochStart = training.rngState;
  const orderOf = (state: [number, number, number, number]) => {
    const rng = Random.fromState(state);
    const order = rng.permutation(train.length);
    if (batch > 1) batchByLength(order, epochSize, batch, train, rng);
    return { order, next: rng.state() };
  };
  let { order, next } = orderOf(epochStart);
  const epochs = options.epochs ?? 1000;
  const evalEvery = options.evalEvery ?? 2000;
  const checkpointEvery = options.checkpointEvery ?? 500;
  const started = performance.now();
  const secondsBefore = training.seconds;
  const elapsed = () => secondsBefore + (performance.now() - started) / 1000;
  let lastCheckpoint = training.step;
  // Other events (a Ctrl-C, a page's pause) are let through between steps, at most every YIELD_EVERY_MS.
  const maybeYield = eventYielder(YIELD_EVERY_MS);
  const checkpoint = async () => {
    Object.assign(training, { seconds: elapsed(), rngState: epochStart, extra: { ...training.extra, babi: { ...progress } } });
    lastCheckpoint = training.step;
    await options.onCheckpoint?.({ training, optimizer });
  };
  let lastEvaluated = -1;
  const evaluate = async () => {
    if (!options.validation || options.validation.length === 0 || lastEvaluated === training.step) return;
    lastEvaluated = training.step;
    await options.onEvaluate?.(evaluateDncBabi(model, options.validation, training.step));
  };

  while (progress.epoch < epochs) {
    while (progress.position < epochSize) {
      if (options.shouldStop?.()) {
        await checkpoint();
        return { kind: 'interrupted', step: training.step };
      }
      if ((options.maxSteps !== undefined && training.step >= options.maxSteps) || (options.timeLimit !== undefined && elapsed() >= options.timeLimit)) {
        await checkpoint();
        await evaluate();
        return { kind: 'budget', step: training.step };
      }
      const stories = Array.from(order.subarray(progress.position, progress.position + batch), (i) => train[i] as BabiSequence);
      optimizer.zeroGrad();
      let result: DncBabiBatchResult;
      if (options.gradients) result = await options.gradients.compute(model, stories);
      else {
        const { loss, wrong, questions } = babiGradients(model, stories);
        result = { loss, wrong, questions };
      }
      if (!Number.isFinite(result.loss))
        return { kind: 'non-finite', step: training.step + 1, message: `the loss is ${result.loss} at step ${training.step + 1}` };
      const gradientNorm = globalNorm(params);
      if (!Number.isFinite(gradientNorm))
        return { kind: 'non-finite', step: training.step + 1, message: `the gradient norm is ${gradientNorm} at step ${training.step + 1}` };
      optimizer.step({ gradientScale: recipe.clipNorm > 0 ? normClipScale(gradientNorm, recipe.clipNorm) : 1 });
      training.step++;
      training.sequences += batch;
      progress.position += batch;
      await options.onStep?.({
        step: training.step,
        stories: training.sequences,
        progress: { ...progress },
        epochSize,
        loss: result.loss,
        wrong: result.wrong,
        questions: result.questions,
        gradientNorm,
        seconds: elapsed(),
      });
      if (training.step % evalEvery === 0) await evaluate();
      if (training.step - lastCheckpoint >= checkpointEvery) await checkpoint();
      await maybeYield();
    }
    progress.epoch++;
    progress.position = 0;
    epochStart = next;
    ({ order, next } = orderOf(epochStart));
  }
  await checkpoint();
  await evaluate();
  return { kind: 'finished', step: training.step };
}
