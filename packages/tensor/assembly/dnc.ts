// A whole DNC training sequence (LSTM controller, one write head, any read heads and layers, any batch) forward and
// backward in one call: the arithmetic of @engram/dnc's fused-sequence.ts (itself tested against the tape), with every
// activation kept in this module's memory for the backward pass. Weights, inputs and targets are copied in once per
// sequence; the output is every parameter's gradient, then the loss and the wrong bits.
//
// Parameters and gradients share one flat layout: for each LSTM layer W [(in + H) × 4H] and b [4H] (in = I + R·M for
// the first layer, H above), the interface's W [H × P] and b [P], the output's W [(H + R·M) × O] and b [O]. The
// interface vector ξ holds, in order: read keys (R·M), read strengths (R), the write key (M), its strength, erase (M),
// write vector (M), free gates (R), the allocation gate, the write gate, read modes (3R: backward, forward, content).

import { multiplyAdd } from './matmul';
import { F, at, entry, setEntry } from './pointers';
import { cumulativeProduct, cumulativeProductBackward, linkWeightings, linkWeightingsBackward, temporalLink, temporalLinkBackward, temporalLinkTempBytes } from './scan';
import { memoryWrite, memoryWriteBackward, rowCosineBackwardKept, rowCosineKeeping } from './memory';
import { addFloats, affine, affineBackInput, affineBackWeights, lstmCellBackward, lstmCellForward, sigmoid, softplus } from './ntm';

const COSINE_EPSILON: f32 = 1e-8;
/** ε added to the usage before sorting (deepmind/dnc's): keeps every allocation weight finite. */
const ALLOCATION_EPSILON: f64 = 1e-6;

/** Sizes of one call. */
let B: i32 = 0, T: i32 = 0, I: i32 = 0, O: i32 = 0, H: i32 = 0, L: i32 = 0, N: i32 = 0, M: i32 = 0, R: i32 = 0;
let P: i32 = 0;
// Offsets of the interface's parts in ξ.
let xRead: i32 = 0, xReadStrength: i32 = 0, xWriteKey: i32 = 0, xWriteStrength: i32 = 0, xErase: i32 = 0, xAdd: i32 = 0;
let xFree: i32 = 0, xAllocation: i32 = 0, xWrite: i32 = 0, xModes: i32 = 0;

let cursor: usize = 0;
@inline function take(floats: i32): usize {
  const p = cursor;
  cursor += ((<usize>floats) * F + 15) & ~(<usize>15);
  return p;
}
@inline function inputWidth(l: i32): i32 {
  return l == 0 ? I + R * M : H;
}

// Per-step buffers (offsets from a step's start) and fixed buffers.
let stepBytes: usize = 0;
let stepBase: usize = 0;
const oJoined: usize = memory.data(16 * 4);
const oZ: usize = memory.data(16 * 4);
const oH: usize = memory.data(16 * 4);
const oC: usize = memory.data(16 * 4);
const oGates: usize = memory.data(16 * 4);
let oHidden: usize = 0, oRaw: usize = 0;
let oReadKeys: usize = 0, oReadStrengths: usize = 0, oWriteKey: usize = 0, oWriteStrength: usize = 0, oErase: usize = 0, oAdd: usize = 0;
let oFree: usize = 0, oAllocationGate: usize = 0, oWriteGate: usize = 0, oModes: usize = 0;
let oRetention: usize = 0, oWritten: usize = 0, oUsage: usize = 0, oOrder: usize = 0, oSorted: usize = 0, oProducts: usize = 0, oAllocation: usize = 0;
let oWriteSim: usize = 0, oWriteContent: usize = 0, oWriteW: usize = 0, oMemory: usize = 0, oLink: usize = 0, oPrecedence: usize = 0;
let oWriteNorms: usize = 0, oReadNorms: usize = 0;
let oLinkReads: usize = 0, oReadSim: usize = 0, oReadContent: usize = 0, oReadW: usize = 0, oReads: usize = 0, oOutIn: usize = 0, oOutput: usize = 0;
let zeroMemory: usize = 0, zeroLink: usize = 0, zeroSlots: usize = 0, zeroReadW: usize = 0, zeroReads: usize = 0, zeroState: usize = 0;
let dMemory: usize = 0, dUsage: usize = 0, dLink: usize = 0, dPrecedence: usize = 0, dReadW: usize = 0, dWriteW: usize = 0, dReads: usize = 0;
let dUsageNext: usize = 0, dPrecedenceNext: usize = 0, dReadWNext: usize = 0, dWriteWNext: usize = 0, dReadsNext: usize = 0;
let dH: usize = 0, dC: usize = 0, dHNext: usize = 0, dCNext: usize = 0;
let dRaw: usize = 0, dy: usize = 0, dOutIn: usize = 0, dHidden: usize = 0, dLinkReads: usize = 0, linkBack: usize = 0;
let cosineBack: usize = 0, dContent: usize = 0, dSim: usize = 0, dStrength: usize = 0, dAllocation: usize = 0;
let dWriteContent: usize = 0, dSortedAllocation: usize = 0, dProducts: usize = 0, dSortedProducts: usize = 0, cellBack: usize = 0, dJoined: usize = 0;
let linkTemp: usize = 0;
// Below a batch of 4 the weights' gradients of the controller and of ξ wait for the end of the backward pass, as in
// ntm.ts: each step's rows (a layer's input and its gates' gradient; the controller's output and dξ) go into these,
// the last step first, and one product per matrix over all of them reads and writes the gradient once.
let dRawStep: usize = 0;
const xRows: usize = memory.data(16 * 4);
const dzRows: usize = memory.data(16 * 4);
let hiddenRows: usize = 0, dRawRows: usize = 0;
@inline function deferred(): bool {
  return B < 4;
}

