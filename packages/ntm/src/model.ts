import { type HeadLayout, type HeadParameters, address, constrainHeadParameters, headParameterSize, read, write } from '@engram/addressing';
import { type Controller, type ControllerParameters, type LinearParameters, createController, createLinear, linear } from '@engram/controllers';
import {
  type Random,
  ShapeError,
  type Tensor,
  broadcastTo,
  clamp,
  concat,
  expandDims,
  fill,
  randomNormal,
  randomUniform,
  softmax,
  split,
  tensor,
} from '@engram/tensor';
import { type NtmConfig, validateConfig } from './config.js';

/** Standard deviation of the learned initial read vectors. */
const INITIAL_READ_STD = 0.01;
/**
 * Initial logit of memory row 0 in the learned initial weightings (the others start at 0), so every
 * head starts focused on row 0 (softmax gives it ~99% of the weight for N = 128). A uniform start
 * is a symmetry trap with a constant memory: every row looks alike to content addressing, and a
 * shifted uniform weighting is still uniform, so no head could ever focus.
 */
export const INITIAL_FOCUS_LOGIT = 10;

/** The trainable parameters of an NTM, as a plain tree (see `parameterList`). */
export interface NtmParameters {
  /** The controller network's tensors (those of {@link NtmModel.controller}). */
  controller: ControllerParameters;
  /** Controller output → every head's raw parameters, read heads first. */
  heads: LinearParameters;
  /** [controller output, read vectors] → output logits. */
  output: LinearParameters;
  /** Learned initial read vectors r_0, `[R, M]`. */
  initialReads: Tensor;
  /** Learned initial weightings w_0 before a softmax, `[R + W, N]` (read heads first). */
  initialWeightings: Tensor;
  /** Learned initial memory, `[N, M]` (only with `memoryInit: 'learned'`). */
  initialMemory?: Tensor;
}

/** An NTM: its config, its parameters and its fixed buffers. Nothing here changes during a forward pass. */
export interface NtmModel {
  /** The architecture. */
  config: NtmConfig;
  /** What training updates. */
  params: NtmParameters;
  /** The controller, driven through its interface (its tensors are `params.controller`). */
  controller: Controller;
  /** The fixed initial memory for `constant` and `random` initialisation, `[N, M]`. */
  fixedMemory: Tensor | null;
}

/**
 * The state carried from one time step to the next. Passed in and returned by {@link ntmStep};
 * never stored on the model.
 */
export interface NtmState {
  /** The controller's state (opaque: only the controller reads it; null for a feed-forward one). */
  controller: unknown;
  /** M_t, `[batch, N, M]`. */
  memory: Tensor;
  /** Each read head's last weighting, `[batch, N]`. */
  readWeightings: Tensor[];
  /** Each write head's last weighting, `[batch, N]`. */
  writeWeightings: Tensor[];
  /** Each read head's last read vector, `[batch, M]`. */
  readVectors: Tensor[];
}

/** What one step computed, for inspection. */
export interface NtmStepResult {
  /** y_t logits, `[batch, outputSize]` (null when the step was asked to skip the output). */
  output: Tensor | null;
  /** The new state. */
  state: NtmState;
  /** Each read head's constrained parameters this step. */
  readHeads: HeadParameters[];
  /** Each write head's constrained parameters this step (erase and add included). */
  writeHeads: HeadParameters[];
}

/**
 * The layouts of the read heads then the write heads.
 * @param config - the model's config
 */
export function headLayouts(config: NtmConfig): HeadLayout[] {
  const read: HeadLayout = { kind: 'read', memoryWidth: config.memoryWidth, shiftWidth: config.shiftWidth };
  const writeLayout: HeadLayout = { kind: 'write', memoryWidth: config.memoryWidth, shiftWidth: config.shiftWidth };
  return [...Array.from({ length: config.readHeads }, () => read), ...Array.from({ length: config.writeHeads }, () => writeLayout)];
}

/**
 * Creates an NTM with weights drawn from `rng`.
 * @param config - the model's sizes: controller, memory N × M, heads (see `defaultNtmConfig`)
 * @param rng - the seeded random source the initial weights are drawn from
 * @example
 * ```ts
 * const model = createNtm(defaultNtmConfig(9, 8), new Random(1)); // the paper's copy model
 * const optimizer = ntmOptimizer(model);
 * const batch = sampleBatch(copyTask, new Random(2), 1, { maxLength: 20 });
 * const { loss, errorBits } = trainBatch(model, optimizer, batch, { clipValue: 10 });
 * ```
 */
