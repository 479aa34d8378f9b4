/**
 * A whole training sequence of the NTM, forward and backward, without the autodiff tape: the same
 * equations as {@link ntmStep} (and the same CPU kernels for the LSTM cell, content and location
 * addressing, the write and the matrix products), with the gradients written out by hand and the
 * weight gradients of all time steps taken as one matrix product each after the loop. A time step
 * then costs a few dozen kernel calls on plain arrays instead of ~170 recorded ops.
 *
 * It covers the NTM with an LSTM controller (any number of layers and heads, any batch) on the CPU
 * backend; {@link fusedSequenceSupported} says whether a model qualifies, and the training loop uses
 * the composed path otherwise. Tested against the composed path (loss, every gradient).
 */
import { SHARPEN_EPSILON } from '@engram/addressing';
import type { LstmParameters } from '@engram/controllers';
import type { SequenceBatch } from '@engram/datasets';
import { COSINE_EPSILON, EngramError, type Kernels, type NtmSequenceSizes, type Tensor } from '@engram/tensor';
import {
  type LstmLayerRecord,
  type WeightRows,
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
} from './array-pass.js';
import type { NtmModel } from './model.js';
import type { RecurrentMemoryModel, SequenceEvaluation } from './recurrent.js';

type CpuKernels = Kernels<Float32Array>;

/**
 * A whole batch's loss and gradients computed without the tape: what the NTM's hand-written sequence pass returns, and
 * what a {@link RecurrentMemoryModel}'s `sequenceGradients` returns (the DNC's).
 */
export interface FusedSequenceResult {
  /** Binary cross-entropy over the scored bits, summed and divided by `sequences` (as {@link sequenceLoss}). */
  loss: number;
  /** Wrong bits over the batch's sequences (not averaged). */
  wrongBits: number;
  /** The loss's gradient with respect to each parameter that has one, as flat arrays. */
  gradients: Map<Tensor, Float32Array>;
}

/**
 * Whether {@link fusedSequenceGradients} can train `model`: an LSTM controller, parameters on the CPU
 * backend (plain Float32Array storage).
 * @param model - the NTM
 */
export function fusedSequenceSupported(model: NtmModel): boolean {
  return model.controller.kind === 'lstm' && model.params.output.weight.backend.name === 'cpu';
}

/**
 * A batch's loss (nats per sequence) and wrong bits from the forward pass alone, in one call of the backend's
 * whole-sequence kernel: what `evaluateBatch` uses where it can. Null where the model or backend has no such kernel.
 * @param model - the NTM
 * @param batch - the sequences
 */
export function fusedSequenceEvaluation(model: NtmModel, batch: SequenceBatch): SequenceEvaluation | null {
  if (!fusedSequenceSupported(model) || batch.inputWidth !== model.config.inputSize || batch.outputWidth !== model.config.outputSize) return null;
  const result = kernelSequenceGradients(model, batch, batch.batch, false);
  return result === null ? null : { loss: result.loss, wrongBits: result.wrongBits };
}

/** Options for {@link fusedSequenceGradients}. */
export interface FusedSequenceOptions {
  /**
   * Run the whole sequence as the backend's `ntmSequence` kernel (WebAssembly) when it has one (default
   * true); false runs it here, over the separate kernels.
   */
  kernel?: boolean;
}

/** The most LSTM layers and heads the whole-sequence kernel plans for. */
const KERNEL_LIMITS = { layers: 16, heads: 64 };

/**
 * The whole sequence in one call of the backend's `ntmSequence` kernel: the parameters flattened in its
 * layout, the gradients cut back out. Null where the backend has no such kernel or the model does not fit it.
 */
function kernelSequenceGradients(model: NtmModel, batch: SequenceBatch, sequences: number, gradients = true): FusedSequenceResult | null {
  const { config, params } = model;
  const models = params.output.weight.backend.models;
  const lstm = params.controller as unknown as LstmParameters;
  if (
    models === undefined ||
    lstm.layers.length > KERNEL_LIMITS.layers ||
    config.readHeads + config.writeHeads > KERNEL_LIMITS.heads ||
    !params.heads.bias ||
    !params.output.bias
  )
    return null;
  const sizes: NtmSequenceSizes = {
    ...kernelSizes(config, lstm, batch.steps, batch.batch, sequences, gradients),
    writeHeads: config.writeHeads,
    shifts: config.shiftWidth,
    controllerClip: config.controllerClip,
  };
  const memory = (params.initialMemory ?? model.fixedMemory) as Tensor;
  const layout: Tensor[] = [
    ...lstm.layers.flatMap((layer) => [layer.weight, layer.bias]),
    params.heads.weight,
    params.heads.bias,
    params.output.weight,
    params.output.bias,
    params.initialReads,
    params.initialWeightings,
    memory,
  ];
  const flat = flatParameters(layout, models.ntmParameterCount(sizes));
  if (flat === null) return null;
  const out = fromKernelOutput(
    models.ntmSequence(flat, batch.inputs, batch.targets, batch.mask, sizes),
    layout,
    (t) => gradients && (t !== memory || !!params.initialMemory),
  );
  return { loss: out.loss, wrongBits: out.wrong, gradients: out.gradients };
}

