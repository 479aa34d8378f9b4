import { constrainInterface, contentAddressing, read, write } from '@engram/addressing';
import { type Controller, type ControllerParameters, type LinearParameters, createController, createLinear, linear } from '@engram/controllers';
import type { RecurrentMemoryModel } from '@engram/ntm';
import { type Random, ShapeError, type Tensor, clamp, concat, mul, zeros } from '@engram/tensor';
import { type DncConfig, validateDncConfig } from './config.js';
import { dncSequenceEvaluation, dncSequenceGradients, dncSequenceSupported } from './fused-sequence.js';
import {
  type DncInterfaceName,
  dncInterfaceTable,
  linkReadWeightings,
  headPart,
  linkMatrix,
  precedenceWeighting,
  readWeighting,
  retentionVector,
  usageVector,
  writeAllocationWeightings,
  writeWeighting,
} from './memory-access.js';

/** The trainable parameters of a DNC, as a plain tree (see `parameterList`). */
export interface DncParameters {
  /** The controller network's tensors. */
  controller: ControllerParameters;
  /** Controller output → the interface vector ξ_t. */
  interface: LinearParameters;
  /** [controller output, read vectors] → y_t (the paper's W_y and W_r together). */
  output: LinearParameters;
}

/** A DNC: its config, its parameters and its controller. Nothing here changes during a forward pass. */
export interface DncModel {
  /** The architecture. */
  config: DncConfig;
  /** What training updates. */
  params: DncParameters;
  /** The controller, driven through its interface (its tensors are `params.controller`). */
  controller: Controller;
}

/** The state carried from one time step to the next (the paper's M, u, L, p, w^r, w^w, r). */
export interface DncState {
  /** The controller's state (opaque). */
  controller: unknown;
  /** M_t, `[batch, N, W]`. */
  memory: Tensor;
  /** u_t, `[batch, N]`. */
  usage: Tensor;
  /** L_t, one `[batch, N, N]` per write head. */
  links: Tensor[];
  /** p_t, one `[batch, N]` per write head. */
  precedences: Tensor[];
  /** w^r_t, one `[batch, N]` per read head. */
  readWeightings: Tensor[];
  /** w^w_t, one `[batch, N]` per write head. */
  writeWeightings: Tensor[];
  /** r_t, one `[batch, W]` per read head. */
  readVectors: Tensor[];
}

/** What one step computed, for inspection. */
export interface DncStepResult {
  /** y_t, `[batch, outputSize]` (null when the step was asked to skip the output). */
  output: Tensor | null;
  /** The new state. */
  state: DncState;
  /** The constrained interface vector's parts. */
  interface: Record<DncInterfaceName, Tensor>;
  /** a_t, one `[batch, N]` per write head. */
  allocations: Tensor[];
}

/**
 * Creates a DNC with weights drawn from `rng`.
 * @param config - the sizes: controller, memory N × W, read and write heads (see `defaultDncConfig`)
 * @param rng - the seeded random source the initial weights are drawn from
 * @example
 * ```ts
 * const model = createDnc(defaultDncConfig(6, 5), new Random(1)); // deepmind/dnc's repeat-copy sizes
 * const { errorBits } = evaluateBatch(dncRecurrent(model), sampleBatch(algorithmicTask("repeat-copy"), new Random(2), 16));
 * ```
 */
export function createDnc(config: DncConfig, rng: Random): DncModel {
  validateDncConfig(config);
  const { inputSize, outputSize, memoryWidth, readHeads } = config;
  const hidden = config.controller.hiddenSize;
  const controller = createController(config.controller, inputSize + readHeads * memoryWidth, rng);
  const interfaceSize = dncInterfaceTable(config).reduce((n, p) => n + p.length, 0);
  return {
    config,
    controller,
    params: {
      controller: controller.parameters,
      interface: createLinear(hidden, interfaceSize, rng),
      output: createLinear(hidden + readHeads * memoryWidth, outputSize, rng),
    },
  };
}

/**
 * The state at the start of a sequence: everything zero, as in deepmind/dnc (an empty memory, nothing
 * used, no links, nothing read or written).
 * @param model - the DNC
 * @param batch - how many sequences run side by side
 */
export function initialDncState(model: DncModel, batch: number): DncState {
  const { memorySlots: n, memoryWidth: w, readHeads, writeHeads } = model.config;
  const many = (count: number, shape: number[]): Tensor[] => Array.from({ length: count }, () => zeros(shape));
  return {
    controller: model.controller.initialState(batch),
    memory: zeros([batch, n, w]),
    usage: zeros([batch, n]),
    links: many(writeHeads, [batch, n, n]),
    precedences: many(writeHeads, [batch, n]),
    readWeightings: many(readHeads, [batch, n]),
    writeWeightings: many(writeHeads, [batch, n]),
    readVectors: many(readHeads, [batch, w]),
  };
}

/** Options for {@link dncStep}. */
export interface DncStepOptions {
  /** Compute the output layer (default true). Training skips it on steps that are not scored. */
  output?: boolean;
}

