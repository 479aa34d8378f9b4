import type { BabiExample, Vocabulary } from '@engram/datasets';
import {
  EngramError,
  NonFiniteError,
  type Optimizer,
  Random,
  SGD,
  type Tensor,
  clipGradientsByNorm,
  crossEntropy,
  noGrad,
  parameterList,
} from '@engram/tensor';
import { type MemnetBatch, encodeBatch } from './encoding.js';
import { type MemnetModel, memnetForward } from './model.js';

/**
 * A training recipe. The defaults ({@link PER_TASK_SCHEDULE}, {@link JOINT_SCHEDULE}) are the
 * paper's (§4.2) as its official code runs them.
 */
export interface MemnetSchedule {
  /** Epochs of the main phase (after linear start). */
  epochs: number;
  /** η at the start of the main phase when linear start is off. */
  learningRate: number;
  /** Halve (× `decayFactor`) η every this many main-phase epochs. */
  decayEvery: number;
  /** Factor applied every `decayEvery` epochs (paper: 0.5). */
  decayFactor: number;
  /** Linear-start epochs (no softmax in the memory layers) before the main phase; 0 turns linear start off. */
  linearStartEpochs: number;
  /** η during linear start, and at the start of the main phase when linear start is on (official code: 0.005). */
  linearStartLearningRate: number;
  /** Examples per batch (paper: 32). */
  batchSize: number;
  /** Rescale a gradient when its L2 norm exceeds this (paper: 40). */
  maxGradNorm: number;
  /**
   * `per-parameter` (the default, as the official code's weight update does): each weight matrix's
   * gradient is rescaled on its own; `global`: one norm over all of them.
   */
  clipping: 'per-parameter' | 'global';
  /** Random noise: fraction of empty memories inserted in training (paper: 0.1; 0 disables). */
  timeNoise: number;
}

/** Per-task bAbI training (§4.2): 100 epochs, η 0.01 halved every 25, linear start for 20 epochs at 0.005. */
export const PER_TASK_SCHEDULE: Readonly<MemnetSchedule> = Object.freeze({
  epochs: 100,
  learningRate: 0.01,
  decayEvery: 25,
  decayFactor: 0.5,
  linearStartEpochs: 20,
  linearStartLearningRate: 0.005,
  batchSize: 32,
  maxGradNorm: 40,
  clipping: 'per-parameter',
  timeNoise: 0.1,
});

/** Joint training on all 20 tasks: 60 epochs, η halved every 15, linear start for 30 epochs. */
export const JOINT_SCHEDULE: Readonly<MemnetSchedule> = Object.freeze({
  ...PER_TASK_SCHEDULE,
  epochs: 60,
  decayEvery: 15,
  linearStartEpochs: 30,
});

/** Where an epoch sits in a schedule. */
export interface EpochPlan {
  /** `linear` during linear start, then `main`. */
  phase: 'linear' | 'main';
  /** η for the epoch. */
  learningRate: number;
}

/**
 * Total epochs of a schedule: linear start plus the main phase.
 * @param schedule - the training schedule
 */
export function totalEpochs(schedule: MemnetSchedule): number {
  return schedule.linearStartEpochs + schedule.epochs;
}

/**
 * The phase and learning rate of epoch `epoch` (0-based) of a schedule.
 * @param schedule - the training schedule
 * @param epoch - the 0-based epoch
 */
export function epochPlan(schedule: MemnetSchedule, epoch: number): EpochPlan {
  if (epoch < schedule.linearStartEpochs) return { phase: 'linear', learningRate: schedule.linearStartLearningRate };
  const main = epoch - schedule.linearStartEpochs;
  const start = schedule.linearStartEpochs > 0 ? schedule.linearStartLearningRate : schedule.learningRate;
  return { phase: 'main', learningRate: start * schedule.decayFactor ** Math.floor(main / schedule.decayEvery) };
}

/** Training examples and the held-out validation examples. */
export interface ValidationSplit {
  /** Examples to train on. */
  train: BabiExample[];
  /** Held-out examples (paper: 10% of the training set). */
  validation: BabiExample[];
}

/**
 * Holds out a seeded random `fraction` of the examples for validation.
 * @param examples - the training examples
 * @param fraction - the share held out for validation (the paper: 0.1)
 * @param rng - the seeded random source of the split
 */
export function splitValidation(examples: readonly BabiExample[], fraction: number, rng: Random): ValidationSplit {
  if (!(fraction >= 0 && fraction < 1)) throw new EngramError(`splitValidation: fraction must be in [0, 1), got ${fraction}`);
  const order = rng.permutation(examples.length);
  const held = Math.round(examples.length * fraction);
  const pick = (from: number, to: number): BabiExample[] => Array.from(order.subarray(from, to), (i) => examples[i] as BabiExample);
  return { validation: pick(0, held), train: pick(held, examples.length) };
}