function plan(base: usize): usize {
  cursor = 0;
  for (let l = 0; l < L; l++) {
    setEntry(oJoined, l, take(B * (inputWidth(l) + H)));
    setEntry(oZ, l, take(B * 4 * H));
    setEntry(oH, l, take(B * H));
    setEntry(oC, l, take(B * H));
    setEntry(oGates, l, take(B * 5 * H));
  }
  oHidden = take(B * H);
  oRaw = take(B * P);
  oReadKeys = take(R * B * M);
  oReadStrengths = take(R * B);
  oWriteKey = take(B * M);
  oWriteStrength = take(B);
  oErase = take(B * M);
  oAdd = take(B * M);
  oFree = take(B * R);
  oAllocationGate = take(B);
  oWriteGate = take(B);
  oModes = take(B * R * 3);
  oRetention = take(B * N);
  oWritten = take(B * N);
  oUsage = take(B * N);
  oOrder = take(B * N);
  oSorted = take(B * N);
  oProducts = take(B * N);
  oAllocation = take(B * N);
  oWriteSim = take(B * N);
  oWriteNorms = take(B * N);
  oWriteContent = take(B * N);
  oWriteW = take(B * N);
  oMemory = take(B * N * M);
  oLink = take(B * N * N);
  oPrecedence = take(B * N);
  oLinkReads = take(B * 2 * R * N);
  oReadSim = take(R * B * N);
  oReadNorms = take(R * B * N);
  oReadContent = take(R * B * N);
  oReadW = take(B * R * N);
  oReads = take(R * B * M);
  oOutIn = take(B * (H + R * M));
  oOutput = take(B * O);
  stepBytes = cursor;
  cursor = base;
  stepBase = take(<i32>((stepBytes * <usize>(ring ? min(T, 2) : T)) / F));
  zeroMemory = take(B * N * M);
  zeroLink = take(B * N * N);
  zeroSlots = take(B * N);
  zeroReadW = take(B * R * N);
  zeroReads = take(R * B * M);
  zeroState = take(B * H);
  // dM, then the write backward's dw, de and da after it (memoryWriteBackward writes dM in place).
  dMemory = take(B * N * M + B * N + 2 * B * M);
  dUsage = take(B * N);
  // dL, then the link backward's dp and dw after it (temporalLinkBackward writes dL in place).
  dLink = take(B * N * N + 2 * B * N);
  dPrecedence = take(B * N);
  dReadW = take(B * R * N);
  dWriteW = take(B * N);
  dReads = take(R * B * M);
  dUsageNext = take(B * N);
  dPrecedenceNext = take(B * N);
  dReadWNext = take(B * R * N);
  dWriteWNext = take(B * N);
  dReadsNext = take(R * B * M);
  dH = take(L * B * H);
  dC = take(L * B * H);
  dHNext = take(L * B * H);
  dCNext = take(L * B * H);
  dRawStep = take(B * P);
  dy = take(B * O);
  dOutIn = take(B * (H + R * M));
  dHidden = take(B * H);
  dLinkReads = take(B * 2 * R * N);
  linkBack = take(B * N * N + B * R * N);
  cosineBack = take(B * M);
  dContent = take(B * N);
  dSim = take(B * N);
  dStrength = take(B);
  dAllocation = take(B * N);
  dWriteContent = take(B * N);
  dSortedAllocation = take(B * N);
  dProducts = take(B * N);
  dSortedProducts = take(B * N);
  cellBack = take(B * 4 * H);
  const rows = !ring && deferred() ? T * B : 0;
  for (let l = 0; l < L; l++) {
    setEntry(xRows, l, take(rows * (inputWidth(l) + H)));
    setEntry(dzRows, l, take(rows * 4 * H));
  }
  hiddenRows = take(rows * H);
  dRawRows = take(rows * P);
  dJoined = take(B * (I + R * M + 2 * H));
  linkTemp = cursor;
  cursor += <usize>temporalLinkTempBytes(N);
  return cursor;
}

/** Forward only (no gradients): two steps' buffers, used in turn, instead of one per step. */
let ring: bool = false;
@inline function stepAt(t: i32, offset: usize): usize {
  return stepBase + (<usize>(ring ? t & 1 : t)) * stepBytes + offset;
}
/** A state buffer after step t − 1: the initial (zero) one at t = 0. */
@inline function before(t: i32, offset: usize, initial: usize): usize {
  return t == 0 ? initial : stepAt(t - 1, offset);
}

function setSizes(batch: i32, steps: i32, inputs: i32, outputs: i32, hidden: i32, layers: i32, slots: i32, width: i32, reads: i32): void {
  B = batch;
  T = steps;
  I = inputs;
  O = outputs;
  H = hidden;
  L = layers;
  N = slots;
  M = width;
  R = reads;
  xRead = 0;
  xReadStrength = R * M;
  xWriteKey = xReadStrength + R;
  xWriteStrength = xWriteKey + M;
  xErase = xWriteStrength + 1;
  xAdd = xErase + M;
  xFree = xAdd + M;
  xAllocation = xFree + R;
  xWrite = xAllocation + 1;
  xModes = xWrite + 1;
  P = xModes + 3 * R;
}

/** Floats of the parameter (and gradient) layout. */
export function dncParameterCount(inputs: i32, outputs: i32, hidden: i32, layers: i32, slots: i32, width: i32, reads: i32): i32 {
  setSizes(1, 1, inputs, outputs, hidden, layers, slots, width, reads);
  let n = 0;
  for (let l = 0; l < L; l++) n += (inputWidth(l) + H) * 4 * H + 4 * H;
  return n + H * P + P + (H + R * M) * O + O;
}

