import type { SequenceBatch } from '@engram/datasets';
import {
  EngramError,
  NonFiniteError,
  type Optimizer,
  type Tensor,
  binaryCrossEntropyWithLogits,
  gradientNorm as globalNorm,
  normClipScale,
  concat,
  mul,
  noGrad,
  parameterList,
  sum,
  tensor,
} from '@engram/tensor';
import { type FusedSequenceResult, fusedSequenceEvaluation, fusedSequenceGradients, fusedSequenceSupported } from './fused-sequence.js';
import { stepSlice } from './model.js';
import { type SequenceModel, asRecurrent } from './recurrent.js';

/** `NonFiniteError` (from `@engram/tensor`), which `trainBatch` throws, for callers that import it from here. */
export { NonFiniteError };

/** What {@link runSequence} returns. */
export interface SequenceRun {
  /** Output logits per step, `[batch, outputSize]` (null on steps that were skipped). */
  logits: (Tensor | null)[];
  /** The state after the last step (an `NtmState` for an NTM). */
  state: unknown;
}

/**
 * Runs the NTM over a batch of sequences from the initial state. With `scoredOnly`, the output
 * layer runs only on steps where some sequence is scored (training needs no other outputs).
 * @param model - the NTM (or any recurrent memory model)
 * @param batch - the input and target sequences
 * @param options - `scoredOnly`: compute outputs only on the steps that are scored
 */
export function runSequence(model: SequenceModel, batch: SequenceBatch, options: { scoredOnly?: boolean } = {}): SequenceRun {
  const recurrent = asRecurrent(model);
  if (batch.inputWidth !== recurrent.inputSize || batch.outputWidth !== recurrent.outputSize) {
    throw new EngramError(
      `runSequence: the batch has input width ${batch.inputWidth} and output width ${batch.outputWidth}; the ${recurrent.name} expects ${recurrent.inputSize} and ${recurrent.outputSize}`,
    );
  }
  let state = recurrent.initialState(batch.batch);
  const logits: (Tensor | null)[] = [];
  for (let t = 0; t < batch.steps; t++) {
    const scored = !options.scoredOnly || batch.mask.subarray(t * batch.batch, (t + 1) * batch.batch).some((m) => m > 0);
    const step = recurrent.step(state, stepSlice(batch.inputs, t, batch.batch, batch.inputWidth), { output: scored });
    logits.push(step.output);
    state = step.state;
  }
  return { logits, state };
}

/** What {@link sequenceLoss} returns. */
export interface SequenceLoss {
  /** Binary cross-entropy summed over the scored bits, averaged over sequences (nats per sequence). */
  loss: Tensor;
  /** The run it came from. */
  run: SequenceRun;
}

/**
 * The training loss of a batch: masked binary cross-entropy summed over the scored bits and divided by
 * the number of sequences (nats per sequence).
 * @param model - the NTM (or any recurrent memory model)
 * @param batch - the input and target sequences
 * @param sequences - what the sum is divided by (default the batch's size; a shard of a larger batch passes that batch's)
 */
export function sequenceLoss(model: SequenceModel, batch: SequenceBatch, sequences = batch.batch): SequenceLoss {
  const run = runSequence(model, batch, { scoredOnly: true });
  const steps = run.logits.flatMap((l, t) => (l === null ? [] : [t]));
  const logits = concat(
    steps.map((t) => run.logits[t] as Tensor),
    0,
  );
  const rows = steps.length * batch.batch;
  const width = batch.outputWidth;
  const targets = new Float32Array(rows * width);
  const mask = new Float32Array(rows);
  steps.forEach((t, k) => {
    targets.set(batch.targets.subarray(t * batch.batch * width, (t + 1) * batch.batch * width), k * batch.batch * width);
    mask.set(batch.mask.subarray(t * batch.batch, (t + 1) * batch.batch), k * batch.batch);
  });
  const perBit = binaryCrossEntropyWithLogits(logits, tensor(targets, [rows, width], { backend: logits.backend }), 'none');
  const loss = mul(sum(mul(perBit, tensor(mask, [rows, 1], { backend: logits.backend }))), 1 / sequences);
  return { loss, run };
}

/** What {@link shardGradients} returns for a shard of a batch. */
export interface SequenceShardResult {
  /** The shard's part of the batch's loss (its summed cross-entropy divided by the whole batch's size). */
  loss: number;
  /** Wrong bits over the shard's sequences (not averaged). */
  wrongBits: number;
}

