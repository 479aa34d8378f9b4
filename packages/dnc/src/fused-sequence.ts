/**
 * A whole training sequence of the DNC, forward and backward, without the autodiff tape: the equations of
 * {@link dncStep} (and the same CPU kernels for the LSTM cell, the matrix products, cosine similarity, the write,
 * the temporal link update and the link weightings), with the gradients written out by hand and each weight's
 * gradient taken as one matrix product over every time step after the loop. A time step then costs a couple of
 * dozen kernel calls on plain arrays instead of ~200 recorded ops, each with its tape, dispatch and allocation.
 *
 * It covers a DNC with an LSTM controller and one write head (the paper's, deepmind/dnc's and every recipe here),
 * any number of read heads, layers and sequences, on the CPU backend; {@link dncSequenceSupported} says whether a
 * model qualifies, and the training loop uses the tape otherwise. Tested against the tape (loss, every gradient).
 */
import type { LstmParameters } from '@engram/controllers';
import type { SequenceBatch } from '@engram/datasets';
import { type FusedSequenceResult, type SequenceEvaluation, arrayPass } from '@engram/ntm';
import { COSINE_EPSILON, type DncSequenceSizes, EngramError, type Kernels, type Tensor } from '@engram/tensor';
import { ALLOCATION_EPSILON } from './memory-access.js';
import type { DncModel } from './model.js';

type CpuKernels = Kernels<Float32Array>;

/**
 * Whether {@link dncSequenceGradients} can train `model`: an LSTM controller, one write head, parameters on the
 * CPU backend (plain Float32Array storage).
 * @param model - the DNC
 */
export function dncSequenceSupported(model: DncModel): boolean {
  return model.controller.kind === 'lstm' && model.config.writeHeads === 1 && model.params.output.weight.backend.name === 'cpu';
}

const {
  addInto,
  affine,
  flatParameters,
  fromKernelOutput,
  kernelSizes,
  lstmBackward,
  lstmForward,
  product,
  readRows,
  sigmoid,
  softplus,
  weightGradient,
  weightRows,
} = arrayPass;

/** The interface vector's parts, constrained (Methods, "Interface parameters"), `[B, …]` each. */
interface Interface {
  /** k^{r,i}: `[R][B·W]`. */
  readKeys: Float32Array[];
  /** β^{r,i} = oneplus: `[B·R]`. */
  readStrengths: Float32Array;
  /** k^w `[B·W]`, β^w `[B]`, e `[B·W]`, v `[B·W]`. */
  writeKey: Float32Array;
  writeStrength: Float32Array;
  erase: Float32Array;
  add: Float32Array;
  /** f^i `[B·R]`, g^a and g^w `[B]`. */
  freeGates: Float32Array;
  allocationGate: Float32Array;
  writeGate: Float32Array;
  /** π^i: `[B·R·3]`, backward, forward, content. */
  modes: Float32Array;
}

/** What a forward step keeps for the backward pass. */
interface StepRecord {
  layers: arrayPass.LstmLayerRecord[];
  /** The controller's output before and after the clamp. */
  top: Float32Array;
  hidden: Float32Array;
  /** ξ_t before the constraints, `[B·P]`. */
  raw: Float32Array;
  xi: Interface;
  /** The state before the step. */
  memoryBefore: Float32Array;
  usageBefore: Float32Array;
  linkBefore: Float32Array;
  precedenceBefore: Float32Array;
  readsBefore: Float32Array[];
  writeBefore: Float32Array;
  /** ψ_t, u_{t−1} + (1 − u_{t−1}) ∘ w^w_{t−1}, u_t. */
  retention: Float32Array;
  written: Float32Array;
  usage: Float32Array;
  /** The free list φ_t, the sorted lifted usage, its exclusive cumulative product, a_t. */
  order: Int32Array;
  sorted: Float32Array;
  products: Float32Array;
  allocation: Float32Array;
  /** The write key's similarities and content weighting, w^w_t. */
  writeSimilarity: Float32Array;
  writeContent: Float32Array;
  write: Float32Array;
  /** M_t, L_t. */
  memory: Float32Array;
  link: Float32Array;
  /** Every read head's previous weighting stacked `[B·R·N]`, and f and b from L_t `[B·2·R·N]`. */
  stackedReads: Float32Array;
  linkReads: Float32Array;
  readSimilarity: Float32Array[];
  readContent: Float32Array[];
  /** w^r_t and r_t of each read head. */
  readWeightings: Float32Array[];
  reads: Float32Array[];
  /** The output layer's input and its logits before the clamp (null on steps that are not scored). */
  outputInput: Float32Array | null;
  output: Float32Array | null;
}

/** Options for {@link dncSequenceGradients}. */
export interface DncSequenceOptions {
  /**
   * Run the whole batch as the backend's `dncSequence` kernel (WebAssembly) when it has one (default true); false runs
   * it here, over the separate kernels.
   */
  kernel?: boolean;
}

