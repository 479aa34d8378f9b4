import type { SequenceBatch } from '@engram/datasets';
import type { Tensor } from '@engram/tensor';
import type { FusedSequenceResult } from './fused-sequence.js';
import { type NtmModel, type NtmState, initialNtmState, ntmStep } from './model.js';

/**
 * Any memory-augmented recurrent network that this package's sequence training trains: one time step
 * at a time over a batch, from an initial state. The NTM is one ({@link asRecurrent} adapts an
 * {@link NtmModel}); @engram/dnc's Differentiable Neural Computer is another. `runSequence`,
 * `sequenceLoss`, `trainBatch`, `evaluateBatch` and `trainNtm` take either.
 */
export interface RecurrentMemoryModel<State = unknown> {
  /** What the model is called in messages ('NTM', 'DNC'). */
  readonly name: string;
  /** Width of the external input x_t. */
  readonly inputSize: number;
  /** Width of the output y_t. */
  readonly outputSize: number;
  /** The trainable parameters as a tree (what `parameterList` flattens). */
  readonly params: object;
  /**
   * The state at the start of a sequence.
   * @param batch - how many sequences run side by side
   */
  initialState(batch: number): State;
  /**
   * One time step.
   * @param state - the state before the step
   * @param x - the input, `[batch, inputSize]`
   * @param options - `output`: compute y_t (false on steps that are not scored)
   */
  step(state: State, x: Tensor, options: { output: boolean }): RecurrentStep<State>;
  /**
   * Optional: a whole batch forward and backward without the tape, written out by hand (the DNC has one). The
   * training loop uses it when it returns a result, and runs `step` on the tape when it returns null (a model or
   * backend it does not cover). It must give the tape's loss and gradients (`sequenceLoss`'s, up to rounding).
   * @param batch - the sequences
   * @param sequences - what the summed loss is divided by (the whole batch's size when this is a shard of it)
   */
  sequenceGradients?(batch: SequenceBatch, sequences: number): FusedSequenceResult | null;
  /**
   * Optional: a batch's loss (nats per sequence) and wrong bits from a forward pass without the tape, for evaluation;
   * null where the model has none for this batch (`evaluateBatch` then runs `step`).
   * @param batch - the sequences
   */
  sequenceEvaluation?(batch: SequenceBatch): SequenceEvaluation | null;
}

/** A batch's loss and wrong bits from a forward pass without the tape ({@link RecurrentMemoryModel.sequenceEvaluation}). */
export interface SequenceEvaluation {
  /** Binary cross-entropy over the scored bits, nats per sequence. */
  loss: number;
  /** Wrong bits over the batch's sequences (not averaged). */
  wrongBits: number;
}

/** What one {@link RecurrentMemoryModel.step} returns. */
export interface RecurrentStep<State> {
  /** y_t logits, `[batch, outputSize]` (null when the step was asked to skip the output). */
  output: Tensor | null;
  /** The state after the step. */
  state: State;
}

/** What the sequence training takes: an NTM, or any {@link RecurrentMemoryModel}. */
export type SequenceModel = NtmModel | RecurrentMemoryModel;

/**
 * The {@link RecurrentMemoryModel} view of a model: an NTM is wrapped (its step is `ntmStep`), any
 * other model is returned as it is.
 * @param model - an NTM or a recurrent memory model
 */
export function asRecurrent(model: SequenceModel): RecurrentMemoryModel {
  if ('initialState' in model) return model;
  const ntm: RecurrentMemoryModel<NtmState> = {
    name: 'NTM',
    inputSize: model.config.inputSize,
    outputSize: model.config.outputSize,
    params: model.params,
    initialState: (batch) => initialNtmState(model, batch),
    step: (state, x, options) => ntmStep(model, state, x, options),
  };
  return ntm as RecurrentMemoryModel;
}
