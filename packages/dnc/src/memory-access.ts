/**
 * The DNC's memory access (Graves et al. 2016, Methods, "Memory addressing"), one small pure function
 * per equation. Weightings are `[batch, N]`, link matrices `[batch, N, N]`; gates are `[batch, 1]`.
 * Names follow the paper's words; the symbol and equation are beside each.
 */
import type { InterfaceParameter } from '@engram/addressing';
import {
  type Tensor,
  add,
  concat,
  cumulativeProduct,
  expandDims,
  eye,
  gather,
  linkWeightings,
  matmul,
  mul,
  reshape,
  sigmoid,
  slice,
  softmax,
  softplus,
  squeeze,
  sub,
  sum,
  temporalLink,
} from '@engram/tensor';

/** ε added to the usage before sorting, as deepmind/dnc does: keeps every allocation weight finite and the order stable. */
export const ALLOCATION_EPSILON = 1e-6;

/**
 * oneplus(x) = 1 + log(1 + eˣ) ∈ [1, ∞): the paper's constraint on the key strengths β.
 * @param x - the raw strengths
 */
export function oneplus(x: Tensor): Tensor {
  return add(softplus(x), 1);
}

/** The names of the interface vector's parts (Methods, "Interface parameters"). */
export type DncInterfaceName =
  | 'readKeys'
  | 'readStrengths'
  | 'writeKeys'
  | 'writeStrengths'
  | 'eraseVectors'
  | 'writeVectors'
  | 'freeGates'
  | 'allocationGates'
  | 'writeGates'
  | 'readModes';

/** The sizes the interface table depends on. */
export interface DncInterfaceSizes {
  /** W, the memory word width. */
  memoryWidth: number;
  /** R, read heads. */
  readHeads: number;
  /** Write heads. */
  writeHeads: number;
}

/**
 * The interface vector ξ_t split into its parts, with each part's constraint: read keys k^{r,i}
 * (R·W), read strengths β^{r,i} = oneplus (R), write keys k^w (H·W), write strengths β^w = oneplus
 * (H), erase vectors e = σ (H·W), write vectors v (H·W), free gates f^i = σ (R), allocation gates
 * g^a = σ (H), write gates g^w = σ (H), read modes π^i = softmax over 1 + 2H modes per read head
 * (backward per write head, forward per write head, content).
 * @param sizes - memory width and head counts
 */
export function dncInterfaceTable(sizes: DncInterfaceSizes): InterfaceParameter<DncInterfaceName>[] {
  const { memoryWidth: w, readHeads: r, writeHeads: h } = sizes;
  const modes = 1 + 2 * h;
  const identity = (x: Tensor): Tensor => x;
  return [
    { name: 'readKeys', length: r * w, activation: identity },
    { name: 'readStrengths', length: r, activation: oneplus },
    { name: 'writeKeys', length: h * w, activation: identity },
    { name: 'writeStrengths', length: h, activation: oneplus },
    { name: 'eraseVectors', length: h * w, activation: sigmoid },
    { name: 'writeVectors', length: h * w, activation: identity },
    { name: 'freeGates', length: r, activation: sigmoid },
    { name: 'allocationGates', length: h, activation: sigmoid },
    { name: 'writeGates', length: h, activation: sigmoid },
    {
      name: 'readModes',
      length: r * modes,
      activation: (x) => reshape(softmax(reshape(x, [x.shape[0] as number, r, modes]), -1), [x.shape[0] as number, r * modes]),
    },
  ];
}

/**
 * Columns [index·width, (index + 1)·width) of x `[batch, count·width]`: head `index`'s part.
 * @param x - a constrained interface part holding every head's values side by side
 * @param index - the head
 * @param width - values per head
 */
export function headPart(x: Tensor, index: number, width: number): Tensor {
  return slice(x, [0, index * width], [x.shape[0] as number, width]);
}

/**
 * The retention vector ψ_t = Π_i (1 − f^i_t w^{r,i}_{t−1}): how much of each location the read heads
 * leave allocated after their free gates.
 * @param freeGates - f_t, `[batch, R]`
 * @param previousReadWeightings - w^{r,i}_{t−1}, one `[batch, N]` per read head
 */
export function retentionVector(freeGates: Tensor, previousReadWeightings: readonly Tensor[]): Tensor {
  let retention: Tensor | null = null;
  previousReadWeightings.forEach((w, i) => {
    const kept = sub(1, mul(headPart(freeGates, i, 1), w));
    retention = retention === null ? kept : mul(retention, kept);
  });
  return retention as unknown as Tensor;
}