/** `ENGRAM_NTM_TAPE=1` (read once at load): the kernel is not used, so the tape runs (to compare the two). */
const TAPE_FORCED = typeof process !== 'undefined' && process.env?.ENGRAM_NTM_TAPE === '1';

/** The most LSTM layers the whole-sequence kernel plans for. */
const KERNEL_MAX_LAYERS = 16;

/** A batch as the `dncSequence` kernel reads it (time-major), with how its outputs are scored. */
export interface DncKernelBatch {
  /** Time steps T. */
  steps: number;
  /** Sequences side by side B. */
  batch: number;
  /** `[T, B, I]`. */
  inputs: Float32Array;
  /** `[T, B, O]` bits, or `[T, B]` word ids (−1: not scored). */
  targets: Float32Array;
  /** `[T, B]`: 1 where scored (bits only). */
  mask: Float32Array;
  /** `bits` (binary cross-entropy) or `words` (softmax cross-entropy, bAbI). */
  loss: 'bits' | 'words';
}

/** What one call of the `dncSequence` kernel gave back. */
export interface DncKernelResult extends FusedSequenceResult {
  /** With `words`: each row's verdict `[T, B]` (1 right, 0 wrong, −1 not scored). */
  verdicts: Float32Array | null;
}

/**
 * The whole batch in one call of the backend's `dncSequence` kernel: the parameters flattened in its layout, the
 * gradients (when asked) cut back out. Null where the model does not qualify or the backend has no such kernel.
 * @param model - the DNC
 * @param data - the batch, time-major
 * @param sequences - what the summed loss is divided by
 * @param gradients - false: the forward pass alone (no gradients)
 */
export function dncKernelSequence(model: DncModel, data: DncKernelBatch, sequences: number, gradients = true): DncKernelResult | null {
  const { config, params } = model;
  const models = params.output.weight.backend.models;
  const lstm = params.controller as unknown as LstmParameters;
  if (
    TAPE_FORCED ||
    !dncSequenceSupported(model) ||
    models === undefined ||
    lstm.layers.length > KERNEL_MAX_LAYERS ||
    !params.interface.bias ||
    !params.output.bias
  )
    return null;
  const sizes: DncSequenceSizes = { ...kernelSizes(config, lstm, data.steps, data.batch, sequences, gradients), clip: config.clip, loss: data.loss };
  const layout: Tensor[] = [
    ...lstm.layers.flatMap((layer) => [layer.weight, layer.bias]),
    params.interface.weight,
    params.interface.bias,
    params.output.weight,
    params.output.bias,
  ];
  const flat = flatParameters(layout, models.dncParameterCount(sizes));
  if (flat === null) return null;
  const out = fromKernelOutput(models.dncSequence(flat, data.inputs, data.targets, data.mask, sizes), layout, () => gradients);
  return {
    loss: out.loss,
    wrongBits: out.wrong,
    gradients: out.gradients,
    verdicts: data.loss === 'words' ? out.rest.slice(0, data.steps * data.batch) : null,
  };
}

/** {@link dncKernelSequence} for a batch of an algorithmic task (bits). */
function kernelSequenceGradients(model: DncModel, batch: SequenceBatch, sequences: number, gradients = true): FusedSequenceResult | null {
  return dncKernelSequence(model, { ...batch, loss: 'bits' }, sequences, gradients);
}

/**
 * A batch's loss (nats per sequence) and wrong bits from the forward pass alone, in one call of the backend's
 * `dncSequence` kernel: what evaluation uses where it can. Null where the model or backend has no such kernel, or the
 * batch is another task's.
 * @param model - the DNC
 * @param batch - the sequences
 */
export function dncSequenceEvaluation(model: DncModel, batch: SequenceBatch): SequenceEvaluation | null {
  if (!dncSequenceSupported(model) || batch.inputWidth !== model.config.inputSize || batch.outputWidth !== model.config.outputSize) return null;
  const result = kernelSequenceGradients(model, batch, batch.batch, false);
  return result === null ? null : { loss: result.loss, wrongBits: result.wrongBits };
}

/**
 * The loss and every parameter's gradient for a batch of sequences, as @engram/ntm's `sequenceLoss` and the tape give them
 * (up to rounding: this pass adds in float64 where the tape rounds every op to float32).
 * @param model - the DNC (see {@link dncSequenceSupported})
 * @param batch - the sequences
 * @param sequences - what the summed loss is divided by (default the batch's size)
 * @param options - whether to use the backend's whole-sequence kernel when it has one (default true)
 * @example
 * ```ts
 * const { loss, gradients } = dncSequenceGradients(model, sampleBatch(copyTask, new Random(1), 4));
 * ```
 */