/** Bytes of temp space `dncSequence` needs. */
export function dncSequenceTempBytes(
  batch: i32,
  steps: i32,
  inputs: i32,
  outputs: i32,
  hidden: i32,
  layers: i32,
  slots: i32,
  width: i32,
  reads: i32,
  gradients: bool,
): i32 {
  setSizes(batch, steps, inputs, outputs, hidden, layers, slots, width, reads);
  ring = !gradients;
  return <i32>plan(0) + 16;
}

const pLayerW: usize = memory.data(16 * 4);
const pLayerB: usize = memory.data(16 * 4);
let pXiW: i32 = 0, pXiB: i32 = 0, pOutW: i32 = 0, pOutB: i32 = 0;
function parameterOffsets(): i32 {
  let n = 0;
  for (let l = 0; l < L; l++) {
    setEntry(pLayerW, l, <usize>(n));
    n += (inputWidth(l) + H) * 4 * H;
    setEntry(pLayerB, l, <usize>(n));
    n += 4 * H;
  }
  pXiW = n;
  n += H * P;
  pXiB = n;
  n += P;
  pOutW = n;
  n += (H + R * M) * O;
  pOutB = n;
  return n + O;
}

@inline function f(p: usize, i: i32): f64 {
  return <f64>load<f32>(at(p, i));
}
@inline function put(p: usize, i: i32, v: f64): void {
  store<f32>(at(p, i), <f32>v);
}
@inline function plus(p: usize, i: i32, v: f64): void {
  store<f32>(at(p, i), <f32>(<f64>load<f32>(at(p, i)) + v));
}

/** Whether sequence b is scored at step t: its mask (bits), or an answer id ≥ 0 (words). */
@inline function isScored(targets: usize, mask: usize, t: i32, b: i32, words: bool): bool {
  return words ? load<f32>(at(targets, t * B + b)) >= 0 : load<f32>(at(mask, t * B + b)) != 0;
}

/** y clamped to ±clip (0: not clamped). */
@inline function clipped(y: f64, clip: f64): f64 {
  return clip > 0 ? Math.min(Math.max(y, -clip), clip) : y;
}

/** dy of the words' softmax cross-entropy at step t: (softmax − one-hot)·scale, 0 where y was clamped or unscored. */
function wordGradient(output: usize, targets: usize, t: i32, clip: f64, scale: f64): void {
  for (let b = 0; b < B; b++) {
    const target = <i32>load<f32>(at(targets, t * B + b));
    if (target < 0) {
      for (let j = 0; j < O; j++) put(dy, b * O + j, 0);
      continue;
    }
    let largest: f64 = -Infinity;
    for (let j = 0; j < O; j++) largest = Math.max(largest, clipped(f(output, b * O + j), clip));
    let total: f64 = 0;
    for (let j = 0; j < O; j++) total += Math.exp(clipped(f(output, b * O + j), clip) - largest);
    for (let j = 0; j < O; j++) {
      const y = f(output, b * O + j);
      const p = Math.exp(clipped(y, clip) - largest) / total;
      put(dy, b * O + j, clip > 0 && (y < -clip || y > clip) ? 0 : (p - (j == target ? 1 : 0)) * scale);
    }
  }
}

/** softmax(β_b x[b, ·]) of each row of B × N into out. */
function softmaxRows(x: usize, strength: usize, out: usize): void {
  for (let b = 0; b < B; b++) {
    const beta = f(strength, b);
    let largest = -Infinity;
    for (let i = 0; i < N; i++) largest = Math.max(largest, beta * f(x, b * N + i));
    let total: f64 = 0;
    for (let i = 0; i < N; i++) {
      const e = <f64>Mathf.exp(<f32>(beta * f(x, b * N + i) - largest));
      put(out, b * N + i, e);
      total += e;
    }
    for (let i = 0; i < N; i++) put(out, b * N + i, f(out, b * N + i) / total);
  }
}

/** Backward of softmaxRows: dSim = β w ∘ (dw − Σ dw w), dStrength = Σ w ∘ (dw − Σ dw w) ∘ x. */
function softmaxRowsBackward(weights: usize, x: usize, strength: usize, dWeights: usize): void {
  for (let b = 0; b < B; b++) {
    let dot: f64 = 0;
    for (let i = 0; i < N; i++) dot += f(dWeights, b * N + i) * f(weights, b * N + i);
    const beta = f(strength, b);
    let db: f64 = 0;
    for (let i = 0; i < N; i++) {
      const dLogit = f(weights, b * N + i) * (f(dWeights, b * N + i) - dot);
      db += dLogit * f(x, b * N + i);
      put(dSim, b * N + i, dLogit * beta);
    }
    put(dStrength, b, db);
  }
}

/**
 * One batch of sequences forward and backward. `weights` in the layout above; `inputs` [T, B, I], `targets` [T, B, O]
 * and `mask` [T, B], time-major; `out` receives the gradients (the weights' layout) then the loss and the wrong bits.
 * `scale` divides the summed loss (1 / sequences); `clip` bounds the controller's output and y (0: none). Without
 * `gradients`, only the forward pass runs (the loss and the wrong bits; the gradients stay zero). With `words`, y is
 * scored by softmax cross-entropy against `targets` [T, B] (a word id, −1 where not scored; `mask` is not read), the
 * wrong count is of rows whose arg max is not the target, and each row's verdict follows (bAbI).
 */