/**
 * One time step (Graves et al. 2016, Methods): the controller reads [x_t, r_{t−1}] and emits the
 * interface vector ξ_t; the usage is updated from the previous writes and the free gates; each write
 * head writes at its allocation or content weighting; the link matrices and precedences are updated;
 * each read head reads at its mix of backward, content and forward weightings; y_t is a linear map of
 * the controller output and the new read vectors. The controller output and y_t are clipped to
 * ±`clip`.
 * @param model - the DNC
 * @param state - the state before this step
 * @param x - the input, `[batch, inputSize]`
 * @param options - `output`: compute y_t (default true)
 */
export function dncStep(model: DncModel, state: DncState, x: Tensor, options: DncStepOptions = {}): DncStepResult {
  const { config, params } = model;
  const { memoryWidth: w, writeHeads, clip } = config;
  const batch = state.memory.shape[0] as number;
  if (x.rank !== 2 || x.shape[0] !== batch || x.shape[1] !== config.inputSize) {
    throw new ShapeError('dncStep', `input x must be [${batch}, ${config.inputSize}] (batch, inputSize)`, [x.shape, [batch, config.inputSize]]);
  }
  const clipped = (t: Tensor): Tensor => (clip > 0 ? clamp(t, -clip, clip) : t);
  const { output: raw, state: controllerState } = model.controller.step(state.controller, concat([x, ...state.readVectors], 1));
  const hidden = clipped(raw);
  const xi = constrainInterface(linear(params.interface, hidden), dncInterfaceTable(config), 'the DNC interface vector');

  // Dynamic memory allocation: usage from the last writes and the free gates, then one allocation per write head.
  const usage = usageVector(state.usage, state.writeWeightings, retentionVector(xi.freeGates, state.readWeightings));
  const writeGates = Array.from({ length: writeHeads }, (_, h) => headPart(xi.writeGates, h, 1));
  const allocationGates = Array.from({ length: writeHeads }, (_, h) => headPart(xi.allocationGates, h, 1));
  const allocations = writeAllocationWeightings(
    usage,
    writeGates.map((g, h) => mul(g, allocationGates[h] as Tensor)),
  );
  const writeWeightings = allocations.map((allocation, h) =>
    writeWeighting(
      allocation,
      contentAddressing(state.memory, headPart(xi.writeKeys, h, w), headPart(xi.writeStrengths, h, 1), { validate: false }),
      allocationGates[h] as Tensor,
      writeGates[h] as Tensor,
    ),
  );
  const memory = write(
    state.memory,
    writeWeightings.map((weighting, h) => ({ weighting, erase: headPart(xi.eraseVectors, h, w), add: headPart(xi.writeVectors, h, w) })),
  );

  // Temporal links: L_t from p_{t−1}, then p_t.
  const links = writeWeightings.map((ww, h) => linkMatrix(state.links[h] as Tensor, state.precedences[h] as Tensor, ww));
  const precedences = writeWeightings.map((ww, h) => precedenceWeighting(state.precedences[h] as Tensor, ww));

  // Reading: each head's backward, content and forward weightings, mixed by its read mode. Every read head's forward
  // and backward weightings over a link matrix come from one fused op (forwardWeighting and backwardWeighting are
  // the per-head reference, tested against it).
  const modes = 1 + 2 * writeHeads;
  const linkReads = links.map((link) => linkReadWeightings(link, state.readWeightings));
  const readWeightings = state.readWeightings.map((_, i) =>
    readWeighting(
      headPart(xi.readModes, i, modes),
      linkReads.map((both) => both.backward[i] as Tensor),
      contentAddressing(memory, headPart(xi.readKeys, i, w), headPart(xi.readStrengths, i, 1), { validate: false }),
      linkReads.map((both) => both.forward[i] as Tensor),
    ),
  );
  const readVectors = readWeightings.map((weighting) => read(memory, weighting));
  const output = options.output === false ? null : clipped(linear(params.output, concat([hidden, ...readVectors], 1)));
  return {
    output,
    state: { controller: controllerState, memory, usage, links, precedences, readWeightings, writeWeightings, readVectors },
    interface: xi,
    allocations,
  };
}

/**
 * The DNC as a {@link RecurrentMemoryModel}, so @engram/ntm's sequence training (`trainNtm`,
 * `trainBatch`, `evaluateBatch`, `runSequence`) runs it.
 * @param model - the DNC
 * @example
 * ```ts
 * const dnc = createDnc(defaultDncConfig(6, 5), new Random(1));
 * const { errorBits } = evaluateBatch(dncRecurrent(dnc), sampleBatch(algorithmicTask('repeat-copy'), new Random(2), 16));
 * ```
 */
export function dncRecurrent(model: DncModel): RecurrentMemoryModel<DncState> {
  return {
    name: 'DNC',
    inputSize: model.config.inputSize,
    outputSize: model.config.outputSize,
    params: model.params,
    initialState: (batch) => initialDncState(model, batch),
    step: (state, x, options) => {
      const result = dncStep(model, state, x, options);
      return { output: result.output, state: result.state };
    },
    // Training without the tape where the hand-written pass covers the model (LSTM, one write head, cpu).
    sequenceGradients: (batch, sequences) => (dncSequenceSupported(model) ? dncSequenceGradients(model, batch, sequences) : null),
    sequenceEvaluation: (batch) => dncSequenceEvaluation(model, batch),
  };
}
