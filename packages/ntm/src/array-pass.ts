/**
 * The plain-array pieces of the tape-free sequence passes: the NTM's (`fusedSequenceGradients`) and @engram/dnc's
 * (`dncSequenceGradients`), which run where a backend has no whole-sequence kernel. The LSTM controller's layers forward
 * and backward over the backend's kernels, affine maps with their bias, each weight's gradient taken as one product
 * over a sequence's rows, and small row helpers. Arrays are row-major, `rows` (the batch) first.
 */
import type { LinearParameters, LstmParameters } from '@engram/controllers';
import type { Kernels, SequenceKernelSizes, Tensor } from '@engram/tensor';

/** The CPU backend's kernels over Float32Arrays. */
export type ArrayKernels = Kernels<Float32Array>;

/**
 * σ(x), without overflow for large |x|.
 * @param x - the input
 */
export const sigmoid = (x: number): number => {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
};

/**
 * log(1 + eˣ), without overflow.
 * @param x - the input
 */
export const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/**
 * a · b (`[m, k] · [k, n]`, either side transposed) through the backend's matmul kernel.
 * @param K - the kernels
 * @param a - the left operand
 * @param b - the right operand
 * @param m - rows of the product
 * @param k - the shared width
 * @param n - columns of the product
 * @param transA - a is stored `[k, m]`
 * @param transB - b is stored `[n, k]`
 */
export function product(K: ArrayKernels, a: Float32Array, b: Float32Array, m: number, k: number, n: number, transA = false, transB = false): Float32Array {
  return K.matmul(a, b, { batch: 1, m, k, n, transA, transB, batchedA: false, batchedB: false });
}

/**
 * x W + b for `rows` rows.
 * @param K - the kernels
 * @param x - the inputs, `[rows, inputs]`
 * @param linear - the weights (and bias)
 * @param rows - rows of x
 * @param inputs - x's width
 * @param outputs - the map's width
 */
export function affine(K: ArrayKernels, x: Float32Array, linear: LinearParameters, rows: number, inputs: number, outputs: number): Float32Array {
  const y = product(K, x, linear.weight.dataSync(), rows, inputs, outputs);
  if (linear.bias) {
    const bias = linear.bias.dataSync();
    for (let r = 0; r < rows; r++) for (let j = 0; j < outputs; j++) y[r * outputs + j] = (y[r * outputs + j] as number) + (bias[j] as number);
  }
  return y;
}

/** A linear map's inputs and output gradients over a sequence, one entry per step, for {@link weightGradient}. */
export interface WeightRows {
  /** Each step's inputs, `[rows, inputs]`. */
  inputs: Float32Array[];
  /** Each step's output gradients, `[rows, outputs]`. */
  grads: Float32Array[];
}

/** Empty {@link WeightRows}. */
export const weightRows = (): WeightRows => ({ inputs: [], grads: [] });

/**
 * A linear map's weight (and bias) gradient over a whole sequence as one product: Σ_t x_tᵀ dy_t, set in `gradients`.
 * @param K - the kernels
 * @param gradients - where the gradients go, by parameter
 * @param linear - the map
 * @param rows - every step's inputs and output gradients
 * @param inputs - its input width
 * @param outputs - its output width
 */
export function weightGradient(
  K: ArrayKernels,
  gradients: Map<Tensor, Float32Array>,
  linear: LinearParameters,
  rows: WeightRows,
  inputs: number,
  outputs: number,
): void {
  const x = stack(rows.inputs);
  const d = stack(rows.grads);
  const count = x.length / inputs;
  gradients.set(linear.weight, count === 0 ? new Float32Array(inputs * outputs) : product(K, x, d, inputs, count, outputs, true, false));
  if (linear.bias) {
    const db = new Float32Array(outputs);
    for (let r = 0; r < count; r++) for (let j = 0; j < outputs; j++) db[j] = (db[j] as number) + (d[r * outputs + j] as number);
    gradients.set(linear.bias, db);
  }
}

/** What an LSTM layer's step keeps for its backward: its input [x, h_{t−1}], z, c_{t−1} and the cell kernel's output. */
export interface LstmLayerRecord {
  /** [input, h_{t−1}], `[rows, inputWidth + H]`. */
  input: Float32Array;
  /** The gates' pre-activations, `[rows, 4H]`. */
  z: Float32Array;
  /** c_{t−1}, `[rows, H]`. */
  cPrevious: Float32Array;
  /** The cell kernel's output (h and c per row). */
  cell: Float32Array;
}

