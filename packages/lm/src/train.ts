import {
  EngramError,
  NonFiniteError,
  Random,
  SGD,
  type StepOptions,
  type Tensor,
  crossEntropy,
  gradientNorm as globalNorm,
  mul,
  normClipScale,
  parameterList,
  tensor,
  YIELD_EVERY_MS,
  eventYielder,
} from '@engram/tensor';
import type { SharedStep } from '@engram/tensor/workers';
import { type Streams, streamRows, toStreams, windowAt, windowCount } from './data.js';
import { type LmDropoutMasks, type LmModel, type LmState, detachState, drawDropoutMasks, initialLmState, lmForward, readText } from './model.js';
import { type LmRecipe, learningRateAt } from './recipes.js';

/** One finished epoch, as kept in the training state and shown in the learning curve. */
export interface LmEpochRecord {
  /** 0-based epoch. */
  epoch: number;
  /** η during the epoch. */
  learningRate: number;
  /** Perplexity on the training text during the epoch (exp of the mean nats per word). */
  trainPerplexity: number;
  /** Perplexity on the validation text after the epoch. */
  validPerplexity: number;
  /** Training seconds when the epoch ended. */
  seconds: number;
}

/** Where training stands: everything besides the weights, optimizer and carried state that an exact resume needs. */
export interface LmTrainingState {
  /** Optimisation steps done in all. */
  step: number;
  /** The current epoch, 0-based. */
  epoch: number;
  /** The next window of the epoch to train on. */
  window: number;
  /** Training words read in all. */
  tokens: number;
  /** Training seconds so far (over every session). */
  seconds: number;
  /** The dropout generator's state. */
  rngState: [number, number, number, number];
  /** Nats summed over the epoch's windows so far. */
  epochNats: number;
  /** Words in the epoch's windows so far. */
  epochTokens: number;
  /** The finished epochs. */
  history: LmEpochRecord[];
}

/** A snapshot to save: what {@link trainLm} hands to `onCheckpoint`, and takes back as `resume`. */
export interface LmTrainingSnapshot {
  /** Where training stands. */
  training: LmTrainingState;
  /** The recurrent state carried into the next window (h and c per layer, `[batch, H]`). */
  carried: LmState;
  /** The optimizer (SGD), whose learning rate and state go into the checkpoint. */
  optimizer: SGD;
}

/** What one step reports to `onStep`. */
export interface LmStepReport {
  /** Steps done in all. */
  step: number;
  /** Epoch (0-based) and window within it. */
  epoch: number;
  /** The window just trained (0-based). */
  window: number;
  /** Windows per epoch. */
  windows: number;
  /** Nats per word on this window (before the update). */
  loss: number;
  /** Perplexity over the epoch so far. */
  epochPerplexity: number;
  /** Global gradient norm before clipping. */
  gradientNorm: number;
  /** η in use. */
  learningRate: number;
  /** Training words read in all. */
  tokens: number;
  /** Training seconds in all. */
  seconds: number;
}

/** {@link trainLm} ran every epoch. */
export interface LmFinished {
  /** How it ended. */
  kind: 'finished';
}

/** {@link trainLm} stopped because `shouldStop` said so (a checkpoint was offered first). */
export interface LmInterrupted {
  /** How it ended. */
  kind: 'interrupted';
  /** Steps done. */
  step: number;
}

/** {@link trainLm} met a NaN or infinite loss or gradient; the weights are those before that step. */
export interface LmNonFinite {
  /** How it ended. */
  kind: 'non-finite';
  /** The step that failed. */
  step: number;
  /** What was not finite. */
  message: string;
}

/** How {@link trainLm} ended. */
export type LmTrainOutcome = LmFinished | LmInterrupted | LmNonFinite;

