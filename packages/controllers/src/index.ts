/**
 * @engram/controllers: the networks that drive an external memory — a dense layer, a feed-forward
 * (MLP) controller, an LSTM (stacked layers, forget-gate bias, a fused cell kernel) and a GRU.
 * Parameters are plain trees of tensors; recurrent state is passed in and returned.
 *
 * ```ts
 * import { Random } from '@engram/tensor';
 * import { createLstm, initialLstmState, lstmStep } from '@engram/controllers';
 * const lstm = createLstm(9, 100, new Random(1));
 * let state = initialLstmState(lstm, 1);
 * const { output, state: next } = lstmStep(lstm, state, x); // x: [1, 9]
 * ```
 *
 * @packageDocumentation
 */
export {
  CONTROLLER_KINDS,
  type Controller,
  type ControllerKind,
  type ControllerParameters,
  type ControllerSpec,
  createController,
  feedForwardController,
  gruController,
  linearController,
  lstmController,
} from './controller.js';
export { ACTIVATIONS, type ActivationName, type FeedForwardOptions, type FeedForwardParameters, createFeedForward, feedForwardStep } from './feed-forward.js';
export { type GruLayerParameters, type GruParameters, type GruState, createGru, gruSequence, gruStep, initialGruState } from './gru.js';
export { type LinearOptions, type LinearParameters, createLinear, linear } from './linear.js';
export {
  type LstmCellOutput,
  type LstmLayerParameters,
  type SequenceResult,
  type StepResult,
  type LstmOptions,
  type LstmParameters,
  type LstmState,
  type LstmStepOptions,
  createLstm,
  initialLstmState,
  lstmCellComposed,
  lstmLayerStep,
  lstmSequence,
  lstmStep,
} from './lstm.js';
