import { type LstmLayerParameters, lstmLayerStep } from '@engram/controllers';
import { type Random, ShapeError, type Tensor, add, concat, gather, matmul, matmulRaw, mul, noGrad, randomUniform, slice, tensor, zeros } from '@engram/tensor';
import { type LmConfig, validateLmConfig } from './config.js';
import { type Streams, type Window, toStreams, windowAt } from './data.js';

/** One LSTM layer: W = [W_x; W_h] `[input + H, 4H]` and b `[4H]`, gate order i, f, g, o (the controllers' layer). */
export type LmLayerParameters = LstmLayerParameters;

/** The softmax layer's parameters. */
export interface LmOutputParameters {
  /** W_out, `[H, V]`; absent when the embeddings are tied (the embedding's transpose is used). */
  weight?: Tensor;
  /** b_out, `[V]`. */
  bias: Tensor;
}

/** A language model's parameters, as a plain tree. */
export interface LmParameters {
  /** The word embeddings, `[V, E]`. */
  embedding: Tensor;
  /** The LSTM layers, bottom first. */
  layers: LmLayerParameters[];
  /** The softmax layer. */
  output: LmOutputParameters;
}

/** A word-level LSTM language model: its config and parameters. */
export interface LmModel {
  /** The shape it was built with. */
  config: LmConfig;
  /** Its weights. */
  params: LmParameters;
}

/** The recurrent state carried between batches: h and c per layer, each `[batch, H]`. */
export interface LmState {
  /** h per layer. */
  h: Tensor[];
  /** c per layer. */
  c: Tensor[];
}

/**
 * A language model with every weight uniform in ±`initScale` (Zaremba et al. 2014: biases too).
 *
 * @param config - the model's sizes: vocabulary, embedding, layers, hidden size, dropout, tying
 * @param rng - the seeded random source the initial weights are drawn from
 * @example
 * ```ts
 * const model = createLm({ vocabularySize: 10000, embeddingSize: 200, hiddenSize: 200, layers: 2, dropout: 0, tied: false, initScale: 0.1 }, new Random(1));
 * ```
 */
export function createLm(config: LmConfig, rng: Random): LmModel {
  validateLmConfig(config);
  const { vocabularySize: v, embeddingSize: e, hiddenSize: h, initScale: s } = config;
  const uniform = (shape: number[]) => randomUniform(shape, rng, -s, s, { requiresGrad: true });
  const embedding = uniform([v, e]);
  const layers = Array.from({ length: config.layers }, (_, l) => ({ weight: uniform([(l === 0 ? e : h) + h, 4 * h]), bias: uniform([4 * h]) }));
  const output = config.tied ? { bias: uniform([v]) } : { weight: uniform([h, v]), bias: uniform([v]) };
  return { config, params: { embedding, layers, output } };
}

/**
 * Every weight array of the model, in a fixed order (for fingerprints).
 * @param model - the language model
 */
export function flatParameters(model: LmModel): Float32Array[] {
  const { embedding, layers, output } = model.params;
  const tensors = [embedding, ...layers.flatMap((l) => [l.weight, l.bias]), ...(output.weight ? [output.weight] : []), output.bias];
  return tensors.map((t) => t.dataSync());
}

/**
 * The all-zeros state for `batch` streams (the start of the text).
 * @param model - the language model
 * @param batch - how many streams run side by side
 */
export function initialLmState(model: LmModel, batch: number): LmState {
  const make = () => model.params.layers.map(() => zeros([batch, model.config.hiddenSize]));
  return { h: make(), c: make() };
}

/**
 * The same state without its history, so the next batch's backward pass stops here (truncated BPTT).
 * @param state - the hidden state to cut from the tape (truncated back-propagation through time)
 */
export function detachState(state: LmState): LmState {
  return { h: state.h.map((t) => t.detach()), c: state.c.map((t) => t.detach()) };
}

/** What {@link lmForward} returns for `steps` × `batch` words. */
export interface LmForward {
  /** Scores over the vocabulary before the softmax, `[steps · batch, V]`, row `t · batch + b`. */
  logits: Tensor;
  /** The top layer's h_t for every position (before dropout), `[steps · batch, H]`: the neural cache's keys. */
  hidden: Tensor;
  /** The state after the last step, to carry into the next batch. */
  state: LmState;
}

/** Options of {@link lmForward}. */
export interface LmForwardOptions {
  /** Draws the dropout masks; without it (evaluation) no dropout is applied. */
  dropoutRng?: Random;
  /** Dropout masks drawn beforehand ({@link drawDropoutMasks}), used instead of `dropoutRng` (a shard of a window on a worker thread). */
  dropoutMasks?: LmDropoutMasks;
}