/**
 * The usage vector u_t = (u_{t−1} + (1 − u_{t−1}) ∘ (1 − Π_h (1 − w^{w,h}_{t−1}))) ∘ ψ_t; with one
 * write head the paper's u_t = (u_{t−1} + w^w_{t−1} − u_{t−1} ∘ w^w_{t−1}) ∘ ψ_t.
 * @param previousUsage - u_{t−1}, `[batch, N]`
 * @param previousWriteWeightings - w^w_{t−1}, one `[batch, N]` per write head
 * @param retention - ψ_t, from {@link retentionVector}
 */
export function usageVector(previousUsage: Tensor, previousWriteWeightings: readonly Tensor[], retention: Tensor): Tensor {
  let untouched: Tensor | null = null;
  for (const w of previousWriteWeightings) {
    const left = sub(1, w);
    untouched = untouched === null ? left : mul(untouched, left);
  }
  const written = untouched === null ? previousUsage : add(previousUsage, mul(sub(1, previousUsage), sub(1, untouched)));
  return mul(written, retention);
}

/**
 * The free list φ_t: each row's locations in ascending order of usage (ties: the lower index first).
 * The order is a constant of the backward pass, as in the paper and deepmind/dnc.
 * @param usage - u_t, `[batch, N]`
 */
export function freeList(usage: Tensor): Int32Array {
  const [batch, slots] = usage.shape as [number, number];
  const values = usage.toArray();
  const order = new Int32Array(batch * slots);
  const row = Array.from({ length: slots }, (_, i) => i);
  for (let b = 0; b < batch; b++) {
    const sorted = [...row].sort((i, j) => (values[b * slots + i] as number) - (values[b * slots + j] as number) || i - j);
    order.set(sorted, b * slots);
  }
  return order;
}

/**
 * The allocation weighting a_t[φ_t[j]] = (1 − u_t[φ_t[j]]) Π_{i<j} u_t[φ_t[i]]: the least used
 * location gets most of the weight. Gradients flow through the sorted usages (an exclusive
 * cumulative product), not through the order.
 * @param usage - u_t, `[batch, N]`
 */
export function allocationWeighting(usage: Tensor): Tensor {
  const [batch, slots] = usage.shape as [number, number];
  const lifted = add(mul(usage, 1 - ALLOCATION_EPSILON), ALLOCATION_EPSILON);
  const order = freeList(lifted);
  const toSorted = new Int32Array(batch * slots);
  const fromSorted = new Int32Array(batch * slots);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < slots; j++) {
      const location = order[b * slots + j] as number;
      toSorted[b * slots + j] = b * slots + location;
      fromSorted[b * slots + location] = b * slots + j;
    }
  }
  const sorted = reshape(gather(reshape(lifted, [batch * slots]), toSorted), [batch, slots]);
  const sortedAllocation = mul(sub(1, sorted), cumulativeProduct(sorted, true));
  return reshape(gather(reshape(sortedAllocation, [batch * slots]), fromSorted), [batch, slots]);
}

/**
 * One allocation weighting per write head, each from the usage as the heads before it would leave it
 * (deepmind/dnc's multi-head allocation): a^h = allocation(u), then u ← u + (1 − u) ∘ g^h a^h with
 * g^h = g^{a,h} g^{w,h}. With one write head, the paper's a_t.
 * @param usage - u_t, `[batch, N]`
 * @param gates - g^{a,h} g^{w,h}, one `[batch, 1]` per write head
 */
export function writeAllocationWeightings(usage: Tensor, gates: readonly Tensor[]): Tensor[] {
  let current = usage;
  return gates.map((gate, h) => {
    const allocation = allocationWeighting(current);
    // The usage as the next head sees it (none after the last).
    if (h + 1 < gates.length) current = add(current, mul(sub(1, current), mul(gate, allocation)));
    return allocation;
  });
}

/**
 * The write weighting w^w_t = g^w_t (g^a_t a_t + (1 − g^a_t) c^w_t): allocation or content, gated.
 * @param allocation - a_t, `[batch, N]`
 * @param content - c^w_t, the write key's content weighting, `[batch, N]`
 * @param allocationGate - g^a_t, `[batch, 1]`
 * @param writeGate - g^w_t, `[batch, 1]`
 */
export function writeWeighting(allocation: Tensor, content: Tensor, allocationGate: Tensor, writeGate: Tensor): Tensor {
  return mul(writeGate, add(mul(allocationGate, allocation), mul(sub(1, allocationGate), content)));
}