/**
 * One step of every LSTM layer: layer 0 reads `input`, each layer above the one below; h and c of each layer are
 * replaced in `hs` and `cs`.
 * @param K - the kernels
 * @param lstm - the controller's parameters
 * @param input - layer 0's input, `[rows, inputWidth]`
 * @param inputWidth - its width
 * @param hs - h_{t−1} of each layer (replaced by h_t)
 * @param cs - c_{t−1} of each layer (replaced by c_t)
 * @param rows - the batch
 * @returns each layer's record
 */
export function lstmForward(
  K: ArrayKernels,
  lstm: LstmParameters,
  input: Float32Array,
  inputWidth: number,
  hs: Float32Array[],
  cs: Float32Array[],
  rows: number,
): LstmLayerRecord[] {
  const H = lstm.hiddenSize;
  const records: LstmLayerRecord[] = [];
  let x = input;
  let width = inputWidth;
  lstm.layers.forEach((layer, l) => {
    const joined = concatRows(x, width, hs[l] as Float32Array, H, rows);
    const z = affine(K, joined, layer, rows, width + H, 4 * H);
    const cell = K.lstmCell(z, cs[l] as Float32Array, rows, H);
    const h = new Float32Array(rows * H);
    const c = new Float32Array(rows * H);
    for (let b = 0; b < rows; b++) {
      h.set(cell.subarray(b * 2 * H, b * 2 * H + H), b * H);
      c.set(cell.subarray(b * 2 * H + H, (b + 1) * 2 * H), b * H);
    }
    records.push({ input: joined, z, cPrevious: cs[l] as Float32Array, cell });
    hs[l] = h;
    cs[l] = c;
    x = h;
    width = H;
  });
  return records;
}

/**
 * The backward of one {@link lstmForward} step, top layer first. `dH[l]` and `dC[l]` hold the gradients of h_t and
 * c_t (the top layer's with the heads' and the output's part already added); they are replaced by those of h_{t−1}
 * and c_{t−1}. Each layer's input and gate gradient go to `rows[l]` for {@link weightGradient}.
 * @param K - the kernels
 * @param lstm - the controller's parameters
 * @param records - the step's records
 * @param dH - gradients of each layer's h (replaced)
 * @param dC - gradients of each layer's c (replaced)
 * @param rows - per layer, the rows of its weight gradient
 * @param batch - the batch
 * @returns the gradient of layer 0's input, `[batch, inputWidth]`
 */
export function lstmBackward(
  K: ArrayKernels,
  lstm: LstmParameters,
  records: readonly LstmLayerRecord[],
  dH: Float32Array[],
  dC: Float32Array[],
  rows: readonly WeightRows[],
  batch: number,
): Float32Array {
  const H = lstm.hiddenSize;
  let dBelow: Float32Array = new Float32Array(0);
  for (let l = records.length - 1; l >= 0; l--) {
    const layer = records[l] as LstmLayerRecord;
    const dh = dH[l] as Float32Array;
    if (l < records.length - 1) addInto(dh, dBelow, 0, batch * H);
    const grad = new Float32Array(batch * 2 * H);
    for (let b = 0; b < batch; b++) {
      grad.set(dh.subarray(b * H, (b + 1) * H), b * 2 * H);
      grad.set((dC[l] as Float32Array).subarray(b * H, (b + 1) * H), b * 2 * H + H);
    }
    const back = K.lstmCellBackward(layer.z, layer.cPrevious, layer.cell, grad, batch, H);
    const dz = new Float32Array(batch * 4 * H);
    const dcPrevious = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) {
      dz.set(back.subarray(b * 5 * H, b * 5 * H + 4 * H), b * 4 * H);
      dcPrevious.set(back.subarray(b * 5 * H + 4 * H, (b + 1) * 5 * H), b * H);
    }
    const inWidth = (layer.input.length / batch) | 0;
    (rows[l] as WeightRows).inputs.push(layer.input);
    (rows[l] as WeightRows).grads.push(dz);
    const dInput = product(K, dz, (lstm.layers[l] as LstmParameters['layers'][number]).weight.dataSync(), batch, 4 * H, inWidth, false, true);
    const below = inWidth - H;
    const dhPrevious = new Float32Array(batch * H);
    const dx = new Float32Array(batch * below);
    for (let b = 0; b < batch; b++) {
      dx.set(dInput.subarray(b * inWidth, b * inWidth + below), b * below);
      dhPrevious.set(dInput.subarray(b * inWidth + below, (b + 1) * inWidth), b * H);
    }
    dH[l] = dhPrevious;
    dC[l] = dcPrevious;
    dBelow = dx;
  }
  return dBelow;
}

/**
 * [a, b] row by row: `[rows, aWidth + bWidth]`.
 * @param a - the left rows
 * @param aWidth - their width
 * @param b - the right rows
 * @param bWidth - their width
 * @param rows - how many rows
 */