/**
 * One shard's forward and backward pass (data parallelism): the loss of its sequences divided by the whole
 * batch's size, so the shards' losses and gradients add up to the batch's; the gradients are left in the
 * model's parameters (not when the loss is not finite).
 * @param model - the model (or a worker's replica of it)
 * @param shard - some of the batch's sequences (`sliceSequences`)
 * @param sequences - the whole batch's size
 */
export function shardGradients(model: SequenceModel, shard: SequenceBatch, sequences: number): SequenceShardResult {
  const fused = fusedGradients(model, shard, sequences);
  if (fused !== null) return { loss: fused.loss, wrongBits: fused.wrongBits };
  const { loss, run } = sequenceLoss(model, shard, sequences);
  const value = loss.item();
  if (Number.isFinite(value)) loss.backward();
  return { loss: value, wrongBits: Math.round(errorBits(shard, run.logits) * shard.batch) };
}

/**
 * Where a batch's loss and gradients come from. By default the whole batch runs on this thread;
 * `createNtmWorkers` (from `@engram/ntm/workers`) or `createDncWorkers` (`@engram/dnc/workers`) split its
 * sequences across worker threads.
 */
export interface SequenceGradients {
  /**
   * Fills the gradients of `parameterList(model.params)` for a batch and returns its loss (nats per
   * sequence) and error bits per sequence.
   * @param model - the model being trained
   * @param batch - the sequences
   */
  compute(model: SequenceModel, batch: SequenceBatch): Promise<SequenceGradientsResult>;
}

/** What {@link SequenceGradients.compute} returns. */
export interface SequenceGradientsResult {
  /** Loss, nats per sequence (before the update). */
  loss: number;
  /** Error bits per sequence on the batch (before the update). */
  errorBits: number;
}

/**
 * Error bits per sequence: outputs thresholded at ½ (logit 0) against the targets, counted over
 * the scored steps and averaged over the batch — the measure the NTM papers and pytorch-ntm report.
 * @param batch - the sequences whose targets are compared
 * @param logits - the model's output logits per time step (null where a step is not scored)
 */
export function errorBits(batch: SequenceBatch, logits: readonly (Tensor | null)[]): number {
  let wrong = 0;
  const width = batch.outputWidth;
  logits.forEach((l, t) => {
    if (l === null) return;
    const data = l.dataSync();
    for (let b = 0; b < batch.batch; b++) {
      if ((batch.mask[t * batch.batch + b] as number) === 0) continue;
      for (let i = 0; i < width; i++) {
        const predicted = (data[b * width + i] as number) > 0 ? 1 : 0;
        if (predicted !== batch.targets[(t * batch.batch + b) * width + i]) wrong++;
      }
    }
  });
  return wrong / batch.batch;
}

/** Gradient clipping and bookkeeping for {@link trainBatch}. */
export interface TrainBatchOptions {
  /** Clip each gradient element to ±this (the NTM paper: 10). 0 disables. */
  clipValue?: number;
  /** Clip the global gradient norm to this (Collier & Beel: 50). 0 disables. */
  clipNorm?: number;
  /** The step number, for error messages. */
  step?: number;
}

/**
 * An NTM with an LSTM controller on the CPU backend trains without the tape ({@link fusedSequenceGradients}), and
 * so does a recurrent model with its own `sequenceGradients` (the DNC's): the gradients are set on the parameters
 * and the loss and wrong bits returned. Null for any other model, which takes the composed path.
 * `ENGRAM_NTM_TAPE=1` forces the composed path for every model (to compare the two).
 */
function fusedGradients(model: SequenceModel, batch: SequenceBatch, sequences: number): FusedSequenceResult | null {
  if (TAPE_FORCED) return null;
  let result: FusedSequenceResult | null;
  if ('initialState' in model) result = model.sequenceGradients?.(batch, sequences) ?? null;
  else result = fusedSequenceSupported(model) ? fusedSequenceGradients(model, batch, sequences) : null;
  if (result === null) return null;
  if (!Number.isFinite(result.loss)) return result;
  for (const p of parameterList(model.params)) {
    const grad = result.gradients.get(p);
    p.grad = grad === undefined ? null : tensor(grad, p.shape, { backend: p.backend, copy: false });
  }
  return result;
}

/** `ENGRAM_NTM_TAPE=1`, read once at load. */
const TAPE_FORCED = typeof process !== 'undefined' && process.env?.ENGRAM_NTM_TAPE === '1';