/** Options of {@link trainLm}. All hooks may be async; training waits for them. */
export interface TrainLmOptions {
  /** The recipe: batch, unroll, epochs, learning-rate schedule, gradient norm. */
  recipe: LmRecipe;
  /** Seeds the dropout masks (default 1). */
  seed?: number;
  /** Continue from a snapshot (as saved from `onCheckpoint`) instead of starting afresh. */
  resume?: LmTrainingSnapshot;
  /** Call `onCheckpoint` every this many steps (default 500), and at each epoch's end and on stopping. */
  checkpointEvery?: number;
  /** Words per evaluation window (default 100; the state is carried, so any value gives the same perplexity). */
  evalUnroll?: number;
  /** After every step. */
  onStep?: (report: LmStepReport) => void | Promise<void>;
  /** During the validation pass after each epoch: words done of total. */
  onEvaluateProgress?: (done: number, total: number) => void;
  /** After each epoch's validation. */
  onEpoch?: (record: LmEpochRecord) => void | Promise<void>;
  /** With a snapshot to save (the caller writes the checkpoint). */
  onCheckpoint?: (snapshot: LmTrainingSnapshot) => void | Promise<void>;
  /** Checked between steps; true stops training with a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Computes each window's gradients (default: on this thread; see `createLmWorkers` from `@engram/lm/workers` for every core). */
  gradients?: LmGradients;
}

/**
 * Where a window's loss and gradients come from. By default the whole window runs on this thread;
 * `createLmWorkers` (from `@engram/lm/workers`, Node) splits its streams across worker threads, and takes the norm and
 * the SGD step from them too ({@link SharedStep}'s `gradientNorm` and `step`, both optional: by default
 * `gradientNorm` of the parameters and `optimizer.step`).
 */
export interface LmGradients extends Partial<SharedStep> {
  /**
   * Fills the gradients of `parameterList(model.params)` for one window and returns its loss
   * (Σ_t mean_b −log p(w_{t+1}), as {@link trainWindow}) and the state after it, detached.
   * @param model - the model being trained
   * @param state - the hidden state carried in
   * @param inputs - word ids, time-major (`unroll × batch`)
   * @param targets - the next word of each input
   * @param batch - how many streams
   * @param masks - the window's dropout masks (undefined without dropout)
   */
  compute(
    model: LmModel,
    state: LmState,
    inputs: Int32Array,
    targets: Int32Array,
    batch: number,
    masks: LmDropoutMasks | undefined,
  ): Promise<LmGradientsResult>;
}

/** What {@link LmGradients.compute} returns. */
export interface LmGradientsResult {
  /** Σ_t mean_b −log p(w_{t+1}) over the window (before the update). */
  loss: number;
  /** The state after the window, detached. */
  state: LmState;
}

/**
 * Some of a window's streams with their carried state and dropout masks: what one thread computes when a
 * window is split across threads ({@link lmShard}, {@link shardGradients}).
 */
export interface LmShard {
  /** The streams' word ids, time-major (`[t · streams + b]`). */
  inputs: Int32Array;
  /** The next word of each input. */
  targets: Int32Array;
  /** Streams in this shard. */
  streams: number;
  /** Streams in the whole window (the loss is averaged over them). */
  batch: number;
  /** The carried h per layer, `[streams, H]` row-major. */
  h: Float32Array[];
  /** The carried c per layer, `[streams, H]` row-major. */
  c: Float32Array[];
  /** The shard's rows of the window's dropout masks (absent without dropout). */
  masks?: LmDropoutMasks;
}

/** What {@link shardGradients} returns: the shard's part of the loss and its state after the window. */
export interface LmShardResult {
  /** Σ_t Σ_{b in the shard} −log p(w_{t+1}) / batch: the shards' values add up to the window's loss. */
  loss: number;
  /** h per layer after the window, `[streams, H]`. */
  h: Float32Array[];
  /** c per layer after the window, `[streams, H]`. */
  c: Float32Array[];
}

/**
 * Streams `from` … `to − 1` of a window, with their rows of the carried state and the dropout masks.
 * @param state - the hidden state carried into the window (`[batch, H]` per layer)
 * @param inputs - the window's word ids, time-major
 * @param targets - the next word of each input
 * @param batch - streams in the window
 * @param masks - the window's dropout masks (undefined without dropout)
 * @param from - the first stream of the shard
 * @param to - one past its last stream
 */
export function lmShard(
  state: LmState,
  inputs: Int32Array,
  targets: Int32Array,
  batch: number,
  masks: LmDropoutMasks | undefined,
  from: number,
  to: number,
): LmShard {
  const rows = (t: Tensor) => {
    const width = t.shape[1] as number;
    return t.dataSync().slice(from * width, to * width);
  };
  const shard: LmShard = {
    inputs: streamRows(inputs, 1, batch, from, to),
    targets: streamRows(targets, 1, batch, from, to),
    streams: to - from,
    batch,
    h: state.h.map(rows),
    c: state.c.map(rows),
  };
  if (masks) {
    const e = masks.embedding.length / inputs.length;
    const h = (masks.layers[0]?.length ?? 0) / inputs.length;
    shard.masks = { embedding: streamRows(masks.embedding, e, batch, from, to), layers: masks.layers.map((m) => streamRows(m, h, batch, from, to)) };
  }
  return shard;
}