export function concatRows(a: Float32Array, aWidth: number, b: Float32Array, bWidth: number, rows: number): Float32Array {
  const out = new Float32Array(rows * (aWidth + bWidth));
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * aWidth, (r + 1) * aWidth), r * (aWidth + bWidth));
    out.set(b.subarray(r * bWidth, (r + 1) * bWidth), r * (aWidth + bWidth) + aWidth);
  }
  return out;
}

/**
 * target[i] += source[from + i] for i < count.
 * @param target - added into
 * @param source - added from
 * @param from - the first element of source read
 * @param count - how many (default: target's length)
 */
export function addInto(target: Float32Array, source: Float32Array, from: number, count = target.length): void {
  for (let i = 0; i < count; i++) target[i] = (target[i] as number) + (source[from + i] as number);
}

/**
 * The arrays one after another.
 * @param parts - the arrays
 */
export function stack(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * r(b) = Σ_i w(b, i) M(b, i): a read of memory `[B, N, M]` at weighting `[B, N]`, `[B, M]`.
 * @param memory - the memory
 * @param w - the weighting
 * @param B - the batch
 * @param N - memory rows
 * @param M - memory width
 */
export function readRows(memory: Float32Array, w: Float32Array, B: number, N: number, M: number): Float32Array {
  const out = new Float32Array(B * M);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      const wi = w[b * N + i] as number;
      if (wi === 0) continue;
      const base = (b * N + i) * M;
      for (let j = 0; j < M; j++) out[b * M + j] = (out[b * M + j] as number) + wi * (memory[base + j] as number);
    }
  }
  return out;
}

/** What a model's sizes give {@link kernelSizes}: the fields its config shares with the whole-sequence kernels. */
export interface KernelModelSizes {
  /** Input width I. */
  inputSize: number;
  /** Output width O. */
  outputSize: number;
  /** Memory rows N. */
  memorySlots: number;
  /** Memory width M. */
  memoryWidth: number;
  /** Read heads R. */
  readHeads: number;
}

/**
 * The sizes every whole-sequence kernel call takes, from the model's config, its LSTM and the batch.
 * @param config - the model's sizes
 * @param lstm - its controller
 * @param steps - time steps T
 * @param batch - sequences B
 * @param sequences - what the summed loss is divided by
 * @param gradients - false: the forward pass alone
 */
export function kernelSizes(
  config: KernelModelSizes,
  lstm: LstmParameters,
  steps: number,
  batch: number,
  sequences: number,
  gradients: boolean,
): SequenceKernelSizes {
  return {
    batch,
    steps,
    inputSize: config.inputSize,
    outputSize: config.outputSize,
    hidden: lstm.hiddenSize,
    layers: lstm.layers.length,
    slots: config.memorySlots,
    width: config.memoryWidth,
    readHeads: config.readHeads,
    lossScale: 1 / sequences,
    gradients,
  };
}

/**
 * The parameters one after another in a kernel's flat layout, or null when they do not fill exactly `count` floats.
 * @param layout - the parameters in the kernel's order
 * @param count - the kernel's parameter count
 */
export function flatParameters(layout: readonly Tensor[], count: number): Float32Array | null {
  const flat = new Float32Array(count);
  let at = 0;
  for (const t of layout) {
    if (at + t.size > count) return null;
    flat.set(t.dataSync(), at);
    at += t.size;
  }
  return at === count ? flat : null;
}

/** A whole-sequence kernel's output, cut up by {@link fromKernelOutput}. */
export interface KernelOutput {
  /** Each kept parameter's gradient. */
  gradients: Map<Tensor, Float32Array>;
  /** The loss, as the kernel scaled it. */
  loss: number;
  /** Wrong bits (or wrong rows) over the batch. */
  wrong: number;
  /** Whatever the kernel wrote after those (the DNC's verdicts for words). */
  rest: Float32Array;
}

/**
 * A kernel's output cut back into each parameter's gradient (those `keep` accepts), and what follows them: the loss,
 * the wrong count and any further floats.
 * @param out - the kernel's output, in the parameters' layout
 * @param layout - the parameters in the kernel's order
 * @param keep - which parameters get a gradient (default all)
 */
export function fromKernelOutput(out: Float32Array, layout: readonly Tensor[], keep: (t: Tensor) => boolean = () => true): KernelOutput {
  const gradients = new Map<Tensor, Float32Array>();
  let at = 0;
  for (const t of layout) {
    // Views, not copies: the kernel's output is a fresh array of its own, and the parts do not overlap.
    if (keep(t)) gradients.set(t, out.subarray(at, at + t.size));
    at += t.size;
  }
  return { gradients, loss: out[at] as number, wrong: out[at + 1] as number, rest: out.subarray(at + 2) };
}
