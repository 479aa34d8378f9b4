import {
  EngramError,
  type Random,
  ShapeError,
  type Tensor,
  add,
  concat,
  glorotUniform,
  lstmCell,
  matmul,
  mul,
  sigmoid,
  slice,
  split,
  tanh,
  zeros,
} from '@engram/tensor';

/** One LSTM layer: the four gates' weights stacked, `[input + hidden, 4·hidden]`, gate order i, f, g, o. */
export interface LstmLayerParameters {
  /** W = [W_x; W_h], `[input + hidden, 4H]`. */
  weight: Tensor;
  /** b, `[4H]`. */
  bias: Tensor;
}

/** A (possibly multi-layer) LSTM's parameters. */
export interface LstmParameters {
  /** Layer 0 reads the input; layer l reads layer l−1's h. */
  layers: LstmLayerParameters[];
  /** H. */
  hiddenSize: number;
}

/** LSTM state per layer: h and c, each `[batch, H]`. Passed in and returned, never stored. */
export interface LstmState {
  /** h per layer. */
  h: Tensor[];
  /** c per layer. */
  c: Tensor[];
}

/** Options for {@link createLstm}. */
export interface LstmOptions {
  /** Number of stacked layers (default 1). */
  layers?: number;
  /** Initial forget-gate bias (default 1, so the cell remembers at the start of training). */
  forgetBias?: number;
}

/**
 * An LSTM with Glorot-uniform weights and a forget-gate bias.
 * @param inputSize - the width of each step's input
 * @param hiddenSize - the width of each layer's state h and cell c
 * @param rng - the seeded random source the initial weights are drawn from
 * @param options - how many layers are stacked (default 1) and the initial forget-gate bias (default 1)
 */
export function createLstm(inputSize: number, hiddenSize: number, rng: Random, options: LstmOptions = {}): LstmParameters {
  const count = options.layers ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new EngramError(`createLstm: layers must be a positive integer, got ${count}`);
  const forgetBias = options.forgetBias ?? 1;
  const layers = Array.from({ length: count }, (_, l) => {
    const input = l === 0 ? inputSize : hiddenSize;
    const weight = glorotUniform([input + hiddenSize, 4 * hiddenSize], rng);
    const biasValues = new Float32Array(4 * hiddenSize);
    biasValues.fill(forgetBias, hiddenSize, 2 * hiddenSize);
    const bias = zeros([4 * hiddenSize], { requiresGrad: true });
    bias.assign(biasValues);
    return { weight, bias };
  });
  return { layers, hiddenSize };
}

/**
 * The all-zeros state for a batch.
 * @param params - the LSTM's weights, from `createLstm`
 * @param batch - how many sequences run side by side
 */
export function initialLstmState(params: LstmParameters, batch: number): LstmState {
  const make = () => params.layers.map(() => zeros([batch, params.hiddenSize]));
  return { h: make(), c: make() };
}

/** How {@link lstmStep} computes the gates. */
export interface LstmStepOptions {
  /**
   * Use the fused cell kernel (default true): one kernel forward and one backward for the gates,
   * instead of a dozen ops. `false` composes the cell from primitives (the readable reference).
   */
  fused?: boolean;
}

/** What one step of a recurrent controller returns. */
export interface StepResult<S> {
  /** The top layer's output, `[batch, H]`. */
  output: Tensor;
  /** The state to pass to the next step. */
  state: S;
}

/** What a recurrent controller returns for a whole sequence. */
export interface SequenceResult<S> {
  /** Every step's output. */
  outputs: Tensor[];
  /** The state after the last step. */
  state: S;
}

/** An LSTM cell's new hidden and cell state. */
export interface LstmCellOutput {
  /** h_t, `[batch, H]`. */
  h: Tensor;
  /** c_t, `[batch, H]`. */
  c: Tensor;
}