/**
 * The dropout masks of one window, drawn before the forward pass so that they can be cut by stream (data
 * parallelism): each value 0 or 1 / (1 − p), rows time-major (`[t · batch + b]`) like the window's words.
 */
export interface LmDropoutMasks {
  /** On the embeddings, `[steps · batch, E]`. */
  embedding: Float32Array;
  /** On each layer's output h_t, `[steps · batch, H]`, bottom layer first. */
  layers: Float32Array[];
}

/**
 * The dropout masks of a window of `steps` × `batch` words, drawn in the order the forward pass applies them
 * (the embeddings, then each layer's outputs step by step), so a run draws the same numbers whether the
 * masks are drawn here or during the pass. Undefined when the model has no dropout.
 * @param model - the language model (its dropout probability and sizes)
 * @param steps - time steps in the window
 * @param batch - streams in the window
 * @param rng - the seeded random source of the masks
 */
export function drawDropoutMasks(model: LmModel, steps: number, batch: number, rng: Random): LmDropoutMasks | undefined {
  const { dropout: p, embeddingSize, hiddenSize } = model.config;
  if (p <= 0) return undefined;
  const scale = 1 / (1 - p);
  const draw = (size: number) => {
    const keep = new Float32Array(size);
    for (let i = 0; i < size; i++) keep[i] = rng.next() < p ? 0 : scale;
    return keep;
  };
  const embedding = draw(steps * batch * embeddingSize);
  return { embedding, layers: model.params.layers.map(() => draw(steps * batch * hiddenSize)) };
}

/**
 * Inverted dropout (Srivastava et al. 2014): keeps each unit with probability 1 − p and scales it by 1 / (1 − p).
 * @param x - the activations
 * @param p - the probability of dropping each unit (0 returns x)
 * @param rng - the seeded random source of the mask; undefined at evaluation (returns x)
 */
export function dropout(x: Tensor, p: number, rng: Random | undefined): Tensor {
  if (p <= 0 || rng === undefined) return x;
  const keep = new Float32Array(x.size);
  const scale = 1 / (1 - p);
  for (let i = 0; i < keep.length; i++) keep[i] = rng.next() < p ? 0 : scale;
  return mul(x, tensor(keep, x.shape, { backend: x.backend }));
}

/**
 * The model over a window of words: embeddings, then each LSTM layer step by step
 * (i, f, o = σ(·), g = tanh(·) of [x_t, h_{t−1}]·W + b; c_t = f ∘ c_{t−1} + i ∘ g;
 * h_t = o ∘ tanh(c_t)), dropout on the non-recurrent connections only (Zaremba et al. 2014, §3),
 * then the softmax layer's scores.
 *
 * @param inputs word ids, time-major: `inputs[t · batch + b]` is stream b's word at step t
 * @param batch streams per step (the state's batch)
 * @param model - the language model
 * @param state - the hidden state carried in
 * @param options - dropout's seeded random source (training only)
 */
export function lmForward(model: LmModel, state: LmState, inputs: Int32Array, batch: number, options: LmForwardOptions = {}): LmForward {
  const { top, x, state: next } = lstmLayers(model, state, inputs, batch, options);
  const { weight, bias } = model.params.output;
  const scores = weight === undefined ? matmulRaw(x, model.params.embedding, false, true) : matmul(x, weight);
  return { logits: add(scores, bias), hidden: top, state: next };
}

/** What {@link lmHidden} returns: the top layer's h_t and the state, without the softmax layer. */
export interface LmHidden {
  /** The top layer's h_t for every position, `[steps · batch, H]`. */
  hidden: Tensor;
  /** The state after the last step. */
  state: LmState;
}

/**
 * The LSTM part of {@link lmForward} alone (no softmax layer): what a kNN datastore keeps, at a fraction of the cost.
 * @param model - the language model
 * @param state - the hidden state carried in
 * @param inputs - word ids, time-major (`unroll × batch`)
 * @param batch - how many streams
 */
export function lmHidden(model: LmModel, state: LmState, inputs: Int32Array, batch: number): LmHidden {
  const { top, state: next } = lstmLayers(model, state, inputs, batch, {});
  return { hidden: top, state: next };
}