export function dncSequenceGradients(model: DncModel, batch: SequenceBatch, sequences = batch.batch, options: DncSequenceOptions = {}): FusedSequenceResult {
  const { config, params } = model;
  if (!dncSequenceSupported(model)) throw new EngramError('dncSequenceGradients: the DNC needs an LSTM controller, one write head and the cpu backend');
  if (batch.inputWidth !== config.inputSize || batch.outputWidth !== config.outputSize)
    throw new EngramError(
      `dncSequenceGradients: the batch has input width ${batch.inputWidth} and output width ${batch.outputWidth}; the DNC expects ${config.inputSize} and ${config.outputSize}`,
    );
  if (options.kernel !== false) {
    const viaKernel = kernelSequenceGradients(model, batch, sequences);
    if (viaKernel !== null) return viaKernel;
  }
  const K = params.output.weight.backend.kernels as CpuKernels;
  const B = batch.batch;
  const N = config.memorySlots;
  const W = config.memoryWidth;
  const R = config.readHeads;
  const I = config.inputSize;
  const O = config.outputSize;
  const clip = config.clip;
  const lstm = params.controller as unknown as LstmParameters;
  const H = lstm.hiddenSize;
  const L = lstm.layers.length;
  const P = params.interface.weight.shape[1] as number;
  // Offsets of the interface's parts (dncInterfaceTable's order).
  const at = { readKeys: 0, readStrengths: R * W, writeKey: R * W + R, writeStrength: R * W + R + W } as const;
  const oErase = at.writeStrength + 1;
  const oAdd = oErase + W;
  const oFree = oAdd + W;
  const oAllocation = oFree + R;
  const oWrite = oAllocation + 1;
  const oModes = oWrite + 1;
  if (oModes + 3 * R !== P) throw new EngramError(`dncSequenceGradients: the interface has ${P} values, expected ${oModes + 3 * R}`);
  const data = (t: Tensor): Float32Array => t.dataSync();
  const clamped = (x: Float32Array): Float32Array => {
    if (!(clip > 0)) return x;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = Math.min(Math.max(x[i] as number, -clip), clip);
    return out;
  };

  // The initial state (initialDncState): all zero.
  let memory: Float32Array = new Float32Array(B * N * W);
  let usage: Float32Array = new Float32Array(B * N);
  let link: Float32Array = new Float32Array(B * N * N);
  let precedence: Float32Array = new Float32Array(B * N);
  let readWeightings: Float32Array[] = Array.from({ length: R }, () => new Float32Array(B * N));
  let writeWeighting: Float32Array = new Float32Array(B * N);
  let reads: Float32Array[] = Array.from({ length: R }, () => new Float32Array(B * W));
  const hs: Float32Array[] = Array.from({ length: L }, () => new Float32Array(B * H));
  const cs: Float32Array[] = Array.from({ length: L }, () => new Float32Array(B * H));

  const records: StepRecord[] = [];
  let loss = 0;
  let wrong = 0;
  for (let t = 0; t < batch.steps; t++) {
    const mask = batch.mask.subarray(t * B, (t + 1) * B);
    // The controller reads [x_t, r_{t−1}].
    const input: Float32Array = new Float32Array(B * (I + R * W));
    for (let b = 0; b < B; b++) {
      input.set(batch.inputs.subarray((t * B + b) * I, (t * B + b + 1) * I), b * (I + R * W));
      for (let r = 0; r < R; r++) input.set((reads[r] as Float32Array).subarray(b * W, (b + 1) * W), b * (I + R * W) + I + r * W);
    }
    const layers = lstmForward(K, lstm, input, I + R * W, hs, cs, B);
    const top = hs[L - 1] as Float32Array;
    const hidden = clamped(top);
    const raw = affine(K, hidden, params.interface, B, H, P);
    const xi = constrain(raw, B, P, R, W, at.writeKey, oErase, oAdd, oFree, oAllocation, oWrite, oModes);

    // Dynamic allocation: ψ_t, u_t, the free list and a_t.
    const retention = new Float32Array(B * N);
    const written = new Float32Array(B * N);
    const nextUsage = new Float32Array(B * N);
    const lifted = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < N; i++) {
        const k = b * N + i;
        let psi = 1;
        for (let r = 0; r < R; r++) psi *= 1 - (xi.freeGates[b * R + r] as number) * ((readWeightings[r] as Float32Array)[k] as number);
        const u = usage[k] as number;
        const before = u + (1 - u) * (writeWeighting[k] as number);
        retention[k] = psi;
        written[k] = before;
        nextUsage[k] = before * psi;
        lifted[k] = (nextUsage[k] as number) * (1 - ALLOCATION_EPSILON) + ALLOCATION_EPSILON;
      }
    }
    const order = new Int32Array(B * N);
    const sorted = new Float32Array(B * N);
    const slots = Array.from({ length: N }, (_, i) => i);
    for (let b = 0; b < B; b++) {
      const row = lifted.subarray(b * N, (b + 1) * N);
      const ascending = [...slots].sort((i, j) => (row[i] as number) - (row[j] as number) || i - j);
      for (let j = 0; j < N; j++) {
        order[b * N + j] = ascending[j] as number;
        sorted[b * N + j] = row[ascending[j] as number] as number;
      }
    }
    const products = K.cumulativeProduct(sorted, B, N, true);
    const allocation = new Float32Array(B * N);
    for (let k = 0; k < B * N; k++) {
      const b = (k / N) | 0;
      allocation[b * N + (order[k] as number)] = (1 - (sorted[k] as number)) * (products[k] as number);
    }

    // The write: w^w_t from allocation and content (against M_{t−1}), then erase and add.
    const writeSimilarity = K.rowCosine(memory, xi.writeKey, B, N, W, COSINE_EPSILON);
    const writeContent = softmaxRows(writeSimilarity, xi.writeStrength, B, N);
    const write = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      const ga = xi.allocationGate[b] as number;
      const gw = xi.writeGate[b] as number;
      for (let i = 0; i < N; i++) write[b * N + i] = gw * (ga * (allocation[b * N + i] as number) + (1 - ga) * (writeContent[b * N + i] as number));
    }
    const nextMemory = K.memoryWrite(memory, write, xi.erase, xi.add, B, N, W);

    // Temporal links: L_t from p_{t−1}, then p_t.
    const nextLink = K.temporalLink(link, precedence, write, B, N);
    const nextPrecedence = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      let total = 0;
      for (let i = 0; i < N; i++) total += write[b * N + i] as number;
      for (let i = 0; i < N; i++) nextPrecedence[b * N + i] = (1 - total) * (precedence[b * N + i] as number) + (write[b * N + i] as number);
    }

    // Reading: each head's mix of backward, forward and content weightings, then r_t = M_tᵀ w^r_t.
    const stackedReads = new Float32Array(B * R * N);
    for (let b = 0; b < B; b++) for (let r = 0; r < R; r++) stackedReads.set((readWeightings[r] as Float32Array).subarray(b * N, (b + 1) * N), (b * R + r) * N);
    const linkReads = K.linkWeightings(nextLink, stackedReads, B, N, R);
    const readSimilarity: Float32Array[] = [];
    const readContent: Float32Array[] = [];
    const nextReadWeightings: Float32Array[] = [];
    const nextReads: Float32Array[] = [];
    for (let r = 0; r < R; r++) {
      const similarity = K.rowCosine(nextMemory, xi.readKeys[r] as Float32Array, B, N, W, COSINE_EPSILON);
      const strengths = new Float32Array(B);
      for (let b = 0; b < B; b++) strengths[b] = xi.readStrengths[b * R + r] as number;
      const content = softmaxRows(similarity, strengths, B, N);
      const weighting = new Float32Array(B * N);
      for (let b = 0; b < B; b++) {
        const pi = (b * R + r) * 3;
        const backward = xi.modes[pi] as number;
        const forward = xi.modes[pi + 1] as number;
        const byContent = xi.modes[pi + 2] as number;
        const f = ((b * 2 + 0) * R + r) * N;
        const bw = ((b * 2 + 1) * R + r) * N;
        for (let i = 0; i < N; i++)
          weighting[b * N + i] = byContent * (content[b * N + i] as number) + backward * (linkReads[bw + i] as number) + forward * (linkReads[f + i] as number);
      }
      readSimilarity.push(similarity);
      readContent.push(content);
      nextReadWeightings.push(weighting);
      nextReads.push(readRows(nextMemory, weighting, B, N, W));
    }

    // y_t on scored steps: [h_t, r_t] → logits, clamped.
    let outputInput: Float32Array | null = null;
    let output: Float32Array | null = null;
    if (mask.some((m) => m > 0)) {
      outputInput = new Float32Array(B * (H + R * W));
      for (let b = 0; b < B; b++) {
        outputInput.set(hidden.subarray(b * H, (b + 1) * H), b * (H + R * W));
        for (let r = 0; r < R; r++) outputInput.set((nextReads[r] as Float32Array).subarray(b * W, (b + 1) * W), b * (H + R * W) + H + r * W);
      }
      output = affine(K, outputInput, params.output, B, H + R * W, O);
      const logits = clamped(output);
      for (let b = 0; b < B; b++) {
        const m = mask[b] as number;
        if (m === 0) continue;
        for (let j = 0; j < O; j++) {
          const x = logits[b * O + j] as number;
          const target = batch.targets[(t * B + b) * O + j] as number;
          loss += m * (Math.max(x, 0) - x * target + Math.log1p(Math.exp(-Math.abs(x))));
          if ((x > 0 ? 1 : 0) !== target) wrong++;
        }
      }
    }
    records.push({
      layers,
      top,
      hidden,
      raw,
      xi,
      memoryBefore: memory,
      usageBefore: usage,
      linkBefore: link,
      precedenceBefore: precedence,
      readsBefore: readWeightings,
      writeBefore: writeWeighting,
      retention,
      written,
      usage: nextUsage,
      order,
      sorted,
      products,
      allocation,
      writeSimilarity,
      writeContent,
      write,
      memory: nextMemory,
      link: nextLink,
      stackedReads,
      linkReads,
      readSimilarity,
      readContent,
      readWeightings: nextReadWeightings,
      reads: nextReads,
      outputInput,
      output,
    });
    memory = nextMemory;
    usage = nextUsage;
    link = nextLink;
    precedence = nextPrecedence;
    readWeightings = nextReadWeightings;
    writeWeighting = write;
    reads = nextReads;
  }

  // Backward through time. Carried: the gradients of the state after step t (from step t + 1).
  let dMemory: Float32Array = new Float32Array(B * N * W);
  let dUsage: Float32Array = new Float32Array(B * N);
  let dLink: Float32Array = new Float32Array(B * N * N);
  let dPrecedence: Float32Array = new Float32Array(B * N);
  let dReadWeightings: Float32Array[] = Array.from({ length: R }, () => new Float32Array(B * N));
  let dWriteWeighting: Float32Array = new Float32Array(B * N);
  let dReads: Float32Array[] = Array.from({ length: R }, () => new Float32Array(B * W));
  const dH: Float32Array[] = Array.from({ length: L }, () => new Float32Array(B * H));
  const dC: Float32Array[] = Array.from({ length: L }, () => new Float32Array(B * H));
  const layerRows = Array.from({ length: L }, weightRows);
  const interfaceRows = weightRows();
  const outputRows = weightRows();
  const scale = 1 / sequences;
  for (let t = batch.steps - 1; t >= 0; t--) {
    const record = records[t] as StepRecord;
    const { xi } = record;
    const mask = batch.mask.subarray(t * B, (t + 1) * B);
    const dHidden = new Float32Array(B * H);
    // The output layer (the clamp passes the gradient where −clip ≤ y ≤ clip).
    if (record.output !== null && record.outputInput !== null) {
      const dy = new Float32Array(B * O);
      for (let b = 0; b < B; b++) {
        const m = mask[b] as number;
        if (m === 0) continue;
        for (let j = 0; j < O; j++) {
          const y = record.output[b * O + j] as number;
          if (clip > 0 && (y < -clip || y > clip)) continue;
          const x = clip > 0 ? Math.min(Math.max(y, -clip), clip) : y;
          dy[b * O + j] = m * (sigmoid(x) - (batch.targets[(t * B + b) * O + j] as number)) * scale;
        }
      }
      outputRows.inputs.push(record.outputInput);
      outputRows.grads.push(dy);
      const dIn = product(K, dy, data(params.output.weight), B, O, H + R * W, false, true);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < H; j++) dHidden[b * H + j] = (dHidden[b * H + j] as number) + (dIn[b * (H + R * W) + j] as number);
        for (let r = 0; r < R; r++) {
          const d = dReads[r] as Float32Array;
          for (let j = 0; j < W; j++) d[b * W + j] = (d[b * W + j] as number) + (dIn[b * (H + R * W) + H + r * W + j] as number);
        }
      }
    }
    // r_t = M_tᵀ w^r_t; then the mix w^r_t = π_b b + π_f f + π_c c.
    const dRaw = new Float32Array(B * P);
    const dLinkReads = new Float32Array(B * 2 * R * N);
    const dWrite = dWriteWeighting; // owned: the carried gradient of w^w_t, added to below
    for (let r = 0; r < R; r++) {
      const weighting = record.readWeightings[r] as Float32Array;
      const dWeighting = dReadWeightings[r] as Float32Array;
      const d = dReads[r] as Float32Array;
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < N; i++) {
          const base = (b * N + i) * W;
          let sum = 0;
          const wi = weighting[b * N + i] as number;
          for (let j = 0; j < W; j++) {
            const dj = d[b * W + j] as number;
            sum += dj * (record.memory[base + j] as number);
            dMemory[base + j] = (dMemory[base + j] as number) + wi * dj;
          }
          dWeighting[b * N + i] = (dWeighting[b * N + i] as number) + sum;
        }
      }
      const content = record.readContent[r] as Float32Array;
      const dContent = new Float32Array(B * N);
      for (let b = 0; b < B; b++) {
        const pi = (b * R + r) * 3;
        const f = ((b * 2 + 0) * R + r) * N;
        const bw = ((b * 2 + 1) * R + r) * N;
        let dBackward = 0;
        let dForward = 0;
        let dByContent = 0;
        for (let i = 0; i < N; i++) {
          const g = dWeighting[b * N + i] as number;
          dBackward += g * (record.linkReads[bw + i] as number);
          dForward += g * (record.linkReads[f + i] as number);
          dByContent += g * (content[b * N + i] as number);
          dLinkReads[bw + i] = g * (xi.modes[pi] as number);
          dLinkReads[f + i] = g * (xi.modes[pi + 1] as number);
          dContent[b * N + i] = g * (xi.modes[pi + 2] as number);
        }
        // π = softmax(raw modes): d raw_k = π_k (dπ_k − Σ dπ π).
        const dModes = [dBackward, dForward, dByContent];
        let dot = 0;
        for (let k = 0; k < 3; k++) dot += (dModes[k] as number) * (xi.modes[pi + k] as number);
        for (let k = 0; k < 3; k++) dRaw[b * P + oModes + r * 3 + k] = (xi.modes[pi + k] as number) * ((dModes[k] as number) - dot);
      }
      // c^r = softmax(β^r cos(M_t, k^r)).
      const strengths = new Float32Array(B);
      for (let b = 0; b < B; b++) strengths[b] = xi.readStrengths[b * R + r] as number;
      const { dSimilarity, dStrength } = softmaxRowsBackward(content, record.readSimilarity[r] as Float32Array, strengths, dContent, B, N);
      const cosine = K.rowCosineBackward(record.memory, xi.readKeys[r] as Float32Array, dSimilarity, B, N, W, COSINE_EPSILON);
      addInto(dMemory, cosine, 0, B * N * W);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < W; j++) dRaw[b * P + at.readKeys + r * W + j] = cosine[B * N * W + b * W + j] as number;
        dRaw[b * P + at.readStrengths + r] = (dStrength[b] as number) * sigmoid(record.raw[b * P + at.readStrengths + r] as number);
      }
    }
    // f and b from L_t and w^r_{t−1}: into dL_t and the previous read weightings' gradients.
    const linkBack = K.linkWeightingsBackward(record.link, record.stackedReads, dLinkReads, B, N, R);
    addInto(dLink, linkBack, 0, B * N * N);
    const dReadsBefore: Float32Array[] = Array.from({ length: R }, (_, r) => {
      const d = new Float32Array(B * N);
      for (let b = 0; b < B; b++) for (let i = 0; i < N; i++) d[b * N + i] = linkBack[B * N * N + (b * R + r) * N + i] as number;
      return d;
    });
    // p_t = (1 − Σ w^w) p_{t−1} + w^w.
    const dPrecedenceBefore = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      let total = 0;
      let dTotal = 0;
      for (let i = 0; i < N; i++) {
        total += record.write[b * N + i] as number;
        dTotal += (dPrecedence[b * N + i] as number) * (record.precedenceBefore[b * N + i] as number);
      }
      for (let i = 0; i < N; i++) {
        dPrecedenceBefore[b * N + i] = (1 - total) * (dPrecedence[b * N + i] as number);
        dWrite[b * N + i] = (dWrite[b * N + i] as number) + (dPrecedence[b * N + i] as number) - dTotal;
      }
    }
    // L_t from L_{t−1}, p_{t−1} and w^w_t.
    const temporal = K.temporalLinkBackward(record.linkBefore, record.precedenceBefore, record.write, dLink, B, N);
    const dLinkBefore = temporal.subarray(0, B * N * N);
    addInto(dPrecedenceBefore, temporal, B * N * N, B * N);
    addInto(dWrite, temporal, B * N * N + B * N, B * N);
    // M_t = M_{t−1} ∘ (1 − w eᵀ) + w vᵀ.
    const writeBack = K.memoryWriteBackward(record.memoryBefore, record.write, xi.erase, xi.add, dMemory, B, N, W);
    const dMemoryBefore = writeBack.subarray(0, B * N * W);
    addInto(dWrite, writeBack, B * N * W, B * N);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < W; j++) {
        const e = xi.erase[b * W + j] as number;
        dRaw[b * P + oErase + j] = (writeBack[B * N * W + B * N + b * W + j] as number) * e * (1 - e);
        dRaw[b * P + oAdd + j] = writeBack[B * N * W + B * N + B * W + b * W + j] as number;
      }
    }
    // w^w_t = g^w (g^a a + (1 − g^a) c^w).
    const dAllocation = new Float32Array(B * N);
    const dWriteContent = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      const ga = xi.allocationGate[b] as number;
      const gw = xi.writeGate[b] as number;
      let dgw = 0;
      let dga = 0;
      for (let i = 0; i < N; i++) {
        const a = record.allocation[b * N + i] as number;
        const c = record.writeContent[b * N + i] as number;
        const d = dWrite[b * N + i] as number;
        dgw += d * (ga * a + (1 - ga) * c);
        dga += gw * d * (a - c);
        dAllocation[b * N + i] = gw * d * ga;
        dWriteContent[b * N + i] = gw * d * (1 - ga);
      }
      dRaw[b * P + oWrite] = dgw * gw * (1 - gw);
      dRaw[b * P + oAllocation] = dga * ga * (1 - ga);
    }
    // c^w = softmax(β^w cos(M_{t−1}, k^w)).
    const { dSimilarity, dStrength } = softmaxRowsBackward(record.writeContent, record.writeSimilarity, xi.writeStrength, dWriteContent, B, N);
    const writeCosine = K.rowCosineBackward(record.memoryBefore, xi.writeKey, dSimilarity, B, N, W, COSINE_EPSILON);
    addInto(dMemoryBefore, writeCosine, 0, B * N * W);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < W; j++) dRaw[b * P + at.writeKey + j] = writeCosine[B * N * W + b * W + j] as number;
      dRaw[b * P + at.writeStrength] = (dStrength[b] as number) * sigmoid(record.raw[b * P + at.writeStrength] as number);
    }
    // a_t[φ_j] = (1 − s_j) Π_{i<j} s_i over the sorted lifted usage s (the order a constant), into du_t.
    const dSortedAllocation = new Float32Array(B * N);
    const dProducts = new Float32Array(B * N);
    for (let k = 0; k < B * N; k++) {
      const b = (k / N) | 0;
      const g = dAllocation[b * N + (record.order[k] as number)] as number;
      dSortedAllocation[k] = g;
      dProducts[k] = g * (1 - (record.sorted[k] as number));
    }
    const dSortedFromProducts = K.cumulativeProductBackward(record.sorted, dProducts, B, N, true);
    const dUsageNow = dUsage; // owned: the carried gradient of u_t
    for (let k = 0; k < B * N; k++) {
      const b = (k / N) | 0;
      const ds = -(dSortedAllocation[k] as number) * (record.products[k] as number) + (dSortedFromProducts[k] as number);
      const slot = b * N + (record.order[k] as number);
      dUsageNow[slot] = (dUsageNow[slot] as number) + ds * (1 - ALLOCATION_EPSILON);
    }
    // u_t = (u_{t−1} + (1 − u_{t−1}) w^w_{t−1}) ∘ ψ_t, ψ_t = Π_r (1 − f_r w^r_{t−1}).
    const dUsageBefore = new Float32Array(B * N);
    const dWriteBefore = new Float32Array(B * N);
    const dFree = new Float64Array(B * R);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < N; i++) {
        const k = b * N + i;
        const du = dUsageNow[k] as number;
        const dWritten = du * (record.retention[k] as number);
        const dPsi = du * (record.written[k] as number);
        const u = record.usageBefore[k] as number;
        dUsageBefore[k] = dWritten * (1 - (record.writeBefore[k] as number));
        dWriteBefore[k] = dWritten * (1 - u);
        for (let r = 0; r < R; r++) {
          // ∂ψ/∂(1 − f_r w_r) = Π over the other heads.
          let others = 1;
          for (let q = 0; q < R; q++) if (q !== r) others *= 1 - (xi.freeGates[b * R + q] as number) * ((record.readsBefore[q] as Float32Array)[k] as number);
          const dKept = dPsi * others;
          const f = xi.freeGates[b * R + r] as number;
          dFree[b * R + r] = (dFree[b * R + r] as number) - dKept * ((record.readsBefore[r] as Float32Array)[k] as number);
          const d = dReadsBefore[r] as Float32Array;
          d[k] = (d[k] as number) - dKept * f;
        }
      }
      for (let r = 0; r < R; r++) {
        const f = xi.freeGates[b * R + r] as number;
        dRaw[b * P + oFree + r] = (dFree[b * R + r] as number) * f * (1 - f);
      }
    }
    // ξ_t = hidden W + b; the clamp on the controller's output; the LSTM, top layer first.
    interfaceRows.inputs.push(record.hidden);
    interfaceRows.grads.push(dRaw);
    addInto(dHidden, product(K, dRaw, data(params.interface.weight), B, P, H, false, true), 0, B * H);
    if (clip > 0)
      for (let i = 0; i < dHidden.length; i++) {
        const v = record.top[i] as number;
        if (v < -clip || v > clip) dHidden[i] = 0;
      }
    addInto(dH[L - 1] as Float32Array, dHidden, 0, B * H);
    // The controller's input [x_t, r_{t−1}]: its read part goes to the previous step's read vectors.
    const dx = lstmBackward(K, lstm, record.layers, dH, dC, layerRows, B);
    const dReadsBeforeStep = Array.from({ length: R }, (_, r) => {
      const d = new Float32Array(B * W);
      for (let b = 0; b < B; b++) d.set(dx.subarray(b * (I + R * W) + I + r * W, b * (I + R * W) + I + (r + 1) * W), b * W);
      return d;
    });
    dMemory = dMemoryBefore.slice();
    dUsage = dUsageBefore;
    dLink = dLinkBefore.slice();
    dPrecedence = dPrecedenceBefore;
    dReadWeightings = dReadsBefore;
    dWriteWeighting = dWriteBefore;
    dReads = dReadsBeforeStep;
  }

  // Weight gradients: one product per weight over every step's rows.
  const gradients = new Map<Tensor, Float32Array>();
  weightGradient(K, gradients, params.output, outputRows, H + R * W, O);
  weightGradient(K, gradients, params.interface, interfaceRows, H, P);
  for (const [l, layer] of lstm.layers.entries())
    weightGradient(K, gradients, layer, layerRows[l] as arrayPass.WeightRows, layer.weight.shape[0] as number, 4 * H);
  return { loss: loss * scale, wrongBits: wrong, gradients };
}