/** What one training step measured. */
export interface TrainBatchResult {
  /** Loss, nats per sequence. */
  loss: number;
  /** Error bits per sequence on this batch (before the update). */
  errorBits: number;
  /** Global gradient norm before clipping. */
  gradientNorm: number;
}

/**
 * One optimisation step on a batch: forward, backward, NaN/Inf check (throws
 * {@link NonFiniteError} before touching the weights), clipping, update.
 * @param model - the NTM (or any recurrent memory model)
 * @param optimizer - the optimizer that takes one step
 * @param batch - the sequences to train on
 * @param options - gradient clipping by value and by norm
 */
export function trainBatch(model: SequenceModel, optimizer: Optimizer, batch: SequenceBatch, options: TrainBatchOptions = {}): TrainBatchResult {
  const step = options.step ?? optimizer.stepCount + 1;
  optimizer.zeroGrad();
  const fused = fusedGradients(model, batch, batch.batch);
  if (fused !== null) {
    if (!Number.isFinite(fused.loss)) throw new NonFiniteError(step, `the loss (${fused.loss})`);
    return { loss: fused.loss, errorBits: fused.wrongBits / batch.batch, gradientNorm: clipAndStep(model, optimizer, options, step) };
  }
  const { loss, run } = sequenceLoss(model, batch);
  const lossValue = loss.item();
  if (!Number.isFinite(lossValue)) throw new NonFiniteError(step, `the loss (${lossValue})`);
  loss.backward();
  const gradientNorm = clipAndStep(model, optimizer, options, step);
  return { loss: lossValue, errorBits: errorBits(batch, run.logits), gradientNorm };
}

/**
 * {@link trainBatch} with the gradients from `gradients` (worker threads): the same check, clipping and update.
 * @param model - the NTM (or any recurrent memory model)
 * @param optimizer - the optimizer that takes one step
 * @param gradients - where the batch's gradients are computed
 * @param batch - the sequences to train on
 * @param options - gradient clipping by value and by norm
 */
export async function trainBatchWith(
  model: SequenceModel,
  optimizer: Optimizer,
  gradients: SequenceGradients,
  batch: SequenceBatch,
  options: TrainBatchOptions = {},
): Promise<TrainBatchResult> {
  const step = options.step ?? optimizer.stepCount + 1;
  optimizer.zeroGrad();
  const result = await gradients.compute(model, batch);
  if (!Number.isFinite(result.loss)) throw new NonFiniteError(step, `the loss (${result.loss})`);
  return { ...result, gradientNorm: clipAndStep(model, optimizer, options, step) };
}

/** The end of every training step: clipping by norm (with the NaN/Inf check) and by value, then the update. Returns the norm before clipping. */
function clipAndStep(model: SequenceModel, optimizer: Optimizer, options: TrainBatchOptions, step: number): number {
  const params = parameterList(model.params);
  const gradientNorm = globalNorm(params);
  if (!Number.isFinite(gradientNorm)) throw new NonFiniteError(step, `the gradient norm (${gradientNorm})`);
  optimizer.step({
    gradientScale: options.clipNorm && options.clipNorm > 0 ? normClipScale(gradientNorm, options.clipNorm) : 1,
    ...(options.clipValue && options.clipValue > 0 ? { clipValue: options.clipValue } : {}),
  });
  return gradientNorm;
}

/** What {@link evaluateBatch} measured. */
export interface Evaluation {
  /** Loss, nats per sequence. */
  loss: number;
  /** Error bits per sequence. */
  errorBits: number;
}

/**
 * Error bits per sequence of the model on a batch, without recording a tape.
 * @param model - the NTM (or any recurrent memory model)
 * @param batch - the sequences to run (no gradient is kept)
 */
export function evaluateBatch(model: SequenceModel, batch: SequenceBatch): Evaluation {
  // The forward pass as one kernel call where the model has one (the NTM's and the DNC's whole-sequence kernels).
  const fast = TAPE_FORCED ? null : 'initialState' in model ? (model.sequenceEvaluation?.(batch) ?? null) : fusedSequenceEvaluation(model, batch);
  if (fast !== null) return { loss: fast.loss, errorBits: fast.wrongBits / batch.batch };
  return noGrad(() => {
    const { loss, run } = sequenceLoss(model, batch);
    return { loss: loss.item(), errorBits: errorBits(batch, run.logits) };
  });
}