export function dncSequence(
  weights: usize,
  inputs: usize,
  targets: usize,
  mask: usize,
  out: usize,
  batch: i32,
  steps: i32,
  inputSize: i32,
  outputSize: i32,
  hidden: i32,
  layers: i32,
  slots: i32,
  width: i32,
  reads: i32,
  clip: f32,
  scale: f64,
  gradients: bool,
  words: bool,
  temp: usize,
): void {
  setSizes(batch, steps, inputSize, outputSize, hidden, layers, slots, width, reads);
  ring = !gradients;
  const count = parameterOffsets();
  plan(temp);
  memory.fill(out, 0, (<usize>(count + 2)) * F);
  // Words: each scored row's verdict after the loss and the wrong count (1 right, 0 wrong, −1 not scored).
  if (words) for (let i = 0; i < T * B; i++) store<f32>(at(out, count + 2 + i), -1);
  memory.fill(zeroMemory, 0, (<usize>(B * N * M)) * F);
  memory.fill(zeroLink, 0, (<usize>(B * N * N)) * F);
  memory.fill(zeroSlots, 0, (<usize>(B * N)) * F);
  memory.fill(zeroReadW, 0, (<usize>(B * R * N)) * F);
  memory.fill(zeroReads, 0, (<usize>(R * B * M)) * F);
  memory.fill(zeroState, 0, (<usize>(B * H)) * F);
  const wOut = at(weights, pOutW);
  const wXi = at(weights, pXiW);
  const clip64 = <f64>clip;

  let loss: f64 = 0;
  let wrong: i32 = 0;
  for (let t = 0; t < T; t++) {
    const memoryBefore = before(t, oMemory, zeroMemory);
    const usageBefore = before(t, oUsage, zeroSlots);
    const linkBefore = before(t, oLink, zeroLink);
    const precedenceBefore = before(t, oPrecedence, zeroSlots);
    const readWBefore = before(t, oReadW, zeroReadW); // [B, R, N]
    const writeBefore = before(t, oWriteW, zeroSlots);
    // The controller: layer 0 reads [x_t, r_{t−1}], each layer [input, h_{t−1}].
    for (let l = 0; l < L; l++) {
      const inW = inputWidth(l);
      const joined = stepAt(t, entry(oJoined, l));
      const hPrev = before(t, entry(oH, l), zeroState);
      for (let b = 0; b < B; b++) {
        const row = at(joined, b * (inW + H));
        if (l == 0) {
          memory.copy(row, at(inputs, (t * B + b) * I), (<usize>I) * F);
          const readsBefore = before(t, oReads, zeroReads);
          for (let r = 0; r < R; r++) memory.copy(at(row, I + r * M), at(readsBefore, (r * B + b) * M), (<usize>M) * F);
        } else {
          memory.copy(row, at(stepAt(t, entry(oH, l - 1)), b * H), (<usize>H) * F);
        }
        memory.copy(at(row, inW), at(hPrev, b * H), (<usize>H) * F);
      }
      const z = stepAt(t, entry(oZ, l));
      affine(joined, at(weights, <i32>entry(pLayerW, l)), at(weights, <i32>entry(pLayerB, l)), z, B, inW + H, 4 * H);
      lstmCellForward(z, before(t, entry(oC, l), zeroState), stepAt(t, entry(oH, l)), stepAt(t, entry(oC, l)), stepAt(t, entry(oGates, l)), B, H);
    }
    const top = stepAt(t, entry(oH, L - 1));
    const hiddenNow = stepAt(t, oHidden);
    for (let i = 0; i < B * H; i++) store<f32>(at(hiddenNow, i), clip > 0 ? Mathf.min(Mathf.max(load<f32>(at(top, i)), -clip), clip) : load<f32>(at(top, i)));
    const raw = stepAt(t, oRaw);
    affine(hiddenNow, wXi, at(weights, pXiB), raw, B, H, P);

    // The interface's constraints.
    const readKeys = stepAt(t, oReadKeys);
    const readStrengths = stepAt(t, oReadStrengths);
    const writeKey = stepAt(t, oWriteKey);
    const writeStrength = stepAt(t, oWriteStrength);
    const erase = stepAt(t, oErase);
    const add = stepAt(t, oAdd);
    const free = stepAt(t, oFree);
    const allocationGate = stepAt(t, oAllocationGate);
    const writeGate = stepAt(t, oWriteGate);
    const modes = stepAt(t, oModes);
    for (let b = 0; b < B; b++) {
      const row = b * P;
      for (let r = 0; r < R; r++) {
        memory.copy(at(readKeys, (r * B + b) * M), at(raw, row + xRead + r * M), (<usize>M) * F);
        put(readStrengths, r * B + b, 1 + softplus(f(raw, row + xReadStrength + r)));
        put(free, b * R + r, sigmoid(f(raw, row + xFree + r)));
        let largest = -Infinity;
        for (let k = 0; k < 3; k++) largest = Math.max(largest, f(raw, row + xModes + r * 3 + k));
        let total: f64 = 0;
        for (let k = 0; k < 3; k++) total += Math.exp(f(raw, row + xModes + r * 3 + k) - largest);
        for (let k = 0; k < 3; k++) put(modes, (b * R + r) * 3 + k, Math.exp(f(raw, row + xModes + r * 3 + k) - largest) / total);
      }
      memory.copy(at(writeKey, b * M), at(raw, row + xWriteKey), (<usize>M) * F);
      put(writeStrength, b, 1 + softplus(f(raw, row + xWriteStrength)));
      for (let j = 0; j < M; j++) put(erase, b * M + j, sigmoid(f(raw, row + xErase + j)));
      memory.copy(at(add, b * M), at(raw, row + xAdd), (<usize>M) * F);
      put(allocationGate, b, sigmoid(f(raw, row + xAllocation)));
      put(writeGate, b, sigmoid(f(raw, row + xWrite)));
    }

    // Dynamic allocation: ψ_t, u_t, the free list φ_t (insertion sort, ties by index) and a_t.
    const retention = stepAt(t, oRetention);
    const written = stepAt(t, oWritten);
    const usage = stepAt(t, oUsage);
    const order = stepAt(t, oOrder);
    const sorted = stepAt(t, oSorted);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < N; i++) {
        const k = b * N + i;
        let psi: f64 = 1;
        for (let r = 0; r < R; r++) psi *= 1 - f(free, b * R + r) * f(readWBefore, (b * R + r) * N + i);
        const u = f(usageBefore, k);
        const was = u + (1 - u) * f(writeBefore, k);
        put(retention, k, psi);
        put(written, k, was);
        put(usage, k, was * psi);
        // The lifted usage, inserted into the row's ascending order.
        const value = <f32>(<f64>load<f32>(at(usage, k)) * (1 - ALLOCATION_EPSILON) + ALLOCATION_EPSILON);
        let j = i;
        while (j > 0 && load<f32>(at(sorted, b * N + j - 1)) > value) {
          store<f32>(at(sorted, b * N + j), load<f32>(at(sorted, b * N + j - 1)));
          store<i32>(at(order, b * N + j), load<i32>(at(order, b * N + j - 1)));
          j--;
        }
        store<f32>(at(sorted, b * N + j), value);
        store<i32>(at(order, b * N + j), i);
      }
    }
    const products = stepAt(t, oProducts);
    cumulativeProduct(sorted, products, B, N, true);
    const allocation = stepAt(t, oAllocation);
    for (let k = 0; k < B * N; k++) {
      const b = k / N;
      put(allocation, b * N + load<i32>(at(order, k)), (1 - f(sorted, k)) * f(products, k));
    }

    // The write: w^w_t from allocation and content (against M_{t−1}), then erase and add.
    const writeSim = stepAt(t, oWriteSim);
    const writeContent = stepAt(t, oWriteContent);
    rowCosineKeeping(memoryBefore, writeKey, writeSim, stepAt(t, oWriteNorms), B, N, M, COSINE_EPSILON);
    softmaxRows(writeSim, writeStrength, writeContent);
    const writeW = stepAt(t, oWriteW);
    for (let b = 0; b < B; b++) {
      const ga = f(allocationGate, b);
      const gw = f(writeGate, b);
      for (let i = 0; i < N; i++) put(writeW, b * N + i, gw * (ga * f(allocation, b * N + i) + (1 - ga) * f(writeContent, b * N + i)));
    }
    const memoryNow = stepAt(t, oMemory);
    memoryWrite(memoryBefore, writeW, erase, add, memoryNow, B, N, M);

    // Temporal links: L_t from p_{t−1}, then p_t.
    const linkNow = stepAt(t, oLink);
    temporalLink(linkBefore, precedenceBefore, writeW, linkNow, B, N);
    const precedence = stepAt(t, oPrecedence);
    for (let b = 0; b < B; b++) {
      let total: f64 = 0;
      for (let i = 0; i < N; i++) total += f(writeW, b * N + i);
      for (let i = 0; i < N; i++) put(precedence, b * N + i, (1 - total) * f(precedenceBefore, b * N + i) + f(writeW, b * N + i));
    }

    // Reading: each head's mix of backward, forward and content weightings, then r_t = M_tᵀ w^r_t.
    const linkReads = stepAt(t, oLinkReads);
    linkWeightings(linkNow, readWBefore, linkReads, B, N, R);
    const readW = stepAt(t, oReadW);
    const readsNow = stepAt(t, oReads);
    memory.fill(readsNow, 0, (<usize>(R * B * M)) * F);
    for (let r = 0; r < R; r++) {
      const sim = stepAt(t, oReadSim + (<usize>(r * B * N)) * F);
      const content = stepAt(t, oReadContent + (<usize>(r * B * N)) * F);
      rowCosineKeeping(memoryNow, at(readKeys, r * B * M), sim, stepAt(t, oReadNorms + (<usize>(r * B * N)) * F), B, N, M, COSINE_EPSILON);
      softmaxRows(sim, at(readStrengths, r * B), content);
      for (let b = 0; b < B; b++) {
        const pi = (b * R + r) * 3;
        const backward = f(modes, pi);
        const forward = f(modes, pi + 1);
        const byContent = f(modes, pi + 2);
        const fw = ((b * 2 + 0) * R + r) * N;
        const bw = ((b * 2 + 1) * R + r) * N;
        const w = at(readW, (b * R + r) * N);
        const read = at(readsNow, (r * B + b) * M);
        for (let i = 0; i < N; i++) {
          const wi = byContent * f(content, b * N + i) + backward * f(linkReads, bw + i) + forward * f(linkReads, fw + i);
          put(w, i, wi);
          const ws = load<f32>(at(w, i));
          if (ws == 0) continue;
          const rowM = at(memoryNow, (b * N + i) * M);
          const wv = f32x4.splat(ws);
          let j = 0;
          for (; j + 4 <= M; j += 4) v128.store(at(read, j), multiplyAdd(wv, v128.load(at(rowM, j)), v128.load(at(read, j))));
          for (; j < M; j++) store<f32>(at(read, j), load<f32>(at(read, j)) + ws * load<f32>(at(rowM, j)));
        }
      }
    }

    // y_t on scored steps: [h_t, r_t] → logits, clamped; the loss.
    let scored = false;
    for (let b = 0; b < B; b++) if (isScored(targets, mask, t, b, words)) scored = true;
    if (scored) {
      const outIn = stepAt(t, oOutIn);
      for (let b = 0; b < B; b++) {
        memory.copy(at(outIn, b * (H + R * M)), at(hiddenNow, b * H), (<usize>H) * F);
        for (let r = 0; r < R; r++) memory.copy(at(outIn, b * (H + R * M) + H + r * M), at(readsNow, (r * B + b) * M), (<usize>M) * F);
      }
      const output = stepAt(t, oOutput);
      affine(outIn, wOut, at(weights, pOutB), output, B, H + R * M, O);
      if (words) {
        // Softmax cross-entropy over the words against the answer's id; right when the first arg max is it.
        for (let b = 0; b < B; b++) {
          if (!isScored(targets, mask, t, b, words)) continue;
          const target = <i32>load<f32>(at(targets, t * B + b));
          let largest: f64 = -Infinity;
          let best = 0;
          for (let j = 0; j < O; j++) {
            const x = clipped(f(output, b * O + j), clip64);
            if (x > largest) {
              largest = x;
              best = j;
            }
          }
          let total: f64 = 0;
          for (let j = 0; j < O; j++) total += Math.exp(clipped(f(output, b * O + j), clip64) - largest);
          loss += Math.log(total) + largest - clipped(f(output, b * O + target), clip64);
          const right = best == target;
          if (!right) wrong++;
          store<f32>(at(out, count + 2 + t * B + b), right ? 1 : 0);
        }
        continue;
      }
      for (let b = 0; b < B; b++) {
        const m = f(mask, t * B + b);
        if (m == 0) continue;
        for (let j = 0; j < O; j++) {
          const y = f(output, b * O + j);
          const x = clip > 0 ? Math.min(Math.max(y, -clip64), clip64) : y;
          const target = f(targets, (t * B + b) * O + j);
          loss += m * (Math.max(x, 0) - x * target + Math.log1p(Math.exp(-Math.abs(x))));
          if ((x > 0 ? 1.0 : 0.0) != target) wrong++;
        }
      }
    }
  }

  if (!gradients) {
    store<f32>(at(out, count), <f32>(loss * scale));
    store<f32>(at(out, count + 1), <f32>wrong);
    return;
  }

  // Backward through time; carried: the gradients of the state after step t.
  memory.fill(dMemory, 0, (<usize>(B * N * M)) * F);
  memory.fill(dUsage, 0, (<usize>(B * N)) * F);
  memory.fill(dLink, 0, (<usize>(B * N * N)) * F);
  memory.fill(dPrecedence, 0, (<usize>(B * N)) * F);
  memory.fill(dReadW, 0, (<usize>(B * R * N)) * F);
  memory.fill(dWriteW, 0, (<usize>(B * N)) * F);
  memory.fill(dReads, 0, (<usize>(R * B * M)) * F);
  memory.fill(dH, 0, (<usize>(L * B * H)) * F);
  memory.fill(dC, 0, (<usize>(L * B * H)) * F);
  for (let t = T - 1; t >= 0; t--) {
    const memoryBefore = before(t, oMemory, zeroMemory);
    const usageBefore = before(t, oUsage, zeroSlots);
    const linkBefore = before(t, oLink, zeroLink);
    const precedenceBefore = before(t, oPrecedence, zeroSlots);
    const readWBefore = before(t, oReadW, zeroReadW);
    const writeBefore = before(t, oWriteW, zeroSlots);
    const raw = stepAt(t, oRaw);
    const modes = stepAt(t, oModes);
    const free = stepAt(t, oFree);
    const memoryNow = stepAt(t, oMemory);
    const linkReads = stepAt(t, oLinkReads);
    const readW = stepAt(t, oReadW);
    const writeW = stepAt(t, oWriteW);
    memory.fill(dHidden, 0, (<usize>(B * H)) * F);
    const row = (T - 1 - t) * B; // this step's first row in the deferred products
    dRaw = deferred() ? at(dRawRows, row * P) : dRawStep;
    memory.fill(dRaw, 0, (<usize>(B * P)) * F);
    // The output layer (the clamp passes the gradient where −clip ≤ y ≤ clip).
    let scored = false;
    for (let b = 0; b < B; b++) if (isScored(targets, mask, t, b, words)) scored = true;
    if (scored) {
      const output = stepAt(t, oOutput);
      if (words) wordGradient(output, targets, t, clip64, scale);
      else for (let b = 0; b < B; b++) {
        const m = f(mask, t * B + b);
        for (let j = 0; j < O; j++) {
          const y = f(output, b * O + j);
          let g: f64 = 0;
          if (m != 0 && !(clip > 0 && (y < -clip64 || y > clip64))) {
            const x = clip > 0 ? Math.min(Math.max(y, -clip64), clip64) : y;
            g = m * (sigmoid(x) - f(targets, (t * B + b) * O + j)) * scale;
          }
          put(dy, b * O + j, g);
        }
      }
      affineBackWeights(stepAt(t, oOutIn), dy, at(out, pOutW), at(out, pOutB), B, H + R * M, O);
      affineBackInput(dy, wOut, dOutIn, B, H + R * M, O);
      for (let b = 0; b < B; b++) {
        addFloats(at(dHidden, b * H), at(dOutIn, b * (H + R * M)), H);
        for (let r = 0; r < R; r++) addFloats(at(dReads, (r * B + b) * M), at(dOutIn, b * (H + R * M) + H + r * M), M);
      }
    }
    // r_t = M_tᵀ w^r_t, then the mix w^r_t = π_b b + π_f f + π_c c, then c^r = softmax(β^r cos(M_t, k^r)).
    for (let r = 0; r < R; r++) {
      const content = stepAt(t, oReadContent + (<usize>(r * B * N)) * F);
      for (let b = 0; b < B; b++) {
        const w = at(readW, (b * R + r) * N);
        const dw = at(dReadW, (b * R + r) * N);
        const d = at(dReads, (r * B + b) * M);
        for (let i = 0; i < N; i++) {
          const base = (b * N + i) * M;
          const wi = load<f32>(at(w, i));
          let sum: f32 = 0;
          for (let j = 0; j < M; j++) {
            const dj = load<f32>(at(d, j));
            sum += dj * load<f32>(at(memoryNow, base + j));
            store<f32>(at(dMemory, base + j), load<f32>(at(dMemory, base + j)) + wi * dj);
          }
          store<f32>(at(dw, i), load<f32>(at(dw, i)) + sum);
        }
        const pi = (b * R + r) * 3;
        const fw = ((b * 2 + 0) * R + r) * N;
        const bw = ((b * 2 + 1) * R + r) * N;
        let dBackward: f64 = 0, dForward: f64 = 0, dByContent: f64 = 0;
        for (let i = 0; i < N; i++) {
          const g = f(dw, i);
          dBackward += g * f(linkReads, bw + i);
          dForward += g * f(linkReads, fw + i);
          dByContent += g * f(content, b * N + i);
          put(dLinkReads, bw + i, g * f(modes, pi));
          put(dLinkReads, fw + i, g * f(modes, pi + 1));
          put(dContent, b * N + i, g * f(modes, pi + 2));
        }
        const dot = dBackward * f(modes, pi) + dForward * f(modes, pi + 1) + dByContent * f(modes, pi + 2);
        put(dRaw, b * P + xModes + r * 3, f(modes, pi) * (dBackward - dot));
        put(dRaw, b * P + xModes + r * 3 + 1, f(modes, pi + 1) * (dForward - dot));
        put(dRaw, b * P + xModes + r * 3 + 2, f(modes, pi + 2) * (dByContent - dot));
      }
      const readKey = at(stepAt(t, oReadKeys), r * B * M);
      const readSim = stepAt(t, oReadSim + (<usize>(r * B * N)) * F);
      softmaxRowsBackward(content, readSim, at(stepAt(t, oReadStrengths), r * B), dContent);
      rowCosineBackwardKept(memoryNow, readKey, dSim, readSim, stepAt(t, oReadNorms + (<usize>(r * B * N)) * F), dMemory, cosineBack, B, N, M, COSINE_EPSILON);
      for (let b = 0; b < B; b++) {
        memory.copy(at(dRaw, b * P + xRead + r * M), at(cosineBack, b * M), (<usize>M) * F);
        put(dRaw, b * P + xReadStrength + r, f(dStrength, b) * sigmoid(f(raw, b * P + xReadStrength + r)));
      }
    }
    // f and b from L_t and w^r_{t−1}: into dL_t and the previous read weightings' gradients.
    linkWeightingsBackward(stepAt(t, oLink), readWBefore, dLinkReads, linkBack, B, N, R);
    addFloats(dLink, linkBack, B * N * N);
    memory.copy(dReadWNext, at(linkBack, B * N * N), (<usize>(B * R * N)) * F);
    // p_t = (1 − Σ w^w) p_{t−1} + w^w.
    for (let b = 0; b < B; b++) {
      let total: f64 = 0, dTotal: f64 = 0;
      for (let i = 0; i < N; i++) {
        total += f(writeW, b * N + i);
        dTotal += f(dPrecedence, b * N + i) * f(precedenceBefore, b * N + i);
      }
      for (let i = 0; i < N; i++) {
        put(dPrecedenceNext, b * N + i, (1 - total) * f(dPrecedence, b * N + i));
        plus(dWriteW, b * N + i, f(dPrecedence, b * N + i) - dTotal);
      }
    }
    // L_t from L_{t−1}, p_{t−1} and w^w_t (dLink becomes dL_{t−1}).
    temporalLinkBackward(linkBefore, precedenceBefore, writeW, dLink, dLink, B, N, linkTemp);
    addFloats(dPrecedenceNext, at(dLink, B * N * N), B * N);
    addFloats(dWriteW, at(dLink, B * N * N + B * N), B * N);
    // M_t = M_{t−1} ∘ (1 − w eᵀ) + w vᵀ (dMemory becomes dM_{t−1}).
    const erase = stepAt(t, oErase);
    memoryWriteBackward(memoryBefore, writeW, erase, stepAt(t, oAdd), dMemory, dMemory, B, N, M);
    addFloats(dWriteW, at(dMemory, B * N * M), B * N);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < M; j++) {
        const e = f(erase, b * M + j);
        put(dRaw, b * P + xErase + j, f(dMemory, B * N * M + B * N + b * M + j) * e * (1 - e));
        put(dRaw, b * P + xAdd + j, f(dMemory, B * N * M + B * N + B * M + b * M + j));
      }
    }
    // w^w_t = g^w (g^a a + (1 − g^a) c^w).
    const allocation = stepAt(t, oAllocation);
    const writeContent = stepAt(t, oWriteContent);
    const allocationGate = stepAt(t, oAllocationGate);
    const writeGate = stepAt(t, oWriteGate);
    for (let b = 0; b < B; b++) {
      const ga = f(allocationGate, b);
      const gw = f(writeGate, b);
      let dgw: f64 = 0, dga: f64 = 0;
      for (let i = 0; i < N; i++) {
        const a = f(allocation, b * N + i);
        const c = f(writeContent, b * N + i);
        const d = f(dWriteW, b * N + i);
        dgw += d * (ga * a + (1 - ga) * c);
        dga += gw * d * (a - c);
        put(dAllocation, b * N + i, gw * d * ga);
        put(dWriteContent, b * N + i, gw * d * (1 - ga));
      }
      put(dRaw, b * P + xWrite, dgw * gw * (1 - gw));
      put(dRaw, b * P + xAllocation, dga * ga * (1 - ga));
    }
    // c^w = softmax(β^w cos(M_{t−1}, k^w)).
    const writeKey = stepAt(t, oWriteKey);
    softmaxRowsBackward(writeContent, stepAt(t, oWriteSim), stepAt(t, oWriteStrength), dWriteContent);
    rowCosineBackwardKept(memoryBefore, writeKey, dSim, stepAt(t, oWriteSim), stepAt(t, oWriteNorms), dMemory, cosineBack, B, N, M, COSINE_EPSILON);
    for (let b = 0; b < B; b++) {
      memory.copy(at(dRaw, b * P + xWriteKey), at(cosineBack, b * M), (<usize>M) * F);
      put(dRaw, b * P + xWriteStrength, f(dStrength, b) * sigmoid(f(raw, b * P + xWriteStrength)));
    }
    // a_t[φ_j] = (1 − s_j) Π_{i<j} s_i over the sorted lifted usage s (the order a constant), into du_t.
    const order = stepAt(t, oOrder);
    const sorted = stepAt(t, oSorted);
    const products = stepAt(t, oProducts);
    for (let k = 0; k < B * N; k++) {
      const b = k / N;
      const g = f(dAllocation, b * N + load<i32>(at(order, k)));
      put(dSortedAllocation, k, g);
      put(dProducts, k, g * (1 - f(sorted, k)));
    }
    cumulativeProductBackward(sorted, dProducts, dSortedProducts, B, N, true);
    for (let k = 0; k < B * N; k++) {
      const b = k / N;
      const ds = -f(dSortedAllocation, k) * f(products, k) + f(dSortedProducts, k);
      plus(dUsage, b * N + load<i32>(at(order, k)), ds * (1 - ALLOCATION_EPSILON));
    }
    // u_t = (u_{t−1} + (1 − u_{t−1}) w^w_{t−1}) ∘ ψ_t, ψ_t = Π_r (1 − f_r w^r_{t−1}).
    const retention = stepAt(t, oRetention);
    const written = stepAt(t, oWritten);
    for (let b = 0; b < B; b++) {
      for (let r = 0; r < R; r++) {
        let dFree: f64 = 0;
        const fr = f(free, b * R + r);
        for (let i = 0; i < N; i++) {
          const k = b * N + i;
          const dPsi = f(dUsage, k) * f(written, k);
          let others: f64 = 1;
          for (let q = 0; q < R; q++) if (q != r) others *= 1 - f(free, b * R + q) * f(readWBefore, (b * R + q) * N + i);
          const dKept = dPsi * others;
          dFree -= dKept * f(readWBefore, (b * R + r) * N + i);
          plus(dReadWNext, (b * R + r) * N + i, -dKept * fr);
        }
        put(dRaw, b * P + xFree + r, dFree * fr * (1 - fr));
      }
      for (let i = 0; i < N; i++) {
        const k = b * N + i;
        const dWritten = f(dUsage, k) * f(retention, k);
        put(dUsageNext, k, dWritten * (1 - f(writeBefore, k)));
        put(dWriteWNext, k, dWritten * (1 - f(usageBefore, k)));
      }
    }
    // ξ_t = hidden W + b; the clamp on the controller's output; the LSTM, top layer first.
    const hiddenNow = stepAt(t, oHidden);
    if (deferred()) memory.copy(at(hiddenRows, row * H), hiddenNow, (<usize>(B * H)) * F);
    else affineBackWeights(hiddenNow, dRaw, at(out, pXiW), at(out, pXiB), B, H, P);
    affineBackInput(dRaw, wXi, dOutIn, B, H, P);
    addFloats(dHidden, dOutIn, B * H);
    const top = stepAt(t, entry(oH, L - 1));
    const dTop = at(dH, (L - 1) * B * H);
    for (let i = 0; i < B * H; i++) {
      const v = load<f32>(at(top, i));
      if (clip > 0 && (v < -clip || v > clip)) continue;
      store<f32>(at(dTop, i), load<f32>(at(dTop, i)) + load<f32>(at(dHidden, i)));
    }
    for (let l = L - 1; l >= 0; l--) {
      const inW = inputWidth(l);
      const dz = deferred() ? at(entry(dzRows, l), row * 4 * H) : cellBack;
      lstmCellBackward(stepAt(t, entry(oGates, l)), before(t, entry(oC, l), zeroState), at(dH, l * B * H), at(dC, l * B * H), dz, at(dCNext, l * B * H), B, H);
      const joined = stepAt(t, entry(oJoined, l));
      if (deferred()) memory.copy(at(entry(xRows, l), row * (inW + H)), joined, (<usize>(B * (inW + H))) * F);
      else affineBackWeights(joined, dz, at(out, <i32>entry(pLayerW, l)), at(out, <i32>entry(pLayerB, l)), B, inW + H, 4 * H);
      affineBackInput(dz, at(weights, <i32>entry(pLayerW, l)), dJoined, B, inW + H, 4 * H);
      for (let b = 0; b < B; b++) {
        memory.copy(at(dHNext, l * B * H + b * H), at(dJoined, b * (inW + H) + inW), (<usize>H) * F);
        if (l > 0) addFloats(at(dH, (l - 1) * B * H + b * H), at(dJoined, b * (inW + H)), H);
        else for (let r = 0; r < R; r++) memory.copy(at(dReadsNext, (r * B + b) * M), at(dJoined, b * (inW + H) + I + r * M), (<usize>M) * F);
      }
    }
    // Swap the carried gradients to the state after step t − 1 (dMemory and dLink already are).
    memory.copy(dH, dHNext, (<usize>(L * B * H)) * F);
    memory.copy(dC, dCNext, (<usize>(L * B * H)) * F);
    memory.copy(dUsage, dUsageNext, (<usize>(B * N)) * F);
    memory.copy(dPrecedence, dPrecedenceNext, (<usize>(B * N)) * F);
    memory.copy(dReadW, dReadWNext, (<usize>(B * R * N)) * F);
    memory.copy(dWriteW, dWriteWNext, (<usize>(B * N)) * F);
    memory.copy(dReads, dReadsNext, (<usize>(R * B * M)) * F);
  }
  if (deferred()) {
    for (let l = 0; l < L; l++)
      affineBackWeights(entry(xRows, l), entry(dzRows, l), at(out, <i32>entry(pLayerW, l)), at(out, <i32>entry(pLayerB, l)), T * B, inputWidth(l) + H, 4 * H);
    affineBackWeights(hiddenRows, dRawRows, at(out, pXiW), at(out, pXiB), T * B, H, P);
  }
  store<f32>(at(out, count), <f32>(loss * scale));
  store<f32>(at(out, count + 1), <f32>wrong);
}