/** What {@link batchLoss} returns. */
export interface BatchLoss {
  /** Cross-entropy summed over the batch (a scalar). */
  loss: Tensor;
  /** â before the softmax, `[B, V]`. */
  logits: Tensor;
}

/**
 * The summed cross-entropy of a batch (the official code sums over the batch) and its logits.
 * @param model - the memory network
 * @param batch - the encoded examples
 * @param linear - linear start: no softmax in the memory layers
 */
export function batchLoss(model: MemnetModel, batch: MemnetBatch, linear = false): BatchLoss {
  const { logits } = memnetForward(model, batch, { linear });
  return { loss: crossEntropy(logits, batch.answers, 'sum'), logits };
}

function countWrong(logits: Tensor, answers: Int32Array): number {
  const classes = logits.shape[1] as number;
  const values = logits.dataSync();
  let wrong = 0;
  for (let b = 0; b < answers.length; b++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if ((values[b * classes + c] as number) > (values[b * classes + best] as number)) best = c;
    if (best !== answers[b]) wrong++;
  }
  return wrong;
}

/** Loss and error of a model over examples. */
export interface MemnetEvaluation {
  /** Mean cross-entropy per example (nats). */
  loss: number;
  /** Fraction answered wrongly. */
  error: number;
  /** Examples answered wrongly. */
  wrong: number;
  /** Examples evaluated. */
  count: number;
}

/**
 * Evaluates without recording a tape (softmax attention unless `linear`).
 * @param model - the memory network
 * @param examples - the examples to answer
 * @param vocabulary - the model's vocabulary
 * @param options - the batch size (default 100) and linear start
 */
export function evaluateMemnet(
  model: MemnetModel,
  examples: readonly BabiExample[],
  vocabulary: Vocabulary,
  options: { batchSize?: number; linear?: boolean } = {},
): MemnetEvaluation {
  const batchSize = options.batchSize ?? 100;
  let loss = 0;
  let wrong = 0;
  noGrad(() => {
    for (let start = 0; start < examples.length; start += batchSize) {
      const batch = encodeBatch(examples.slice(start, start + batchSize), vocabulary, model.config);
      const result = batchLoss(model, batch, options.linear ?? false);
      loss += result.loss.item();
      wrong += countWrong(result.logits, batch.answers);
    }
  });
  const count = examples.length;
  return { loss: loss / Math.max(count, 1), error: wrong / Math.max(count, 1), wrong, count };
}

/** What one optimisation step measured. */
export interface MemnetStepResult {
  /** Summed loss of the batch. */
  loss: number;
  /** Examples answered wrongly (before the update). */
  wrong: number;
  /** Gradient norm before clipping (the largest per-matrix norm with per-parameter clipping). */
  gradientNorm: number;
}

/**
 * One SGD step on a batch: forward, backward, NaN/Inf check (throws {@link NonFiniteError} naming
 * the step, before touching the weights), gradient-norm clipping, update.
 * @param model - the memory network
 * @param optimizer - the optimizer that takes the step
 * @param batch - the encoded examples
 * @param options - linear start, the gradient-norm limit and how it is applied, and the step number
 */
export function trainStep(
  model: MemnetModel,
  optimizer: Optimizer,
  batch: MemnetBatch,
  options: { linear: boolean; maxGradNorm: number; clipping?: MemnetSchedule['clipping']; step: number },
): MemnetStepResult {
  optimizer.zeroGrad();
  const { loss, logits } = batchLoss(model, batch, options.linear);
  const lossValue = loss.item();
  if (!Number.isFinite(lossValue)) throw new NonFiniteError(options.step, `the loss (${lossValue})`);
  const wrong = countWrong(logits, batch.answers);
  loss.backward();
  const limit = options.maxGradNorm > 0 ? options.maxGradNorm : Number.POSITIVE_INFINITY;
  const params = parameterList(model.params);
  // The largest norm before clipping: of one weight matrix (per-parameter) or of all (global).
  const gradientNorm =
    (options.clipping ?? 'per-parameter') === 'per-parameter'
      ? Math.max(...params.map((p) => clipGradientsByNorm([p], limit)))
      : clipGradientsByNorm(params, limit);
  if (!Number.isFinite(gradientNorm)) throw new NonFiniteError(options.step, `the gradient norm (${gradientNorm})`);
  optimizer.step();
  return { loss: lossValue, wrong, gradientNorm };
}