/**
 * One cell from pre-activations z `[batch, 4H]`, composed op by op.
 * @param z - the four gates' pre-activations side by side, [batch, 4H] (input, forget, cell, output)
 * @param c - the previous cell state, [batch, H]
 */
export function lstmCellComposed(z: Tensor, c: Tensor): LstmCellOutput {
  const [i, f, g, o] = split(z, 4, 1) as [Tensor, Tensor, Tensor, Tensor];
  const cNext = add(mul(sigmoid(f), c), mul(sigmoid(i), tanh(g)));
  return { h: mul(sigmoid(o), tanh(cNext)), c: cNext };
}

/**
 * One layer's time step: z = [x, h_{t−1}]·W + b, then the cell (fused unless `fused: false`).
 * {@link lstmStep} runs it through every layer; a model that treats the layers differently (dropout
 * between them, say) calls it layer by layer.
 *
 * @param x `[batch, input]`; h and c `[batch, H]`
 * @param layer - one layer's weights (W over [x, h] and the bias)
 * @param h - the layer's previous output, [batch, H]
 * @param c - the layer's previous cell state, [batch, H]
 * @param options - `fused`: run the fused cell kernel (default true)
 */
export function lstmLayerStep(layer: LstmLayerParameters, x: Tensor, h: Tensor, c: Tensor, options: LstmStepOptions = {}): LstmCellOutput {
  const z = add(matmul(concat([x, h], 1), layer.weight), layer.bias);
  if (options.fused === false) return lstmCellComposed(z, c);
  const both = lstmCell(z, c);
  const [batch, hidden] = c.shape as [number, number];
  return { h: slice(both, [0, 0], [batch, hidden]), c: slice(both, [0, hidden], [batch, hidden]) };
}

/**
 * One time step through every layer: i, f, o = σ(·), g = tanh(·) of [x, h_{t−1}]·W + b;
 * c_t = f ∘ c_{t−1} + i ∘ g; h_t = o ∘ tanh(c_t).
 *
 * @param x `[batch, input]`
 * @param params - the LSTM's weights, from `createLstm`
 * @param state - each layer's h and c before this step
 * @param options - `fused`: run the fused cell kernel (default true)
 * @returns the top layer's h `[batch, H]` and the new state
 */
export function lstmStep(params: LstmParameters, state: LstmState, x: Tensor, options: LstmStepOptions = {}): StepResult<LstmState> {
  const hidden = params.hiddenSize;
  const first = params.layers[0] as LstmLayerParameters;
  const inputSize = (first.weight.shape[0] as number) - hidden;
  const batch = (state.h[0] as Tensor).shape[0] as number;
  if (x.rank !== 2 || x.shape[0] !== batch || x.shape[1] !== inputSize) {
    throw new ShapeError('lstmStep', `input x must be [${batch}, ${inputSize}] (the state's batch, the LSTM's input size)`, [x.shape, [batch, inputSize]]);
  }
  const h: Tensor[] = [];
  const c: Tensor[] = [];
  let input = x;
  params.layers.forEach((layer, l) => {
    const next = lstmLayerStep(layer, input, state.h[l] as Tensor, state.c[l] as Tensor, options);
    h.push(next.h);
    c.push(next.c);
    input = next.h;
  });
  return { output: input, state: { h, c } };
}

/**
 * Runs {@link lstmStep} over a sequence of inputs, returning every step's output and the final state.
 * @param params - the LSTM's weights, from `createLstm`
 * @param state - the state before the first step
 * @param xs - one input per time step, each [batch, inputSize]
 * @param options - `fused`: run the fused cell kernel (default true)
 */
export function lstmSequence(params: LstmParameters, state: LstmState, xs: readonly Tensor[], options: LstmStepOptions = {}): SequenceResult<LstmState> {
  const outputs: Tensor[] = [];
  let current = state;
  for (const x of xs) {
    const step = lstmStep(params, current, x, options);
    outputs.push(step.output);
    current = step.state;
  }
  return { outputs, state: current };
}