/** One head's constrained parameters for a batch, and where its raw slice starts. */
interface HeadValues {
  offset: number;
  key: Float32Array;
  strength: Float32Array;
  gate: Float32Array;
  shift: Float32Array;
  sharpening: Float32Array;
  erase: Float32Array | null;
  add: Float32Array | null;
  /** The content weighting w^c and the final weighting w, `[batch, N]`. */
  content: Float32Array;
  weighting: Float32Array;
  /** The cosine similarities K(k, M(i)), `[batch, N]`. */
  similarity: Float32Array;
}

/** Everything one time step keeps for the backward pass. */
interface StepRecord {
  /** Per layer, the cell's input [x, h_{t−1}] `[batch, in + H]`, pre-activations z, the previous c, the cell's output [h, c]. */
  layers: LstmLayerRecord[];
  /** The top layer's h_t, `[batch, H]`. */
  hidden: Float32Array;
  /** The heads' raw parameters (after clipping), `[batch, P]`. */
  raw: Float32Array;
  /** The same before clipping (null without clipping). */
  unclipped: Float32Array | null;
  heads: HeadValues[];
  /** Memory before this step, `[batch, N, M]`, and after each write pass. */
  memories: Float32Array[];
  /** Each head's previous weighting. */
  previous: Float32Array[];
  /** The output layer's input [h, r_1 … r_R] and logits, when the step is scored. */
  outputInput: Float32Array | null;
  logits: Float32Array | null;
}

/**
 * The loss and every parameter gradient of one batch of sequences, computed without the tape.
 * Call only when {@link fusedSequenceSupported} holds.
 * @param model - the NTM (LSTM controller, CPU backend)
 * @param batch - the sequences, padded side by side (time-major)
 * @param sequences - what the summed loss is divided by (the whole batch's size when this is a shard)
 * @param options - whether to use the backend's whole-sequence kernel when it has one (default true)
 */