export function createNtm(config: NtmConfig, rng: Random): NtmModel {
  validateConfig(config);
  const { inputSize, outputSize, memorySlots, memoryWidth, readHeads, writeHeads } = config;
  const hidden = config.controller.hiddenSize;
  const controllerInput = inputSize + readHeads * memoryWidth;
  const controller = createController(config.controller, controllerInput, rng);
  const headSize = headLayouts(config).reduce((n, layout) => n + headParameterSize(layout), 0);
  const params: NtmParameters = {
    controller: controller.parameters,
    heads: createLinear(hidden, headSize, rng),
    output: createLinear(hidden + readHeads * memoryWidth, outputSize, rng),
    initialReads: randomNormal([readHeads, memoryWidth], rng, 0, INITIAL_READ_STD, { requiresGrad: true }),
    initialWeightings: focusedLogits(readHeads + writeHeads, memorySlots),
  };
  let fixedMemory: Tensor | null = null;
  if (config.memoryInit === 'learned') {
    params.initialMemory = fill([memorySlots, memoryWidth], config.memoryConstant, { requiresGrad: true });
  } else if (config.memoryInit === 'random') {
    const limit = 1 / Math.sqrt(memorySlots + memoryWidth);
    fixedMemory = randomUniform([memorySlots, memoryWidth], rng, -limit, limit);
  } else {
    fixedMemory = fill([memorySlots, memoryWidth], config.memoryConstant);
  }
  return { config, params, controller, fixedMemory };
}

function focusedLogits(heads: number, slots: number): Tensor {
  const logits = new Float32Array(heads * slots);
  for (let h = 0; h < heads; h++) logits[h * slots] = INITIAL_FOCUS_LOGIT;
  return tensor(logits, [heads, slots], { requiresGrad: true });
}

/**
 * The state at the start of a sequence, for a batch.
 * @param model - the NTM
 * @param batch - how many sequences run side by side
 */
export function initialNtmState(model: NtmModel, batch: number): NtmState {
  const { config, params } = model;
  const { memorySlots: n, memoryWidth: m, readHeads, writeHeads } = config;
  const memorySource = (params.initialMemory ?? model.fixedMemory) as Tensor;
  const memory = broadcastTo(expandDims(memorySource, 0), [batch, n, m]);
  const weightings = split(softmax(params.initialWeightings, -1), readHeads + writeHeads, 0).map((w) => broadcastTo(w, [batch, n]));
  const reads = split(params.initialReads, readHeads, 0).map((r) => broadcastTo(r, [batch, m]));
  return {
    controller: model.controller.initialState(batch),
    memory,
    readWeightings: weightings.slice(0, readHeads),
    writeWeightings: weightings.slice(readHeads),
    readVectors: reads,
  };
}

/** Options for {@link ntmStep}. */
export interface NtmStepOptions {
  /** Compute the output layer (default true). Training skips it on steps that are not scored. */
  output?: boolean;
}

/**
 * One time step (Graves et al. 2014, Fig. 1): the controller reads [x_t, r_{t−1}]; its output is
 * split into every head's parameters; each read head addresses M_{t−1} and reads r_t; each write
 * head addresses M_{t−1} and the heads erase then add to give M_t; y_t is a linear map of the
 * controller output and r_t (as in pytorch-ntm).
 *
 * @param x `[batch, inputSize]`
 * @param model - the NTM
 * @param state - the state before this step (memory, weightings, reads, controller state)
 * @param options - `output`: compute the output layer (default true)
 */
export function ntmStep(model: NtmModel, state: NtmState, x: Tensor, options: NtmStepOptions = {}): NtmStepResult {
  const { config, params } = model;
  const batch = state.memory.shape[0] as number;
  if (x.rank !== 2 || x.shape[0] !== batch || x.shape[1] !== config.inputSize) {
    throw new ShapeError('ntmStep', `input x must be [${batch}, ${config.inputSize}] (batch, inputSize)`, [x.shape, [batch, config.inputSize]]);
  }
  const controllerInput = concat([x, ...state.readVectors], 1);
  const { output: hidden, state: controllerState } = model.controller.step(state.controller, controllerInput);
  let raw = linear(params.heads, hidden);
  if (config.controllerClip > 0) raw = clamp(raw, -config.controllerClip, config.controllerClip);
  const layouts = headLayouts(config);
  const slices = split(
    raw,
    layouts.map((layout) => headParameterSize(layout)),
    1,
  );
  const heads = slices.map((s, i) => constrainHeadParameters(s, layouts[i] as HeadLayout));
  const readHeads = heads.slice(0, config.readHeads);
  const writeHeads = heads.slice(config.readHeads);
  const readWeightings = readHeads.map((head, i) => address(state.memory, state.readWeightings[i] as Tensor, head, { validate: false }));
  const readVectors = readWeightings.map((w) => read(state.memory, w));
  const writeWeightings = writeHeads.map((head, i) => address(state.memory, state.writeWeightings[i] as Tensor, head, { validate: false }));
  const memory = write(
    state.memory,
    writeHeads.map((head, i) => ({ weighting: writeWeightings[i] as Tensor, erase: head.erase as Tensor, add: head.add as Tensor })),
  );
  const output = options.output === false ? null : linear(params.output, concat([hidden, ...readVectors], 1));
  return { output, state: { controller: controllerState, memory, readWeightings, writeWeightings, readVectors }, readHeads, writeHeads };
}

/**
 * Row `t` of a time-major `[steps, batch, width]` array as a `[batch, width]` tensor.
 * @param data - a packed sequence tensor's values, time-major ([time, batch, width])
 * @param t - the time step
 * @param batch - sequences per batch
 * @param width - values per vector
 */
export function stepSlice(data: Float32Array, t: number, batch: number, width: number): Tensor {
  return tensor(data.subarray(t * batch * width, (t + 1) * batch * width), [batch, width]);
}