/**
 * One shard's forward and backward pass: the loss Σ_t Σ_b −log p(w_{t+1}) / batch over its streams, its
 * gradients left in the model's parameters (not when the loss is not finite), and its state after the window.
 * @param model - the model (or a worker's replica of it)
 * @param shard - the streams to compute
 */
export function shardGradients(model: LmModel, shard: LmShard): LmShardResult {
  const hidden = model.config.hiddenSize;
  const state: LmState = {
    h: shard.h.map((v) => tensor(v, [shard.streams, hidden])),
    c: shard.c.map((v) => tensor(v, [shard.streams, hidden])),
  };
  const { logits, state: next } = lmForward(model, state, shard.inputs, shard.streams, shard.masks ? { dropoutMasks: shard.masks } : {});
  const loss = mul(crossEntropy(logits, shard.targets, 'sum'), 1 / shard.batch);
  const value = loss.item();
  if (Number.isFinite(value)) loss.backward();
  return { loss: value, h: next.h.map((t) => t.dataSync().slice()), c: next.c.map((t) => t.dataSync().slice()) };
}

/** Lets pending events (a Ctrl-C, a message to a worker) through between steps. */

/**
 * The state at the start of training.
 * @param seed - the seed of the dropout masks (saved in checkpoints)
 */
export function freshTrainingState(seed: number): LmTrainingState {
  return { step: 0, epoch: 0, window: 0, tokens: 0, seconds: 0, rngState: new Random(seed).state(), epochNats: 0, epochTokens: 0, history: [] };
}

/** What one window's training step measured. */
export interface LmWindowResult {
  /** Nats per word, before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradientNorm: number;
  /** The state after the window, detached. */
  state: LmState;
}

/**
 * One step of truncated BPTT on one window: forward from the carried state, loss = Σ_t mean_b
 * −log p(w_{t+1}) (summed over time, averaged over streams, as Zaremba et al.'s code), backward,
 * NaN/Inf check (throws {@link NonFiniteError} before touching the weights), global-norm clipping,
 * SGD update.
 * @param model - the language model
 * @param optimizer - the SGD optimizer
 * @param state - the hidden state carried in
 * @param inputs - word ids, time-major (`unroll × batch`)
 * @param targets - the next word of each input
 * @param batch - how many streams
 * @param options - the gradient-norm limit, dropout (its random source, or the window's masks drawn beforehand) and the step number
 */
export function trainWindow(
  model: LmModel,
  optimizer: SGD,
  state: LmState,
  inputs: Int32Array,
  targets: Int32Array,
  batch: number,
  options: { maxGradNorm: number; dropoutRng?: Random; dropoutMasks?: LmDropoutMasks; step: number },
): LmWindowResult {
  optimizer.zeroGrad();
  const forwardOptions = options.dropoutMasks ? { dropoutMasks: options.dropoutMasks } : options.dropoutRng ? { dropoutRng: options.dropoutRng } : {};
  const { logits, state: next } = lmForward(model, state, inputs, batch, forwardOptions);
  const loss = mul(crossEntropy(logits, targets, 'sum'), 1 / batch);
  const steps = inputs.length / batch;
  const value = loss.item() / steps;
  if (!Number.isFinite(value)) throw new NonFiniteError(options.step, `the loss (${value})`);
  loss.backward();
  return { loss: value, gradientNorm: clipAndStep(optimizer, options.maxGradNorm, options.step), state: detachState(next) };
}

/** The end of every training step: global-norm clipping, the NaN/Inf check, the SGD update. Returns the norm before clipping. */
function clipAndStep(optimizer: SGD, maxGradNorm: number, step: number): number {
  const gradientNorm = globalNorm(optimizer.params);
  optimizer.step(clipOptions(gradientNorm, maxGradNorm, step));
  return gradientNorm;
}

/** The step's global-norm clipping, once the norm is checked finite (a NaN or Inf stops training at this step). */
function clipOptions(gradientNorm: number, maxGradNorm: number, step: number): StepOptions {
  if (!Number.isFinite(gradientNorm)) throw new NonFiniteError(step, `the gradient norm (${gradientNorm})`);
  return { gradientScale: normClipScale(gradientNorm, maxGradNorm) };
}