export function fusedSequenceGradients(
  model: NtmModel,
  batch: SequenceBatch,
  sequences = batch.batch,
  options: FusedSequenceOptions = {},
): FusedSequenceResult {
  // The kernel reads the inputs with the model's strides: a batch of another task would be read as garbage.
  if (batch.inputWidth !== model.config.inputSize || batch.outputWidth !== model.config.outputSize)
    throw new EngramError(
      `fusedSequenceGradients: the batch has input width ${batch.inputWidth} and output width ${batch.outputWidth}; the NTM expects ${model.config.inputSize} and ${model.config.outputSize}`,
    );
  if (options.kernel !== false) {
    const viaKernel = kernelSequenceGradients(model, batch, sequences);
    if (viaKernel !== null) return viaKernel;
  }
  const { config, params } = model;
  const K = params.output.weight.backend.kernels as CpuKernels;
  const B = batch.batch;
  const N = config.memorySlots;
  const M = config.memoryWidth;
  const R = config.readHeads;
  const W = config.writeHeads;
  const S = config.shiftWidth;
  const I = config.inputSize;
  const O = config.outputSize;
  const lstm = params.controller as unknown as LstmParameters;
  const H = lstm.hiddenSize;
  const L = lstm.layers.length;
  const clip = config.controllerClip;
  const headsLinear = params.heads;
  const outputLinear = params.output;
  const P = headsLinear.weight.shape[1] as number;
  const data = (t: Tensor): Float32Array => t.dataSync();

  // The initial state (initialNtmState): memory, softmax of the weighting logits, the learned reads.
  const memorySource = data((params.initialMemory ?? model.fixedMemory) as Tensor);
  let memory: Float32Array = new Float32Array(B * N * M);
  for (let b = 0; b < B; b++) memory.set(memorySource, b * N * M);
  const focus = data(params.initialWeightings);
  const initialWeightings = Array.from({ length: R + W }, (_, h) => softmaxRow(focus.subarray(h * N, (h + 1) * N)));
  let previous: Float32Array[] = initialWeightings.map((w) => {
    const out = new Float32Array(B * N);
    for (let b = 0; b < B; b++) out.set(w, b * N);
    return out;
  });
  const initialReads = data(params.initialReads);
  let reads: Float32Array[] = Array.from({ length: R }, (_, r) => {
    const out = new Float32Array(B * M);
    for (let b = 0; b < B; b++) out.set(initialReads.subarray(r * M, (r + 1) * M), b * M);
    return out;
  });
  const hs: Float32Array[] = Array.from({ length: L }, () => new Float32Array(B * H));
  const cs: Float32Array[] = Array.from({ length: L }, () => new Float32Array(B * H));
  const none = new Float32Array(B * M);

  // Forward, keeping what the backward pass needs.
  const records: StepRecord[] = [];
  let loss = 0;
  let wrong = 0;
  for (let t = 0; t < batch.steps; t++) {
    const mask = batch.mask.subarray(t * B, (t + 1) * B);
    const scored = mask.some((m) => m > 0);
    const input: Float32Array = new Float32Array(B * (I + R * M));
    for (let b = 0; b < B; b++) {
      input.set(batch.inputs.subarray((t * B + b) * I, (t * B + b + 1) * I), b * (I + R * M));
      for (let r = 0; r < R; r++) input.set((reads[r] as Float32Array).subarray(b * M, (b + 1) * M), b * (I + R * M) + I + r * M);
    }
    const layers = lstmForward(K, lstm, input, I + R * M, hs, cs, B);
    const hidden = hs[L - 1] as Float32Array;
    const raw = affine(K, hidden, headsLinear, B, H, P);
    const unclipped = clip > 0 ? raw.slice() : null;
    if (clip > 0) for (let i = 0; i < raw.length; i++) raw[i] = Math.min(Math.max(raw[i] as number, -clip), clip);

    // Heads: constrain, then content and location addressing against the memory before the write.
    const heads: HeadValues[] = [];
    let offset = 0;
    for (let h = 0; h < R + W; h++) {
      const writes = h >= R;
      const head = constrainHead(raw, offset, B, P, M, S, writes);
      offset += headSize(M, S, writes);
      head.similarity = K.rowCosine(memory, head.key, B, N, M, COSINE_EPSILON);
      head.content = new Float32Array(B * N);
      for (let b = 0; b < B; b++) {
        const beta = head.strength[b] as number;
        let largest = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < N; i++) largest = Math.max(largest, beta * (head.similarity[b * N + i] as number));
        let total = 0;
        for (let i = 0; i < N; i++) {
          const e = Math.exp(beta * (head.similarity[b * N + i] as number) - largest);
          head.content[b * N + i] = e;
          total += e;
        }
        for (let i = 0; i < N; i++) head.content[b * N + i] = (head.content[b * N + i] as number) / total;
      }
      head.weighting = K.locationAddress(head.content, previous[h] as Float32Array, head.gate, head.shift, head.sharpening, B, N, S, SHARPEN_EPSILON);
      heads.push(head);
    }
    const nextReads = heads.slice(0, R).map((head) => readRows(memory, head.weighting, B, N, M));
    // The write: one fused pass with one head; with several, every erase then every add (as `write`).
    const memories: Float32Array[] = [memory];
    const writeHeads = heads.slice(R);
    if (writeHeads.length === 1) {
      const only = writeHeads[0] as HeadValues;
      memories.push(K.memoryWrite(memory, only.weighting, only.erase as Float32Array, only.add as Float32Array, B, N, M));
    } else {
      for (const head of writeHeads)
        memories.push(K.memoryWrite(memories[memories.length - 1] as Float32Array, head.weighting, head.erase as Float32Array, none, B, N, M));
      for (const head of writeHeads)
        memories.push(K.memoryWrite(memories[memories.length - 1] as Float32Array, head.weighting, none, head.add as Float32Array, B, N, M));
    }
    let outputInput: Float32Array | null = null;
    let logits: Float32Array | null = null;
    if (scored) {
      outputInput = new Float32Array(B * (H + R * M));
      for (let b = 0; b < B; b++) {
        outputInput.set(hidden.subarray(b * H, (b + 1) * H), b * (H + R * M));
        for (let r = 0; r < R; r++) outputInput.set((nextReads[r] as Float32Array).subarray(b * M, (b + 1) * M), b * (H + R * M) + H + r * M);
      }
      logits = affine(K, outputInput, outputLinear, B, H + R * M, O);
      for (let b = 0; b < B; b++) {
        if ((mask[b] as number) === 0) continue;
        const m = mask[b] as number;
        for (let j = 0; j < O; j++) {
          const x = logits[b * O + j] as number;
          const target = batch.targets[(t * B + b) * O + j] as number;
          loss += m * (Math.max(x, 0) - x * target + Math.log1p(Math.exp(-Math.abs(x))));
          if ((x > 0 ? 1 : 0) !== target) wrong++;
        }
      }
    }
    records.push({ layers, hidden, raw, unclipped, heads, memories, previous, outputInput, logits });
    previous = heads.map((head) => head.weighting);
    reads = nextReads;
    memory = memories[memories.length - 1] as Float32Array;
  }

  // Backward through time. Carried: the gradients of the state after step t.
  let dMemory: Float32Array = new Float32Array(B * N * M);
  let dPrevious: Float32Array[] = Array.from({ length: R + W }, () => new Float32Array(B * N));
  let dReads: Float32Array[] = Array.from({ length: R }, () => new Float32Array(B * M));
  const dH: Float32Array[] = Array.from({ length: L }, () => new Float32Array(B * H));
  const dC: Float32Array[] = Array.from({ length: L }, () => new Float32Array(B * H));
  // Per-step rows for the weight gradients, multiplied once after the loop.
  const layerRows = Array.from({ length: L }, weightRows);
  const headRows = weightRows();
  const outputRows = weightRows();
  const scale = 1 / sequences;
  for (let t = batch.steps - 1; t >= 0; t--) {
    const record = records[t] as StepRecord;
    const mask = batch.mask.subarray(t * B, (t + 1) * B);
    const dHidden = dH[L - 1] as Float32Array;
    const dReadsNow = dReads; // owned: this step's reads' gradient, added to below
    if (record.logits !== null && record.outputInput !== null) {
      const dy = new Float32Array(B * O);
      for (let b = 0; b < B; b++) {
        const m = mask[b] as number;
        if (m === 0) continue;
        for (let j = 0; j < O; j++) dy[b * O + j] = m * (sigmoid(record.logits[b * O + j] as number) - (batch.targets[(t * B + b) * O + j] as number)) * scale;
      }
      outputRows.inputs.push(record.outputInput);
      outputRows.grads.push(dy);
      const dIn = product(K, dy, data(outputLinear.weight), B, O, H + R * M, false, true);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < H; j++) dHidden[b * H + j] = (dHidden[b * H + j] as number) + (dIn[b * (H + R * M) + j] as number);
        for (let r = 0; r < R; r++) {
          const d = dReadsNow[r] as Float32Array;
          for (let j = 0; j < M; j++) d[b * M + j] = (d[b * M + j] as number) + (dIn[b * (H + R * M) + H + r * M + j] as number);
        }
      }
    }
    // The write passes, last first: dMemory becomes the gradient of the memory before the write.
    const dWeightings = dPrevious; // owned, as above
    const writeHeads = record.heads.slice(R);
    const dErase = writeHeads.map(() => new Float32Array(B * M));
    const dAdd = writeHeads.map(() => new Float32Array(B * M));
    const passes =
      writeHeads.length === 1
        ? [{ head: 0, erase: true, add: true }]
        : [...writeHeads.map((_, h) => ({ head: h, erase: true, add: false })), ...writeHeads.map((_, h) => ({ head: h, erase: false, add: true }))];
    for (let p = passes.length - 1; p >= 0; p--) {
      const pass = passes[p] as { head: number; erase: boolean; add: boolean };
      const head = writeHeads[pass.head] as HeadValues;
      const e = pass.erase ? (head.erase as Float32Array) : none;
      const a = pass.add ? (head.add as Float32Array) : none;
      const back = K.memoryWriteBackward(record.memories[p] as Float32Array, head.weighting, e, a, dMemory, B, N, M);
      dMemory = back.subarray(0, B * N * M); // a fresh kernel output: ours to add into
      addInto(dWeightings[R + pass.head] as Float32Array, back, B * N * M);
      if (pass.erase) addInto(dErase[pass.head] as Float32Array, back, B * N * M + B * N);
      if (pass.add) addInto(dAdd[pass.head] as Float32Array, back, B * N * M + B * N + B * M);
    }
    const memoryBefore = record.memories[0] as Float32Array;
    // The reads, against the memory before the write.
    for (let r = 0; r < R; r++) {
      const w = (record.heads[r] as HeadValues).weighting;
      const d = dReadsNow[r] as Float32Array;
      const dw = dWeightings[r] as Float32Array;
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < N; i++) {
          const base = (b * N + i) * M;
          let sum = 0;
          const wi = w[b * N + i] as number;
          for (let j = 0; j < M; j++) {
            const dj = d[b * M + j] as number;
            sum += dj * (memoryBefore[base + j] as number);
            dMemory[base + j] = (dMemory[base + j] as number) + wi * dj;
          }
          dw[b * N + i] = (dw[b * N + i] as number) + sum;
        }
      }
    }
    // Each head: location addressing, content addressing, then the constraints, into draw.
    const dRaw = new Float32Array(B * P);
    const nextPrevious: Float32Array[] = [];
    for (let h = 0; h < R + W; h++) {
      const head = record.heads[h] as HeadValues;
      const back = K.locationAddressBackward(
        head.content,
        record.previous[h] as Float32Array,
        head.gate,
        head.shift,
        head.sharpening,
        dWeightings[h] as Float32Array,
        B,
        N,
        S,
        SHARPEN_EPSILON,
      );
      nextPrevious.push(back.subarray(B * N, 2 * B * N));
      const dg = back.subarray(2 * B * N, 2 * B * N + B);
      const ds = back.subarray(2 * B * N + B, 2 * B * N + B + B * S);
      const dGamma = back.subarray(2 * B * N + B + B * S, 2 * B * N + 2 * B + B * S);
      // w^c = softmax(β K): d(βK) = w^c ∘ (dw^c − Σ dw^c w^c).
      const dSimilarity = new Float32Array(B * N);
      const dStrength = new Float32Array(B);
      for (let b = 0; b < B; b++) {
        let dot = 0;
        for (let i = 0; i < N; i++) dot += (back[b * N + i] as number) * (head.content[b * N + i] as number);
        const beta = head.strength[b] as number;
        let db = 0;
        for (let i = 0; i < N; i++) {
          const dLogit = (head.content[b * N + i] as number) * ((back[b * N + i] as number) - dot);
          db += dLogit * (head.similarity[b * N + i] as number);
          dSimilarity[b * N + i] = dLogit * beta;
        }
        dStrength[b] = db;
      }
      const cosine = K.rowCosineBackward(memoryBefore, head.key, dSimilarity, B, N, M, COSINE_EPSILON);
      addInto(dMemory, cosine, 0, B * N * M);
      const o = head.offset;
      for (let b = 0; b < B; b++) {
        const rawRow = b * P + o;
        for (let j = 0; j < M; j++) dRaw[rawRow + j] = cosine[B * N * M + b * M + j] as number;
        dRaw[rawRow + M] = (dStrength[b] as number) * sigmoid(record.raw[rawRow + M] as number);
        const g = head.gate[b] as number;
        dRaw[rawRow + M + 1] = (dg[b] as number) * g * (1 - g);
        let dot = 0;
        for (let k = 0; k < S; k++) dot += (ds[b * S + k] as number) * (head.shift[b * S + k] as number);
        for (let k = 0; k < S; k++) dRaw[rawRow + M + 2 + k] = (head.shift[b * S + k] as number) * ((ds[b * S + k] as number) - dot);
        dRaw[rawRow + M + 2 + S] = (dGamma[b] as number) * sigmoid(record.raw[rawRow + M + 2 + S] as number);
        if (h >= R) {
          const e = head.erase as Float32Array;
          const de = dErase[h - R] as Float32Array;
          const da = dAdd[h - R] as Float32Array;
          for (let j = 0; j < M; j++) {
            const ej = e[b * M + j] as number;
            dRaw[rawRow + M + 3 + S + j] = (de[b * M + j] as number) * ej * (1 - ej);
            dRaw[rawRow + 2 * M + 3 + S + j] = da[b * M + j] as number;
          }
        }
      }
    }
    // The clamp passes the gradient where −clip ≤ raw ≤ clip (minimum and maximum pass ties on).
    const unclipped = record.unclipped;
    if (unclipped !== null)
      for (let i = 0; i < dRaw.length; i++) {
        const v = unclipped[i] as number;
        if (v < -clip || v > clip) dRaw[i] = 0;
      }
    headRows.inputs.push(record.hidden);
    headRows.grads.push(dRaw);
    const dFromHeads = product(K, dRaw, data(headsLinear.weight), B, P, H, false, true);
    addInto(dHidden, dFromHeads, 0, B * H);
    // The LSTM, top layer first; the controller's input [x_t, r_{t−1}]: its read part goes to the previous step's reads.
    const dx = lstmBackward(K, lstm, record.layers, dH, dC, layerRows, B);
    const below = I + R * M;
    dReads = Array.from({ length: R }, (_, r) => {
      const d = new Float32Array(B * M);
      for (let b = 0; b < B; b++) d.set(dx.subarray(b * below + I + r * M, b * below + I + (r + 1) * M), b * M);
      return d;
    });
    dPrevious = nextPrevious;
  }

  // Weight gradients: one product per weight over every step's rows.
  const gradients = new Map<Tensor, Float32Array>();
  weightGradient(K, gradients, outputLinear, outputRows, H + R * M, O);
  weightGradient(K, gradients, headsLinear, headRows, H, P);
  for (const [l, layer] of lstm.layers.entries()) weightGradient(K, gradients, layer, layerRows[l] as WeightRows, layer.weight.shape[0] as number, 4 * H);
  // The learned initial state: reads, weightings (through their softmax), memory.
  const dInitialReads = new Float32Array(R * M);
  for (let r = 0; r < R; r++)
    for (let b = 0; b < B; b++)
      for (let j = 0; j < M; j++) dInitialReads[r * M + j] = (dInitialReads[r * M + j] as number) + ((dReads[r] as Float32Array)[b * M + j] as number);
  gradients.set(params.initialReads, dInitialReads);
  const dFocus = new Float32Array((R + W) * N);
  for (let h = 0; h < R + W; h++) {
    const w = initialWeightings[h] as Float32Array;
    const summed = new Float32Array(N);
    for (let b = 0; b < B; b++) for (let i = 0; i < N; i++) summed[i] = (summed[i] as number) + ((dPrevious[h] as Float32Array)[b * N + i] as number);
    let dot = 0;
    for (let i = 0; i < N; i++) dot += (summed[i] as number) * (w[i] as number);
    for (let i = 0; i < N; i++) dFocus[h * N + i] = (w[i] as number) * ((summed[i] as number) - dot);
  }
  gradients.set(params.initialWeightings, dFocus);
  if (params.initialMemory) {
    const dInitialMemory = new Float32Array(N * M);
    for (let b = 0; b < B; b++) for (let i = 0; i < N * M; i++) dInitialMemory[i] = (dInitialMemory[i] as number) + (dMemory[b * N * M + i] as number);
    gradients.set(params.initialMemory, dInitialMemory);
  }
  return { loss: loss * scale, wrongBits: wrong, gradients };
}