/** One epoch's record. */
export interface EpochReport {
  /** 0-based epoch index. */
  epoch: number;
  /** Total epochs of the schedule. */
  epochs: number;
  /** Linear start or the main phase. */
  phase: 'linear' | 'main';
  /** η used. */
  learningRate: number;
  /** Mean training loss per example during the epoch (the weights changed along the way). */
  trainLoss: number;
  /** Training error during the epoch. */
  trainError: number;
  /** Error on the validation examples after the epoch (NaN when there are none). */
  validationError: number;
  /** Mean loss on the validation examples after the epoch. */
  validationLoss: number;
  /** Optimiser steps so far. */
  steps: number;
  /** Seconds this epoch took. */
  seconds: number;
}

/** State that lets training continue exactly (see {@link trainMemnet}'s `resume`). */
export interface MemnetTrainingState {
  /** Epochs finished. */
  epoch: number;
  /** Optimiser steps so far. */
  steps: number;
  /** The data generator's state after `epoch` epochs. */
  rngState: [number, number, number, number];
}

/** Options for {@link trainMemnet}. */
export interface TrainMemnetOptions {
  /** The recipe (default {@link PER_TASK_SCHEDULE}). */
  schedule?: MemnetSchedule;
  /** Seed for shuffling and time noise (default 1). Ignored when resuming. */
  seed?: number;
  /** Held-out examples, evaluated after every epoch. */
  validation?: readonly BabiExample[];
  /** The optimiser; default plain SGD over the model's weights (the paper's). */
  optimizer?: Optimizer;
  /** Continue from a saved state (a checkpoint's). */
  resume?: MemnetTrainingState;
  /**
   * Called after each epoch with the report and the state to save for resuming; return `'stop'`
   * to end training early (a time limit, Ctrl-C). May be async (checkpoint writes).
   */
  onEpoch?: (report: EpochReport, state: MemnetTrainingState) => undefined | 'stop' | Promise<undefined | 'stop'>;
}

/** What {@link trainMemnet} returns. */
export interface TrainMemnetResult {
  /** One report per epoch run by this call. */
  history: EpochReport[];
  /** Where training stopped. */
  state: MemnetTrainingState;
}

/**
 * Trains with the paper's recipe: seeded shuffling, random time noise, linear start, then SGD with
 * step decay and gradient-norm clipping. Deterministic for a seed; resumable at epoch boundaries.
 * @param model - the memory network
 * @param examples - the training examples
 * @param vocabulary - the model's vocabulary
 * @param options - schedule, seed, validation, hooks and `resume`
 */
export async function trainMemnet(
  model: MemnetModel,
  examples: readonly BabiExample[],
  vocabulary: Vocabulary,
  options: TrainMemnetOptions = {},
): Promise<TrainMemnetResult> {
  const schedule = options.schedule ?? PER_TASK_SCHEDULE;
  if (examples.length === 0) throw new EngramError('trainMemnet: no training examples');
  const rng = options.resume ? Random.fromState(options.resume.rngState) : new Random(options.seed ?? 1);
  const optimizer = options.optimizer ?? new SGD(parameterList(model.params), schedule.learningRate);
  let steps = options.resume?.steps ?? 0;
  const history: EpochReport[] = [];
  const epochs = totalEpochs(schedule);
  let epoch = options.resume?.epoch ?? 0;
  while (epoch < epochs) {
    const started = performance.now();
    const plan = epochPlan(schedule, epoch);
    optimizer.learningRate = plan.learningRate;
    const linear = plan.phase === 'linear';
    const order = rng.permutation(examples.length);
    let loss = 0;
    let wrong = 0;
    for (let start = 0; start < order.length; start += schedule.batchSize) {
      const picked = Array.from(order.subarray(start, start + schedule.batchSize), (i) => examples[i] as BabiExample);
      const batch = encodeBatch(picked, vocabulary, model.config, { timeNoise: schedule.timeNoise, rng });
      steps++;
      const result = trainStep(model, optimizer, batch, { linear, maxGradNorm: schedule.maxGradNorm, clipping: schedule.clipping, step: steps });
      loss += result.loss;
      wrong += result.wrong;
    }
    const validation = options.validation && options.validation.length > 0 ? evaluateMemnet(model, options.validation, vocabulary, { linear }) : undefined;
    epoch++;
    const report: EpochReport = {
      epoch: epoch - 1,
      epochs,
      phase: plan.phase,
      learningRate: plan.learningRate,
      trainLoss: loss / examples.length,
      trainError: wrong / examples.length,
      validationError: validation?.error ?? Number.NaN,
      validationLoss: validation?.loss ?? Number.NaN,
      steps,
      seconds: (performance.now() - started) / 1000,
    };
    history.push(report);
    const state: MemnetTrainingState = { epoch, steps, rngState: rng.state() };
    if ((await options.onEpoch?.(report, state)) === 'stop') break;
  }
  return { history, state: { epoch, steps, rngState: rng.state() } };
}