/** The interface vector's constraints (dncInterfaceTable): oneplus strengths, sigmoid gates and erase, softmax modes. */
function constrain(
  raw: Float32Array,
  B: number,
  P: number,
  R: number,
  W: number,
  oWriteKey: number,
  oErase: number,
  oAdd: number,
  oFree: number,
  oAllocation: number,
  oWrite: number,
  oModes: number,
): Interface {
  const xi: Interface = {
    readKeys: Array.from({ length: R }, () => new Float32Array(B * W)),
    readStrengths: new Float32Array(B * R),
    writeKey: new Float32Array(B * W),
    writeStrength: new Float32Array(B),
    erase: new Float32Array(B * W),
    add: new Float32Array(B * W),
    freeGates: new Float32Array(B * R),
    allocationGate: new Float32Array(B),
    writeGate: new Float32Array(B),
    modes: new Float32Array(B * R * 3),
  };
  for (let b = 0; b < B; b++) {
    const row = b * P;
    for (let r = 0; r < R; r++) {
      (xi.readKeys[r] as Float32Array).set(raw.subarray(row + r * W, row + (r + 1) * W), b * W);
      xi.readStrengths[b * R + r] = 1 + softplus(raw[row + R * W + r] as number);
      xi.freeGates[b * R + r] = sigmoid(raw[row + oFree + r] as number);
      let largest = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < 3; k++) largest = Math.max(largest, raw[row + oModes + r * 3 + k] as number);
      let total = 0;
      for (let k = 0; k < 3; k++) total += Math.exp((raw[row + oModes + r * 3 + k] as number) - largest);
      for (let k = 0; k < 3; k++) xi.modes[(b * R + r) * 3 + k] = Math.exp((raw[row + oModes + r * 3 + k] as number) - largest) / total;
    }
    xi.writeKey.set(raw.subarray(row + oWriteKey, row + oWriteKey + W), b * W);
    xi.writeStrength[b] = 1 + softplus(raw[row + oWriteKey + W] as number);
    for (let j = 0; j < W; j++) xi.erase[b * W + j] = sigmoid(raw[row + oErase + j] as number);
    xi.add.set(raw.subarray(row + oAdd, row + oAdd + W), b * W);
    xi.allocationGate[b] = sigmoid(raw[row + oAllocation] as number);
    xi.writeGate[b] = sigmoid(raw[row + oWrite] as number);
  }
  return xi;
}