/** A head's raw parameter count: key (M), β, g, shift (S), γ, and for a write head e and a (M each). */
const headSize = (M: number, S: number, writes: boolean): number => M + 3 + S + (writes ? 2 * M : 0);

function constrainHead(raw: Float32Array, offset: number, B: number, P: number, M: number, S: number, writes: boolean): HeadValues {
  const key = new Float32Array(B * M);
  const strength = new Float32Array(B);
  const gate = new Float32Array(B);
  const shift = new Float32Array(B * S);
  const sharpening = new Float32Array(B);
  const erase = writes ? new Float32Array(B * M) : null;
  const add = writes ? new Float32Array(B * M) : null;
  for (let b = 0; b < B; b++) {
    const row = b * P + offset;
    key.set(raw.subarray(row, row + M), b * M);
    strength[b] = softplus(raw[row + M] as number);
    gate[b] = sigmoid(raw[row + M + 1] as number);
    shift.set(softmaxRow(raw.subarray(row + M + 2, row + M + 2 + S)), b * S);
    sharpening[b] = softplus(raw[row + M + 2 + S] as number) + 1;
    if (erase && add) {
      for (let j = 0; j < M; j++) erase[b * M + j] = sigmoid(raw[row + M + 3 + S + j] as number);
      add.set(raw.subarray(row + 2 * M + 3 + S, row + 3 * M + 3 + S), b * M);
    }
  }
  const empty = new Float32Array(0);
  return { offset, key, strength, gate, shift, sharpening, erase, add, content: empty, weighting: empty, similarity: empty };
}

function softmaxRow(x: Float32Array): Float32Array {
  let largest = Number.NEGATIVE_INFINITY;
  for (const v of x) largest = Math.max(largest, v);
  const out = new Float32Array(x.length);
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.exp((x[i] as number) - largest);
    out[i] = e;
    total += e;
  }
  for (let i = 0; i < x.length; i++) out[i] = (out[i] as number) / total;
  return out;
}
