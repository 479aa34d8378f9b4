import { EngramError, type Random, type Tensor, relu, sigmoid, tanh } from '@engram/tensor';
import { type LinearParameters, createLinear, linear } from './linear.js';

/** Activation functions a feed-forward controller can use between layers. */
export const ACTIVATIONS = { tanh, relu, sigmoid } as const;
/** Name of a hidden-layer activation. */
export type ActivationName = keyof typeof ACTIVATIONS;

/** A feed-forward (MLP) controller's parameters. */
export interface FeedForwardParameters {
  /** One dense layer per step of `sizes`. */
  layers: LinearParameters[];
}

/** Options for {@link createFeedForward}. */
export interface FeedForwardOptions {
  /** Activation after every layer (default `tanh`; the output layer included, as a controller's output feeds the heads). */
  activation?: ActivationName;
}

/**
 * An MLP with layer sizes `[input, hidden..., output]`.
 * @param sizes - layer widths from input to output, e.g. [29, 100, 100]
 * @param rng - the seeded random source the initial weights are drawn from
 */
export function createFeedForward(sizes: readonly number[], rng: Random): FeedForwardParameters {
  if (sizes.length < 2) throw new EngramError(`createFeedForward: needs at least an input and an output size, got [${sizes.join(', ')}]`);
  return { layers: sizes.slice(1).map((size, i) => createLinear(sizes[i] as number, size, rng)) };
}

/**
 * One controller step: x `[batch, input]` → `[batch, output]`. A feed-forward controller has no state.
 * @param params - the network's weights, from `createFeedForward`
 * @param x - the input, [batch, sizes[0]]
 * @param options - the activation after every layer (default tanh)
 */
export function feedForwardStep(params: FeedForwardParameters, x: Tensor, options: FeedForwardOptions = {}): Tensor {
  const activation = ACTIVATIONS[options.activation ?? 'tanh'];
  let h = x;
  for (const layer of params.layers) h = activation(linear(layer, h));
  return h;
}