/** softmax(β_b · x[b, ·]) of each row. */
function softmaxRows(x: Float32Array, strength: Float32Array, B: number, N: number): Float32Array {
  const out = new Float32Array(B * N);
  for (let b = 0; b < B; b++) {
    const beta = strength[b] as number;
    let largest = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < N; i++) largest = Math.max(largest, beta * (x[b * N + i] as number));
    let total = 0;
    for (let i = 0; i < N; i++) total += Math.exp(beta * (x[b * N + i] as number) - largest);
    for (let i = 0; i < N; i++) out[b * N + i] = Math.exp(beta * (x[b * N + i] as number) - largest) / total;
  }
  return out;
}

/** Backward of {@link softmaxRows}: d(βx) = w ∘ (dw − Σ dw w), then dx = β d(βx) and dβ = Σ d(βx) x. */
function softmaxRowsBackward(
  weights: Float32Array,
  x: Float32Array,
  strength: Float32Array,
  dWeights: Float32Array,
  B: number,
  N: number,
): { dSimilarity: Float32Array; dStrength: Float32Array } {
  const dSimilarity = new Float32Array(B * N);
  const dStrength = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    let dot = 0;
    for (let i = 0; i < N; i++) dot += (dWeights[b * N + i] as number) * (weights[b * N + i] as number);
    const beta = strength[b] as number;
    let db = 0;
    for (let i = 0; i < N; i++) {
      const dLogit = (weights[b * N + i] as number) * ((dWeights[b * N + i] as number) - dot);
      db += dLogit * (x[b * N + i] as number);
      dSimilarity[b * N + i] = dLogit * beta;
    }
    dStrength[b] = db;
  }
  return { dSimilarity, dStrength };
}