/**
 * {@link trainWindow} with the gradients from `gradients` (worker threads): the same loss, check, clipping and update.
 * @param model - the language model
 * @param optimizer - the SGD optimizer
 * @param gradients - where the window's gradients are computed
 * @param state - the hidden state carried in
 * @param inputs - word ids, time-major (`unroll × batch`)
 * @param targets - the next word of each input
 * @param batch - how many streams
 * @param options - the gradient-norm limit, the window's dropout masks and the step number
 */
export async function trainWindowWith(
  model: LmModel,
  optimizer: SGD,
  gradients: LmGradients,
  state: LmState,
  inputs: Int32Array,
  targets: Int32Array,
  batch: number,
  options: { maxGradNorm: number; dropoutMasks?: LmDropoutMasks; step: number },
): Promise<LmWindowResult> {
  optimizer.zeroGrad();
  const result = await gradients.compute(model, state, inputs, targets, batch, options.dropoutMasks);
  const value = result.loss / (inputs.length / batch);
  if (!Number.isFinite(value)) throw new NonFiniteError(options.step, `the loss (${value})`);
  // The norm and the update from the threads where they share them (the same clipping and check as clipAndStep's).
  const gradientNorm = gradients.gradientNorm?.() ?? globalNorm(optimizer.params);
  const stepOptions = clipOptions(gradientNorm, options.maxGradNorm, options.step);
  if (gradients.step) await gradients.step(optimizer, stepOptions);
  else optimizer.step(stepOptions);
  return { loss: value, gradientNorm, state: result.state };
}

/**
 * Trains a language model on `train` with a recipe (truncated BPTT over `batch` parallel streams,
 * the hidden state carried from window to window and reset each epoch, SGD with global-norm
 * clipping, η decayed by epoch), evaluating perplexity on `valid` after every epoch. Resumes exactly
 * (bit for bit) from a snapshot given to `onCheckpoint`. The caller owns files and printing: this
 * loop only calls the hooks.
 *
 * @param data word ids of the training and validation texts
 * @param model - the language model
 * @param options - recipe, seed, checkpoint cadence, hooks and `resume`
 * @example
 * ```ts
 * const recipe = LM_RECIPES.small;
 * const model = createLm({ ...recipe.model, vocabularySize: 10000 }, new Random(1));
 * await trainLm(model, { train, valid }, { recipe, onEpoch: (e) => console.log(e.epoch, e.validPerplexity) });
 * ```
 */