/** The embedding and LSTM layers of {@link lmForward}: the top layer's outputs (before and after dropout) and the state. */
function lstmLayers(model: LmModel, state: LmState, inputs: Int32Array, batch: number, options: LmForwardOptions): { top: Tensor; x: Tensor; state: LmState } {
  const { hiddenSize: h } = model.config;
  const steps = inputs.length / batch;
  const stateBatch = (state.h[0] as Tensor).shape[0];
  if (!Number.isInteger(steps) || steps < 1 || stateBatch !== batch) {
    throw new ShapeError('lmForward', `expected a positive multiple of batch ${batch} word ids and a state of that batch`, [
      [inputs.length],
      [stateBatch ?? 0, h],
    ]);
  }
  const masks = options.dropoutMasks ?? (options.dropoutRng ? drawDropoutMasks(model, steps, batch, options.dropoutRng) : undefined);
  if (masks && (masks.embedding.length !== inputs.length * model.config.embeddingSize || masks.layers.some((m) => m.length !== inputs.length * h)))
    throw new ShapeError('lmForward', 'the dropout masks do not match the window', [[masks.embedding.length], [inputs.length, model.config.embeddingSize]]);
  // Step by step through the layers: each step's input is its own small tensor (the embedding rows of
  // its words, or the layer below's h_t), so the backward pass never pads a window-sized gradient per
  // step; every use of W is summed into its gradient by one matrix product (autograd's deferred products).
  const embedded = applyMask(gather(model.params.embedding, inputs), masks?.embedding);
  let layerInputs: Tensor[] = Array.from({ length: steps }, (_, t) =>
    steps === 1 ? embedded : slice(embedded, [t * batch, 0], [batch, model.config.embeddingSize]),
  );
  const hs: Tensor[] = [];
  const cs: Tensor[] = [];
  let outputs: Tensor[] = [];
  model.params.layers.forEach((layer, l) => {
    let hPrev = state.h[l] as Tensor;
    let cPrev = state.c[l] as Tensor;
    outputs = [];
    for (let t = 0; t < steps; t++) {
      ({ h: hPrev, c: cPrev } = lstmLayerStep(layer, layerInputs[t] as Tensor, hPrev, cPrev));
      outputs.push(hPrev);
    }
    hs.push(hPrev);
    cs.push(cPrev);
    const mask = masks?.layers[l];
    layerInputs = mask ? outputs.map((o, t) => applyMask(o, mask.slice(t * batch * h, (t + 1) * batch * h))) : outputs;
  });
  const top = steps === 1 ? (outputs[0] as Tensor) : concat(outputs, 0);
  const x = steps === 1 ? (layerInputs[0] as Tensor) : concat(layerInputs, 0);
  return { top, x, state: { h: hs, c: cs } };
}

/** x ∘ mask (inverted dropout with a mask drawn beforehand); x itself without a mask. */
function applyMask(x: Tensor, mask: Float32Array | undefined): Tensor {
  return mask === undefined ? x : mul(x, tensor(mask, x.shape, { backend: x.backend }));
}

/** What {@link readText} hands to its visitor for each window. */
export interface ReadWindow {
  /** The window's inputs and targets, time-major (`[t · streams + b]`). */
  window: Window;
  /** Its first position in each stream. */
  start: number;
  /** The top layer's h_t, `[steps · streams, H]`. */
  hidden: Tensor;
  /** The softmax layer's scores, `[steps · streams, V]` (null when `logits: false`). */
  logits: Tensor | null;
}

/**
 * Reads a text without a tape, as `streams` parallel streams (default 1: the whole text as one) from the
 * zero state, `unroll` words at a time with the state carried, and visits each window. `logits: false`
 * skips the softmax layer (h_t is all a kNN datastore needs).
 *
 * @param model - the language model
 * @param ids - the text as word ids
 * @param options - how many parallel streams, the unroll, and whether to compute the softmax layer
 * @param visit - called with each window's hidden states (and logits)
 * @returns the streams the text was laid out in
 */
export function readText(
  model: LmModel,
  ids: Int32Array,
  options: { streams?: number; unroll?: number; logits?: boolean },
  visit: (read: ReadWindow) => void,
): Streams {
  const batch = options.streams ?? 1;
  const unroll = options.unroll ?? 100;
  const streams = toStreams(ids, batch);
  noGrad(() => {
    let state = initialLmState(model, batch);
    for (let start = 0; start < streams.length - 1; start += unroll) {
      const window = windowAt(streams, start, unroll);
      if (options.logits === false) {
        const read = lmHidden(model, state, window.inputs, batch);
        visit({ window, start, hidden: read.hidden, logits: null });
        state = read.state;
      } else {
        const read = lmForward(model, state, window.inputs, batch);
        visit({ window, start, hidden: read.hidden, logits: read.logits });
        state = read.state;
      }
    }
  });
  return streams;
}
