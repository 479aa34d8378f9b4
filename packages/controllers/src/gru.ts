import type { SequenceResult, StepResult } from './lstm.js';
import { EngramError, type Random, ShapeError, type Tensor, add, glorotUniform, matmul, mul, sigmoid, split, sub, tanh, zeros } from '@engram/tensor';

/** One GRU layer (gate order r, z, n, as in PyTorch). */
export interface GruLayerParameters {
  /** W_x, `[input, 3H]`. */
  inputWeight: Tensor;
  /** W_h, `[H, 3H]`. */
  hiddenWeight: Tensor;
  /** b_x, `[3H]`. */
  inputBias: Tensor;
  /** b_h, `[3H]`. */
  hiddenBias: Tensor;
}

/** A (possibly multi-layer) GRU's parameters. */
export interface GruParameters {
  /** Layer 0 reads the input; layer l reads layer l−1's h. */
  layers: GruLayerParameters[];
  /** H. */
  hiddenSize: number;
}

/** GRU state: h per layer, `[batch, H]`. */
export interface GruState {
  /** h per layer. */
  h: Tensor[];
}

/**
 * A GRU with Glorot-uniform weights and zero biases.
 * @param inputSize - the width of each step's input
 * @param hiddenSize - the width of each layer's state
 * @param rng - the seeded random source the initial weights are drawn from
 * @param options - `layers`: how many GRU layers are stacked (default 1)
 */
export function createGru(inputSize: number, hiddenSize: number, rng: Random, options: { layers?: number } = {}): GruParameters {
  const count = options.layers ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new EngramError(`createGru: layers must be a positive integer, got ${count}`);
  const layers = Array.from({ length: count }, (_, l) => ({
    inputWeight: glorotUniform([l === 0 ? inputSize : hiddenSize, 3 * hiddenSize], rng),
    hiddenWeight: glorotUniform([hiddenSize, 3 * hiddenSize], rng),
    inputBias: zeros([3 * hiddenSize], { requiresGrad: true }),
    hiddenBias: zeros([3 * hiddenSize], { requiresGrad: true }),
  }));
  return { layers, hiddenSize };
}

/**
 * The all-zeros state for a batch.
 * @param params - the GRU's weights, from `createGru`
 * @param batch - how many sequences run side by side
 */
export function initialGruState(params: GruParameters, batch: number): GruState {
  return { h: params.layers.map(() => zeros([batch, params.hiddenSize])) };
}

/**
 * One time step through every layer: r = σ(x W_xr + b_xr + h W_hr + b_hr),
 * z = σ(x W_xz + b_xz + h W_hz + b_hz), n = tanh(x W_xn + b_xn + r ∘ (h W_hn + b_hn)),
 * h_t = (1 − z) ∘ n + z ∘ h_{t−1}.
 * @param params - the GRU's weights, from `createGru`
 * @param state - the state before this step
 * @param x - this step's input, [batch, inputSize]
 */
export function gruStep(params: GruParameters, state: GruState, x: Tensor): StepResult<GruState> {
  const inputSize = (params.layers[0] as GruLayerParameters).inputWeight.shape[0] as number;
  const batch = (state.h[0] as Tensor).shape[0] as number;
  if (x.rank !== 2 || x.shape[0] !== batch || x.shape[1] !== inputSize) {
    throw new ShapeError('gruStep', `input x must be [${batch}, ${inputSize}] (the state's batch, the GRU's input size)`, [x.shape, [batch, inputSize]]);
  }
  const h: Tensor[] = [];
  let input = x;
  params.layers.forEach((layer, l) => {
    const previous = state.h[l] as Tensor;
    const [xr, xz, xn] = split(add(matmul(input, layer.inputWeight), layer.inputBias), 3, 1) as [Tensor, Tensor, Tensor];
    const [hr, hz, hn] = split(add(matmul(previous, layer.hiddenWeight), layer.hiddenBias), 3, 1) as [Tensor, Tensor, Tensor];
    const reset = sigmoid(add(xr, hr));
    const update = sigmoid(add(xz, hz));
    const candidate = tanh(add(xn, mul(reset, hn)));
    h.push(add(mul(sub(1, update), candidate), mul(update, previous)));
    input = h[l] as Tensor;
  });
  return { output: input, state: { h } };
}

/**
 * Runs {@link gruStep} over a sequence.
 * @param params - the GRU's weights, from `createGru`
 * @param state - the state before the first step
 * @param xs - one input per time step, each [batch, inputSize]
 */
export function gruSequence(params: GruParameters, state: GruState, xs: readonly Tensor[]): SequenceResult<GruState> {
  const outputs: Tensor[] = [];
  let current = state;
  for (const x of xs) {
    const step = gruStep(params, current, x);
    outputs.push(step.output);
    current = step.state;
  }
  return { outputs, state: current };
}