export async function trainLm(model: LmModel, data: { train: Int32Array; valid: Int32Array }, options: TrainLmOptions): Promise<LmTrainOutcome> {
  const { recipe } = options;
  const streams: Streams = toStreams(data.train, recipe.batch);
  const windows = windowCount(streams, recipe.unroll);
  if (windows < 1)
    throw new EngramError(`trainLm: the training text (${data.train.length} words) is too short for batch ${recipe.batch} and unroll ${recipe.unroll}`);
  const checkpointEvery = options.checkpointEvery ?? 500;
  const snapshot: LmTrainingSnapshot = options.resume ?? {
    training: freshTrainingState(options.seed ?? 1),
    carried: initialLmState(model, recipe.batch),
    optimizer: new SGD(parameterList(model.params), recipe.learningRate),
  };
  const { training, optimizer } = snapshot;
  const rng = Random.fromState(training.rngState);
  const dropoutRng = model.config.dropout > 0 ? rng : undefined;
  let carried = snapshot.carried;
  const started = performance.now();
  const secondsBefore = training.seconds;
  const elapsed = () => secondsBefore + (performance.now() - started) / 1000;
  let lastCheckpoint = training.step;
  // Other events (a Ctrl-C, a page's pause) are let through between steps, at most every YIELD_EVERY_MS.
  const maybeYield = eventYielder(YIELD_EVERY_MS);
  const checkpoint = async () => {
    training.seconds = elapsed();
    training.rngState = rng.state();
    lastCheckpoint = training.step;
    await options.onCheckpoint?.({ training, carried, optimizer });
  };

  while (training.epoch < recipe.epochs) {
    optimizer.learningRate = learningRateAt(recipe, training.epoch);
    while (training.window < windows) {
      if (options.shouldStop?.()) {
        await checkpoint();
        return { kind: 'interrupted', step: training.step };
      }
      const { inputs, targets, steps } = windowAt(streams, training.window * recipe.unroll, recipe.unroll);
      let result: LmWindowResult;
      try {
        const masks = dropoutRng ? drawDropoutMasks(model, steps, recipe.batch, dropoutRng) : undefined;
        const stepOptions = { maxGradNorm: recipe.maxGradNorm, step: training.step + 1, ...(masks ? { dropoutMasks: masks } : {}) };
        result = options.gradients
          ? await trainWindowWith(model, optimizer, options.gradients, carried, inputs, targets, recipe.batch, stepOptions)
          : trainWindow(model, optimizer, carried, inputs, targets, recipe.batch, stepOptions);
      } catch (error) {
        if (error instanceof NonFiniteError) return { kind: 'non-finite', step: training.step + 1, message: error.message };
        throw error;
      }
      carried = result.state;
      training.step++;
      training.window++;
      training.tokens += steps * recipe.batch;
      training.epochNats += result.loss * steps;
      training.epochTokens += steps;
      await options.onStep?.({
        step: training.step,
        epoch: training.epoch,
        window: training.window - 1,
        windows,
        loss: result.loss,
        epochPerplexity: Math.exp(training.epochNats / training.epochTokens),
        gradientNorm: result.gradientNorm,
        learningRate: optimizer.learningRate,
        tokens: training.tokens,
        seconds: elapsed(),
      });
      if (training.step - lastCheckpoint >= checkpointEvery) await checkpoint();
      await maybeYield();
    }
    const valid = evaluateLm(model, data.valid, {
      unroll: options.evalUnroll ?? 100,
      ...(options.onEvaluateProgress ? { onProgress: options.onEvaluateProgress } : {}),
    });
    const record: LmEpochRecord = {
      epoch: training.epoch,
      learningRate: optimizer.learningRate,
      trainPerplexity: Math.exp(training.epochNats / training.epochTokens),
      validPerplexity: valid.perplexity,
      seconds: elapsed(),
    };
    training.history.push(record);
    training.epoch++;
    training.window = 0;
    training.epochNats = 0;
    training.epochTokens = 0;
    carried = initialLmState(model, recipe.batch);
    await options.onEpoch?.(record);
    await checkpoint();
  }
  return { kind: 'finished' };
}

/** What {@link evaluateLm} measured. */
export interface LmEvaluation {
  /** exp(nats / words). */
  perplexity: number;
  /** −Σ log p(w_{t+1}) in nats. */
  nats: number;
  /** Words predicted. */
  tokens: number;
}

/** Options of {@link evaluateLm}. */
export interface EvaluateLmOptions {
  /** Words per forward pass (default 100); the state is carried, so the result does not depend on it. */
  unroll?: number;
  /** After each window: words done of total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Perplexity of the model on a text read as one stream from the zero state (batch 1, every word
 * predicted from all the words before it, as Zaremba et al. evaluate): exp(−(1/N) Σ log p(w_{t+1} | w_{≤t})).
 * @param model - the language model
 * @param ids - the text as word ids
 * @param options - the unroll and progress reporting
 * @example
 * ```ts
 * const { model } = await loadLm('runs/lm-small/model.safetensors');
 * const corpus = await loadPtbCorpus('data/ptb');
 * console.log(evaluateLm(model, corpus.test).perplexity);
 * ```
 */
export function evaluateLm(model: LmModel, ids: Int32Array, options: EvaluateLmOptions = {}): LmEvaluation {
  let nats = 0;
  let tokens = 0;
  const total = ids.length - 1;
  readText(model, ids, { unroll: options.unroll ?? 100 }, ({ window, logits }) => {
    nats += crossEntropy(logits as Tensor, window.targets, 'sum').item();
    tokens += window.targets.length;
    options.onProgress?.(tokens, total);
  });
  return { perplexity: Math.exp(nats / tokens), nats, tokens };
}

/**
 * The tensors a checkpoint needs for the carried state (`state.h.0`, `state.c.0`, …).
 * @param state - the hidden state carried across windows
 */
export function carriedStateTensors(state: LmState): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  state.h.forEach((t, l) => {
    out[`state.h.${l}`] = t;
  });
  state.c.forEach((t, l) => {
    out[`state.c.${l}`] = t;
  });
  return out;
}