/**
 * The temporal link matrix L_t[i, j] = (1 − w^w_t[i] − w^w_t[j]) L_{t−1}[i, j] + w^w_t[i] p_{t−1}[j],
 * with L_t[i, i] = 0: how much location i was written right after location j. By default one fused kernel
 * (@engram/tensor's `temporalLink`); `fused: false` composes it from broadcast ops (the reference in the tests).
 * @param previousLink - L_{t−1}, `[batch, N, N]`
 * @param previousPrecedence - p_{t−1}, `[batch, N]`
 * @param write - w^w_t, `[batch, N]`
 * @param options - `fused` (default true)
 */
export function linkMatrix(previousLink: Tensor, previousPrecedence: Tensor, write: Tensor, options: { fused?: boolean } = {}): Tensor {
  if (options.fused ?? true) return temporalLink(previousLink, previousPrecedence, write);
  const slots = write.shape[1] as number;
  const wi = expandDims(write, 2);
  const wj = expandDims(write, 1);
  const kept = mul(sub(sub(1, wi), wj), previousLink);
  const added = mul(wi, expandDims(previousPrecedence, 1));
  return mul(add(kept, added), sub(1, eye(slots, { backend: write.backend })));
}

/**
 * The precedence weighting p_t = (1 − Σ_i w^w_t[i]) p_{t−1} + w^w_t: how much each location was the
 * last one written.
 * @param previousPrecedence - p_{t−1}, `[batch, N]`
 * @param write - w^w_t, `[batch, N]`
 */
export function precedenceWeighting(previousPrecedence: Tensor, write: Tensor): Tensor {
  return add(mul(sub(1, sum(write, -1, true)), previousPrecedence), write);
}

/**
 * The forward weighting f_t = L_t w^r_{t−1}: from where a read head was, the locations written next.
 * @param link - L_t, `[batch, N, N]`
 * @param previousRead - w^r_{t−1}, `[batch, N]`
 */
export function forwardWeighting(link: Tensor, previousRead: Tensor): Tensor {
  return squeeze(matmul(link, expandDims(previousRead, 2)), 2);
}

/**
 * The backward weighting b_t = L_tᵀ w^r_{t−1}: the locations written just before.
 * @param link - L_t, `[batch, N, N]`
 * @param previousRead - w^r_{t−1}, `[batch, N]`
 */
export function backwardWeighting(link: Tensor, previousRead: Tensor): Tensor {
  return squeeze(matmul(expandDims(previousRead, 1), link), 1);
}

/** Every read head's forward and backward weightings over one link matrix. */
export interface LinkReadWeightings {
  /** f^r_t = L_t w^r_{t−1}, one `[batch, N]` per read head. */
  forward: Tensor[];
  /** b^r_t = L_tᵀ w^r_{t−1}, one `[batch, N]` per read head. */
  backward: Tensor[];
}

/**
 * {@link forwardWeighting} and {@link backwardWeighting} for every read head at once, through the fused
 * `linkWeightings` op: L_t is read once for all of them, and its gradient is formed in one pass instead of as 2R
 * outer products summed one by one (the same numbers up to the order of the sums).
 * @param link - L_t, `[batch, N, N]`
 * @param previousReads - w^r_{t−1} of each read head, `[batch, N]` each
 */
export function linkReadWeightings(link: Tensor, previousReads: readonly Tensor[]): LinkReadWeightings {
  const heads = previousReads.length;
  const [batch, slots] = (previousReads[0] as Tensor).shape as [number, number];
  const both = linkWeightings(
    link,
    concat(
      previousReads.map((w) => expandDims(w, 1)),
      1,
    ),
  );
  const part = (direction: number, r: number): Tensor => reshape(slice(both, [0, direction, r, 0], [batch, 1, 1, slots]), [batch, slots]);
  return { forward: Array.from({ length: heads }, (_, r) => part(0, r)), backward: Array.from({ length: heads }, (_, r) => part(1, r)) };
}

/**
 * The read weighting w^r_t = Σ_h π[h] b^h_t + Σ_h π[H + h] f^h_t + π[2H] c^r_t: the read mode π
 * mixes backward (per write head), forward (per write head) and content lookup.
 * @param modes - π_t, `[batch, 1 + 2H]`
 * @param backward - b^h_t, one `[batch, N]` per write head
 * @param content - c^r_t, `[batch, N]`
 * @param forward - f^h_t, one `[batch, N]` per write head
 */
export function readWeighting(modes: Tensor, backward: readonly Tensor[], content: Tensor, forward: readonly Tensor[]): Tensor {
  const heads = backward.length;
  let result = mul(headPart(modes, 2 * heads, 1), content);
  for (let h = 0; h < heads; h++) {
    result = add(result, mul(headPart(modes, h, 1), backward[h] as Tensor));
    result = add(result, mul(headPart(modes, heads + h, 1), forward[h] as Tensor));
  }
  return result;
}
