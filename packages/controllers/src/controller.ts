import { EngramError, type Random, type Tensor } from '@engram/tensor';
import { type FeedForwardParameters, createFeedForward, feedForwardStep } from './feed-forward.js';
import { type GruParameters, type GruState, createGru, gruStep, initialGruState } from './gru.js';
import { type LinearParameters, createLinear, linear } from './linear.js';
import { type LstmParameters, type LstmState, type StepResult, createLstm, initialLstmState, lstmStep } from './lstm.js';

/** The controllers Engram has. */
export const CONTROLLER_KINDS = ['lstm', 'gru', 'feedforward', 'linear'] as const;
/** One controller's name. */
export type ControllerKind = (typeof CONTROLLER_KINDS)[number];

/** The parameter tree of any controller (what is saved under `controller.` in a model file). */
export type ControllerParameters = LstmParameters | GruParameters | FeedForwardParameters | LinearParameters;

/**
 * The one interface a memory model drives a controller through: state in, state out. A model
 * asks for `initialState`, calls `step` once per time step and never looks at the kind; its
 * `parameters` are the tensors to train and save. Stateless controllers carry `null`.
 *
 * @typeParam S the recurrent state (opaque to the model)
 */
export interface Controller<S = unknown> {
  /** Which controller this is (for display and files, never for dispatch). */
  readonly kind: ControllerKind;
  /** Width of `step`'s output. */
  readonly outputSize: number;
  /** The trainable tensors, as a plain tree. */
  readonly parameters: ControllerParameters;
  /**
   * The state at the start of a sequence, for a batch.
   * @param batch - how many sequences run side by side
   */
  initialState(batch: number): S;
  /**
   * One time step: x `[batch, input]` → the output `[batch, outputSize]` and the next state.
   * @param state - the state the previous step returned (or `initialState`)
   * @param x - this time step's input, [batch, inputSize]
   */
  step(state: S, x: Tensor): StepResult<S>;
}

/**
 * An LSTM (stacked, fused cell) as a {@link Controller}.
 * @param params - the LSTM's weights, from `createLstm`
 */
export function lstmController(params: LstmParameters): Controller<LstmState> {
  return {
    kind: 'lstm',
    outputSize: params.hiddenSize,
    parameters: params,
    initialState: (batch) => initialLstmState(params, batch),
    step: (state, x) => lstmStep(params, state, x),
  };
}

/**
 * A GRU as a {@link Controller}.
 * @param params - the GRU's weights, from `createGru`
 */
export function gruController(params: GruParameters): Controller<GruState> {
  return {
    kind: 'gru',
    outputSize: params.hiddenSize,
    parameters: params,
    initialState: (batch) => initialGruState(params, batch),
    step: (state, x) => gruStep(params, state, x),
  };
}

/**
 * A feed-forward (MLP, tanh) controller: stateless.
 * @param params - the network's weights, from `createFeedForward`
 */
export function feedForwardController(params: FeedForwardParameters): Controller<null> {
  const last = params.layers[params.layers.length - 1];
  if (last === undefined) throw new EngramError('feedForwardController: no layers');
  return {
    kind: 'feedforward',
    outputSize: last.weight.shape[1] as number,
    parameters: params,
    initialState: () => null,
    step: (state, x) => ({ output: feedForwardStep(params, x), state }),
  };
}

/**
 * A single dense layer (no activation): stateless.
 * @param params - the layer's weights, from `createLinear`
 */
export function linearController(params: LinearParameters): Controller<null> {
  return {
    kind: 'linear',
    outputSize: params.weight.shape[1] as number,
    parameters: params,
    initialState: () => null,
    step: (state, x) => ({ output: linear(params, x), state }),
  };
}

/** What {@link createController} builds. */
export interface ControllerSpec {
  /** Which controller. */
  kind: ControllerKind;
  /** Units per layer (the output width). */
  hiddenSize: number;
  /** Layers (recurrent layers, or hidden layers of the MLP; ignored by `linear`). */
  layers: number;
}

/**
 * A new controller of any kind with weights drawn from `rng`: the only place that switches on the
 * kind. The draws are those of `createLstm`, `createGru`, `createFeedForward` and `createLinear`.
 *
 * @param spec - which controller and its sizes: LSTM or GRU (hidden size, layers), feed-forward (hidden sizes) or linear
 * @param inputSize - the width of each step's input
 * @param rng - the seeded random source the initial weights are drawn from
 * @example
 * ```ts
 * const controller = createController({ kind: 'lstm', hiddenSize: 100, layers: 1 }, 29, new Random(1));
 * let state = controller.initialState(1);
 * const { output, state: next } = controller.step(state, x); // x: [1, 29]
 * ```
 */
export function createController(spec: ControllerSpec, inputSize: number, rng: Random): Controller {
  switch (spec.kind) {
    case 'lstm':
      return lstmController(createLstm(inputSize, spec.hiddenSize, rng, { layers: spec.layers })) as Controller;
    case 'gru':
      return gruController(createGru(inputSize, spec.hiddenSize, rng, { layers: spec.layers })) as Controller;
    case 'feedforward':
      return feedForwardController(createFeedForward([inputSize, ...Array.from({ length: spec.layers }, () => spec.hiddenSize)], rng)) as Controller;
    case 'linear':
      return linearController(createLinear(inputSize, spec.hiddenSize, rng)) as Controller;
    default:
      throw new EngramError(`createController: unknown kind '${String((spec as { kind: unknown }).kind)}' (kinds: ${CONTROLLER_KINDS.join(', ')})`);
  }
}
