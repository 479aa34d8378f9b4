import type { Shape } from './shape.js';

/**
 * Every kernel a backend implements: the primitive kernels and the fused ones. `S` is the backend's
 * storage type (a `Float32Array` on the CPU, a texture handle on the GPU). A backend is one object
 * literal `satisfies Kernels<S>`, so a missing kernel is a compile error, and the conformance suite
 * checks each one against the TypeScript reference on every backend.
 */
export interface Kernels<S> extends PrimitiveKernels<S>, FusedKernels<S> {}

/**
 * The primitive kernels. Composed ops (losses, cosine similarity, circular convolution...) are built
 * from the primitives in `ops.ts`, and each primitive's gradient is one row of `primitives.ts`'s table,
 * written in these same primitives — never per backend.
 */
export interface PrimitiveKernels<S> {
  // Elementwise unary: out[i] = f(x[i]).
  /** −x */
  neg: UnaryKernel<S>;
  /** eˣ */
  exp: UnaryKernel<S>;
  /** natural logarithm */
  log: UnaryKernel<S>;
  /** √x */
  sqrt: UnaryKernel<S>;
  /** |x| */
  abs: UnaryKernel<S>;
  /** sign(x) ∈ {−1, 0, 1} */
  sign: UnaryKernel<S>;
  /** tanh x */
  tanh: UnaryKernel<S>;
  /** 1 / (1 + e⁻ˣ), computed without overflow */
  sigmoid: UnaryKernel<S>;
  /** max(x, 0) */
  relu: UnaryKernel<S>;
  /** 1 where x > 0, else 0 */
  step: UnaryKernel<S>;
  /** softplus(x) = ln(1 + eˣ), computed as max(x, 0) + ln(1 + e^−|x|) */
  softplus: UnaryKernel<S>;

  // Elementwise binary with NumPy broadcasting.
  /** a + b */
  add: BinaryKernel<S>;
  /** a − b */
  sub: BinaryKernel<S>;
  /** a · b */
  mul: BinaryKernel<S>;
  /** a / b */
  div: BinaryKernel<S>;
  /** aᵇ */
  pow: BinaryKernel<S>;
  /** max(a, b) */
  maximum: BinaryKernel<S>;
  /** min(a, b) */
  minimum: BinaryKernel<S>;
  /** 1 where a > b, else 0 */
  greater: BinaryKernel<S>;
  /** 1 where a = b, else 0 */
  equal: BinaryKernel<S>;

  // Reductions over the middle axis of x viewed as [outer, n, inner]; result [outer, inner].
  /** Σ over the axis */
  sum: ReduceKernel<S>;
  /** max over the axis */
  max: ReduceKernel<S>;
  /** softmax over the last axis of x viewed as [rows, cols], shifted by each row's maximum */
  softmax: (x: S, rows: number, cols: number) => S;

  /** Batched matrix product; see {@link MatmulArgs}. */
  matmul: (a: S, b: S, args: MatmulArgs) => S;
  /** Reorders axes: out dimension i is input dimension perm[i]. */
  permute: (x: S, shape: Shape, perm: readonly number[]) => S;
  /** Copies the box starting at `begin` with extent `outShape`. */
  slice: (x: S, shape: Shape, begin: readonly number[], outShape: Shape) => S;
  /** Places x at `begin` inside zeros of `outShape` (the adjoint of slice). */
  pad: (x: S, shape: Shape, begin: readonly number[], outShape: Shape) => S;
  /** Repeats x along its size-1 (or missing leading) dimensions to `outShape`. */
  broadcastTo: (x: S, shape: Shape, outShape: Shape) => S;
  /** Joins tensors along `axis`. */
  concat: (xs: readonly S[], shapes: readonly Shape[], axis: number, outShape: Shape) => S;
  /** out[i] = cond[i] ≠ 0 ? a[i] : b[i]; all three have `size` elements. */
  where: (cond: S, a: S, b: S, size: number) => S;
  /** Row lookup: out[i, :] = table[indices[i], :]; table is [rows, cols]. */
  gather: (table: S, rows: number, cols: number, indices: Int32Array) => S;
  /** Adjoint of gather: out[rows, cols] = 0, then out[indices[i], :] += src[i, :]. */
  scatterAdd: (src: S, indices: Int32Array, rows: number, cols: number) => S;
}

/**
 * The fused kernels: each pair (a forward kernel and its hand-written backward) is registered as one
 * op in `fused.ts`. They exist for speed — one pass instead of the dozen primitives they replace —
 * and are checked against their composed form. Multi-output results are laid out as
 * {@link OUTPUT_LAYOUTS} says.
 */
export interface FusedKernels<S> {
  /**
   * Cross-entropy of each row of logits x `[rows, cols]` with an integer label: out[r] =
   * log Σ_j e^{x_rj} − x_r,labels[r] (shifted by the row's maximum, so it never overflows).
   */
  softmaxCrossEntropy: (x: S, labels: Int32Array, rows: number, cols: number) => S;
  /** Its backward: out[r, j] = (softmax(x_r)_j − [j = labels[r]])·grad[r]. */
  softmaxCrossEntropyBackward: (x: S, labels: Int32Array, grad: S, rows: number, cols: number) => S;
  /**
   * Weighted bags of rows (a memory network's sentence encoding): table `[rows, width]`, weights
   * `[weightRows, width]`, and for item i = n·words + l a table row indices[i] and a weight row
   * weightIndices[i] → out[n, k] = Σ_l weights[weightIndices[i], k]·table[indices[i], k].
   */
  embeddingBag: (table: S, indices: Int32Array, weights: S, weightIndices: Int32Array, bags: number, words: number, width: number) => S;
  /**
   * Its adjoint for the table: out `[rows, width]` = 0, then out[indices[i], k] += weights[weightIndices[i], k]·grad[n, k]
   * (n = ⌊i / words⌋). With the roles of the two index arrays swapped it is the adjoint for the weights.
   */
  embeddingBagBackward: (grad: S, indices: Int32Array, weights: S, weightIndices: Int32Array, rows: number, bags: number, words: number, width: number) => S;

  /**
   * Memory-network attention and read, fused (Sukhbaatar et al. 2015, eq. 1–2): m, c `[batch,
   * slots, width]`, u `[batch, width]`, mask `[batch, slots]` (1 real, 0 empty) → a flat array holding
   * o (`[batch, width]`) then p (`[batch, slots]`): s_i = uᵀm_i; p = softmax over the real slots (0 on
   * empty ones), or with `normalize` false (linear start) p_i = s_i·mask_i; o = Σ_i p_i c_i.
   */
  attentionRead: (m: S, c: S, u: S, mask: S, batch: number, slots: number, width: number, normalize: boolean) => S;
  /**
   * Backward of {@link Kernels.attentionRead} from its inputs, its output and the output's
   * gradient: a flat array holding dm (batch·slots·width), dc (batch·slots·width), du (batch·width).
   */
  attentionReadBackward: (m: S, c: S, u: S, mask: S, out: S, grad: S, batch: number, slots: number, width: number, normalize: boolean) => S;
  /**
   * K hops of memory-network attention over one memory, fused (layer-wise tying, Sukhbaatar et al.
   * 2015 §2.2 and §5): m, c `[batch, slots, width]`, u¹ `[batch, width]`, mask `[batch, slots]`, H
   * `[width, width]`. For k = 1…K: (o^k, p^k) = attentionRead(m, c, u^k), z = u^k H + o^k, and
   * u^{k+1}_j = z_j for j < `linearUnits`, max(z_j, 0) otherwise. Returns a flat array laid out as
   * {@link OUTPUT_LAYOUTS}.memoryHops says: u¹…u^{K+1}, then p¹…p^K, then o¹…o^K. The memory is read
   * in once for all hops instead of once per hop.
   */
  memoryHops: (m: S, c: S, u: S, mask: S, hop: S, batch: number, slots: number, width: number, hops: number, linearUnits: number, normalize: boolean) => S;
  /**
   * Backward of {@link Kernels.memoryHops} from its inputs, its output and the output's gradient
   * (the same layout): a flat array holding dm, dc (batch·slots·width each, summed over the hops
   * in place), du¹ (batch·width) and dH (width·width).
   */
  memoryHopsBackward: (
    m: S,
    c: S,
    u: S,
    mask: S,
    hop: S,
    out: S,
    grad: S,
    batch: number,
    slots: number,
    width: number,
    hops: number,
    linearUnits: number,
    normalize: boolean,
  ) => S;

  /**
   * {@link Kernels.memoryHops} over memories given as bags of table rows, as {@link Kernels.embeddingBag}
   * builds them (`words` items per slot; item i = (b·slots + s)·words + l), from tables of `rows` rows.
   * Layer-wise tying (`adjacent` false): m = embeddingBag(input, …), c = embeddingBag(output, …) at every
   * hop and u^{k+1} = act(u^k H + o^k), as memoryHops. Adjacent tying (Sukhbaatar et al. 2015 §2.2):
   * `output` holds the K tables E_1…E_K one after another (`[K·rows, width]`), `input` is E_0, hop k
   * reads m from E_{k−1} and c from E_k (each encoding built once, used by two hops), u^{k+1} =
   * act(u^k + o^k), and `hop` is not read. The same output layout as memoryHops; a kernel may build the
   * memories one example at a time and never hold them whole.
   */
  bagMemoryHops: (
    input: S,
    output: S,
    indices: Int32Array,
    weights: S,
    weightIndices: Int32Array,
    u: S,
    mask: S,
    hop: S,
    rows: number,
    batch: number,
    slots: number,
    words: number,
    width: number,
    hops: number,
    linearUnits: number,
    normalize: boolean,
    adjacent: boolean,
  ) => S;
  /**
   * Backward of {@link Kernels.bagMemoryHops} from its inputs, its output and the output's gradient: a
   * flat array laid out as {@link OUTPUT_LAYOUTS}.bagMemoryHopsBackward: the input table's gradient, the
   * output tables' (each encoding's gradient summed over the hops that read it, then embeddingBagBackward),
   * du¹, and dH with layer-wise tying. The word weights are constants.
   */
  bagMemoryHopsBackward: (
    input: S,
    output: S,
    indices: Int32Array,
    weights: S,
    weightIndices: Int32Array,
    u: S,
    mask: S,
    hop: S,
    out: S,
    grad: S,
    rows: number,
    batch: number,
    slots: number,
    words: number,
    width: number,
    hops: number,
    linearUnits: number,
    normalize: boolean,
    adjacent: boolean,
  ) => S;

  /**
   * Cumulative product along each row of x `[rows, cols]`: out[r, i] = Π_{j<i} x[r, j] when
   * `exclusive` (out[r, 0] = 1; the DNC's allocation weighting), Π_{j≤i} x[r, j] otherwise.
   */
  cumulativeProduct: (x: S, rows: number, cols: number, exclusive: boolean) => S;
  /**
   * Its backward, without dividing by x (exact when some x is 0): dx_j = P_j·S_j with P_j = Π_{k<j} x_k
   * and S_j the sum of the gradients of the later products, run from the end of the row
   * (S_j = g_{j+1} + x_{j+1}·S_{j+1} exclusive; g_j + x_{j+1}·S_{j+1} inclusive).
   */
  cumulativeProductBackward: (x: S, grad: S, rows: number, cols: number, exclusive: boolean) => S;

  /**
   * The DNC's temporal link update (Graves et al. 2016, Methods), fused: link `[batch, N, N]`, precedence p and
   * write weighting w `[batch, N]` → L'[i, j] = (1 − w[i] − w[j])·L[i, j] + w[i]·p[j], with L'[i, i] = 0.
   */
  temporalLink: (link: S, precedence: S, write: S, batch: number, slots: number) => S;
  /** Backward of {@link Kernels.temporalLink}: a flat array holding dL (batch·N·N), dp (batch·N) and dw (batch·N). */
  temporalLinkBackward: (link: S, precedence: S, write: S, grad: S, batch: number, slots: number) => S;
  /**
   * Every read head's forward and backward weightings over one link matrix (Graves et al. 2016, Methods, "Temporal
   * memory linkage"): L `[batch, N, N]`, the previous read weightings w `[batch, R, N]` → `[batch, 2, R, N]` holding
   * f_r = L w_r then b_r = Lᵀ w_r. One pass over L for all 2R products.
   */
  linkWeightings: (link: S, reads: S, batch: number, slots: number, heads: number) => S;
  /**
   * Backward of {@link Kernels.linkWeightings} from the output's gradient (gf, gb): a flat array holding dL (batch·N·N)
   * = Σ_r gf_r w_rᵀ + w_r gb_rᵀ, then dw (batch·R·N) = Lᵀ gf_r + L gb_r, each in one pass over L.
   */
  linkWeightingsBackward: (link: S, reads: S, grad: S, batch: number, slots: number, heads: number) => S;

  // Fused LSTM cell (gate order i, f, g, o, as in PyTorch): one kernel instead of ~12 ops.
  /**
   * z `[batch, 4H]` (pre-activations), c `[batch, H]` → `[batch, 2H]` holding h then c':
   * i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o), c' = f·c + i·g, h = o·tanh(c').
   */
  lstmCell: (z: S, c: S, batch: number, hidden: number) => S;
  /**
   * The LSTM cell's backward: given z, c, the forward output `[batch, 2H]` and its gradient
   * `[batch, 2H]`, returns `[batch, 5H]` holding dz (4H) then dc (H).
   */
  lstmCellBackward: (z: S, c: S, out: S, grad: S, batch: number, hidden: number) => S;

  // Fused external-memory kernels (NTM eq. 3–4 and 6): one pass over the memory instead of five.
  /**
   * One write head's erase-then-add: memory `[batch, rows, width]`, w `[batch, rows]`, e and a
   * `[batch, width]` → M'(i, j) = M(i, j)·(1 − w(i)·e(j)) + w(i)·a(j).
   */
  memoryWrite: (memory: S, w: S, e: S, a: S, batch: number, rows: number, width: number) => S;
  /**
   * Backward of {@link Kernels.memoryWrite}: a flat array holding dM (batch·rows·width), dw
   * (batch·rows), de (batch·width) and da (batch·width), in that order.
   */
  memoryWriteBackward: (memory: S, w: S, e: S, a: S, grad: S, batch: number, rows: number, width: number) => S;
  /**
   * Cosine similarity of a key `[batch, width]` with every memory row `[batch, rows, width]`:
   * s(i) = M(i)·k / (‖M(i)‖·‖k‖ + ε) → `[batch, rows]`.
   */
  rowCosine: (memory: S, key: S, batch: number, rows: number, width: number, epsilon: number) => S;
  /** Backward of {@link Kernels.rowCosine}: flat dM (batch·rows·width) then dk (batch·width). */
  rowCosineBackward: (memory: S, key: S, grad: S, batch: number, rows: number, width: number, epsilon: number) => S;
  /**
   * NTM location addressing (eq. 7–9) in one pass: content weighting wc and previous weighting
   * wp `[batch, N]`, gate g `[batch, 1]`, shift weighting s `[batch, S]` (shifts −(S−1)/2 …
   * (S−1)/2), sharpening γ `[batch, 1]` → w `[batch, N]`.
   */
  locationAddress: (wc: S, wp: S, g: S, s: S, gamma: S, batch: number, slots: number, shifts: number, epsilon: number) => S;
  /** Backward of {@link Kernels.locationAddress}: flat dwc, dwp (batch·N each), dg (batch), ds (batch·S), dγ (batch). */
  locationAddressBackward: (wc: S, wp: S, g: S, s: S, gamma: S, grad: S, batch: number, slots: number, shifts: number, epsilon: number) => S;
}

/** The shapes of the pieces a fused kernel returns in one flat array, in order. */
export type OutputLayout = readonly (readonly number[])[];

/**
 * The one description of every multi-output kernel's flat result: the gradient rules cut it with these
 * shapes, and every backend sizes its output from them ({@link layoutLength}). A kernel's body writes
 * the pieces in this order.
 */
export const OUTPUT_LAYOUTS = {
  /** o `[batch, width]` then p `[batch, slots]`. */
  attentionRead: (batch: number, slots: number, width: number): OutputLayout => [
    [batch, width],
    [batch, slots],
  ],
  /** dm, dc `[batch, slots, width]` then du `[batch, width]`. */
  attentionReadBackward: (batch: number, slots: number, width: number): OutputLayout => [
    [batch, slots, width],
    [batch, slots, width],
    [batch, width],
  ],
  /** u¹…u^{K+1} `[hops + 1, batch, width]`, p¹…p^K `[hops, batch, slots]`, o¹…o^K `[hops, batch, width]`. */
  memoryHops: (batch: number, slots: number, width: number, hops: number): OutputLayout => [
    [hops + 1, batch, width],
    [hops, batch, slots],
    [hops, batch, width],
  ],
  /** dm, dc `[batch, slots, width]`, du¹ `[batch, width]`, dH `[width, width]`. */
  memoryHopsBackward: (batch: number, slots: number, width: number): OutputLayout => [
    [batch, slots, width],
    [batch, slots, width],
    [batch, width],
    [width, width],
  ],
  /**
   * The input table's gradient `[rows, width]`, the output tables' `[outputTables · rows, width]` (1 table
   * layer-wise, K adjacent), du¹ `[batch, width]`, then dH `[width, width]` with layer-wise tying only.
   */
  bagMemoryHopsBackward: (rows: number, batch: number, width: number, hops: number, adjacent: boolean): OutputLayout => [
    [rows, width],
    [(adjacent ? hops : 1) * rows, width],
    [batch, width],
    ...(adjacent ? [] : [[width, width]]),
  ],
  /** dL `[batch, N, N]`, dw `[batch, R, N]`. */
  linkWeightingsBackward: (batch: number, slots: number, heads: number): OutputLayout => [
    [batch, slots, slots],
    [batch, heads, slots],
  ],
  /** dL `[batch, N, N]`, dp and dw `[batch, N]`. */
  temporalLinkBackward: (batch: number, slots: number): OutputLayout => [
    [batch, slots, slots],
    [batch, slots],
    [batch, slots],
  ],
  /** dM `[batch, rows, width]`, dw `[batch, rows]`, de and da `[batch, width]`. */
  memoryWriteBackward: (batch: number, rows: number, width: number): OutputLayout => [
    [batch, rows, width],
    [batch, rows],
    [batch, width],
    [batch, width],
  ],
  /** dM `[batch, rows, width]` then dk `[batch, width]`. */
  rowCosineBackward: (batch: number, rows: number, width: number): OutputLayout => [
    [batch, rows, width],
    [batch, width],
  ],
  /** dwc, dwp `[batch, slots]`, dg `[batch, 1]`, ds `[batch, shifts]`, dγ `[batch, 1]`. */
  locationAddressBackward: (batch: number, slots: number, shifts: number): OutputLayout => [
    [batch, slots],
    [batch, slots],
    [batch, 1],
    [batch, shifts],
    [batch, 1],
  ],
} as const;

/**
 * Floats in a layout: the flat result's length.
 * @param layout - the outputs' layout
 */
export function layoutLength(layout: OutputLayout): number {
  return layout.reduce((n, shape) => n + shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Where each piece of a layout starts in the flat result.
 * @param layout - the outputs' layout
 */
export function layoutOffsets(layout: OutputLayout): number[] {
  let offset = 0;
  return layout.map((shape) => {
    const at = offset;
    offset += shape.reduce((a, b) => a * b, 1);
    return at;
  });
}

/** out[i] = f(x[i]) over `size` elements. */
export type UnaryKernel<S> = (x: S, size: number) => S;
/** out = f(a, b) with broadcasting to `outShape`. */
export type BinaryKernel<S> = (a: S, aShape: Shape, b: S, bShape: Shape, outShape: Shape) => S;
/** Reduces x viewed as [outer, n, inner] over n. */
export type ReduceKernel<S> = (x: S, outer: number, n: number, inner: number) => S;

/** Arguments of the matmul kernel: C[batch, m, n] = op(A) · op(B). */
export interface MatmulArgs {
  /** Number of matrices in the output batch. */
  batch: number;
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(A), rows of op(B). */
  k: number;
  /** Columns of op(B) and C. */
  n: number;
  /** A is stored as [k, m] (use its transpose). */
  transA: boolean;
  /** B is stored as [n, k] (use its transpose). */
  transB: boolean;
  /** A holds `batch` matrices (false: one matrix shared by the batch). */
  batchedA: boolean;
  /** B holds `batch` matrices (false: one matrix shared by the batch). */
  batchedB: boolean;
}

/** The names of all kernels. */
export type KernelName = keyof Kernels<unknown>;
/** The names of the primitive kernels. */
export type PrimitiveKernelName = keyof PrimitiveKernels<unknown>;
/** The names of the fused kernels. */
export type FusedKernelName = keyof FusedKernels<unknown>;

/**
 * A compute backend: the kernels plus moving data in and out. Tensors remember their backend;
 * ops require all operands to live on the same one.
 */
export interface Backend<S = unknown> {
  /** `cpu` or `gpu`. */
  readonly name: string;
  /** A human-readable description of what actually runs (e.g. `cpu (wasm-simd matmul)`). */
  readonly description: string;
  /** The primitive kernels. */
  readonly kernels: Kernels<S>;
  /**
   * Takes ownership of `data` (the caller must not mutate it afterwards).
   * @param data - the values to upload
   */
  fromArray(data: Float32Array): S;
  /**
   * Reads a storage back as a fresh or shared array of `size` floats; callers must not mutate it.
   * @param storage - the storage to read
   * @param size - how many values
   */
  toArray(storage: S, size: number): Float32Array;
  /**
   * Optional: target += source, in place, for `size` floats. Autodiff uses it to accumulate a
   * gradient into a buffer it owns (one that no other tensor shares), which saves an allocation
   * and a pass per contribution; without it, gradients are summed with the `add` kernel.
   * @param target - the storage added into
   * @param source - the storage added
   * @param size - how many values
   */
  addInPlace?(target: S, source: S, size: number): void;
  /**
   * Optional whole-model kernels (the CPU backend's WebAssembly module has them): a model uses one
   * where its backend offers it and its own composed path otherwise.
   */
  readonly models?: ModelKernels;
  /** Optional native optimizer updates (the CPU backend's WebAssembly module has them); the optimizers use them where offered. */
  readonly optimizers?: OptimizerKernels;
}

/** One RMSProp update's settings ({@link OptimizerKernels.rmsprop}). */
export interface RmsPropStep {
  /** The gradient is multiplied by this first (when `prepare`). */
  scale: number;
  /** …then clipped to ±this (when `prepare`). */
  limit: number;
  /** Scale, clip and round the gradient to float32 first. */
  prepare: boolean;
  /** ρ, the decay of the running averages. */
  decay: number;
  /** Momentum of the update. */
  momentum: number;
  /** η. */
  learningRate: number;
  /** Subtract the squared running mean (Graves 2013). */
  centered: boolean;
  /** ε inside the square root. */
  epsilon: number;
}

/** Optimizer updates a backend may run natively, each bit for bit as the JavaScript loop of src/optim.ts. */
export interface OptimizerKernels {
  /**
   * RMSProp's update of one parameter: returns its new values as a new array (`value` is left as it is) and updates
   * square (n), mean (g) and delta, in place or in the kernels' own memory (then {@link OptimizerKernels.readSlots}
   * brings the arrays up to date).
   * @param value - the parameter's values (read only)
   * @param grad - its gradient
   * @param square - the running average of the squared gradient
   * @param mean - the running average of the gradient
   * @param delta - the last update (momentum)
   * @param step - the settings
   */
  rmsprop(value: Float32Array, grad: Float32Array, square: Float32Array, mean: Float32Array, delta: Float32Array, step: RmsPropStep): Float32Array;
  /**
   * Brings slot arrays up to date where {@link OptimizerKernels.rmsprop} keeps them in its own memory between updates
   * (the WebAssembly backend does): call before reading them. Arrays it does not keep are left as they are.
   * @param arrays - slot arrays passed to an update
   */
  readSlots(arrays: readonly Float32Array[]): void;
  /**
   * Tells the kernels that slot arrays were written from JavaScript (a loaded state), so their own copies take the
   * new values. Arrays it does not keep are ignored.
   * @param arrays - slot arrays passed to an update, since changed
   */
  writeSlots(arrays: readonly Float32Array[]): void;
  /**
   * Plain SGD's update of one parameter (no momentum): θ ← θ − η·g, computed in float64 and rounded once, returned as
   * a new array (`value` is left as it is).
   * @param value - the parameter's values (read only)
   * @param grad - its gradient
   * @param step - the gradient's scale and clip (when `prepare`) and η
   * @param out - where the new values go (as long as `value`, which it may be); default a new array
   */
  sgd(value: Float32Array, grad: Float32Array, step: SgdStep, out?: Float32Array): Float32Array;
  /**
   * Sums float32 arrays element by element in the order given, `out[i] = ((a₀[i] + a₁[i]) + a₂[i]) + …`, each sum
   * rounded to float32 as JavaScript's `a + b` stored in a Float32Array is (the same bits); a null first array counts as
   * zeros. What the gradient workers' sums run on.
   * @param out - where the sums go; its length is the count
   * @param parts - the arrays, each exactly as long as `out`, at least one; the first may be null
   */
  sumArrays(out: Float32Array, parts: readonly (Float32Array | null)[]): void;
  /**
   * Adds the squares of `values` to four running float64 sums, in place: element i to `sums[i % 4]`, a tail of fewer
   * than four to `sums[0]` (the order of `gradientNorm`'s additions, so the same bits).
   * @param values - float32 values (a gradient)
   * @param sums - the four running sums, updated
   */
  sumOfSquares(values: Float32Array, sums: Float64Array): void;
}

/** One plain SGD update's settings ({@link OptimizerKernels.sgd}). */
export interface SgdStep {
  /** The gradient is multiplied by this first (when `prepare`). */
  scale: number;
  /** …then clipped to ±this (when `prepare`). */
  limit: number;
  /** Scale, round to float32 and clip the gradient first. */
  prepare: boolean;
  /** η. */
  learningRate: number;
}

/** The sizes both whole-sequence kernels take ({@link ModelKernels.ntmSequence}, {@link ModelKernels.dncSequence}). */
export interface SequenceKernelSizes {
  /** Sequences side by side. */
  batch: number;
  /** Time steps. */
  steps: number;
  /** Input width I. */
  inputSize: number;
  /** Output width O. */
  outputSize: number;
  /** LSTM units per layer H. */
  hidden: number;
  /** LSTM layers (1–16). */
  layers: number;
  /** Memory rows N. */
  slots: number;
  /** Memory width M. */
  width: number;
  /** Read heads R. */
  readHeads: number;
  /** The summed loss is multiplied by this (1 / the sequences it averages over). */
  lossScale: number;
  /**
   * False: the forward pass only, for evaluation: the loss and the wrong bits, the gradients left zero, and only two
   * steps' activations kept (default true).
   */
  gradients?: boolean;
}

/** The sizes of one {@link ModelKernels.ntmSequence} call. */
export interface NtmSequenceSizes extends SequenceKernelSizes {
  /** Write heads (R + W at most 64). */
  writeHeads: number;
  /** Allowed shifts S (odd). */
  shifts: number;
  /** The heads' raw parameters are clipped to ±this (0: not clipped). */
  controllerClip: number;
}

/** The sizes of one {@link ModelKernels.dncSequence} call (one write head). */
export interface DncSequenceSizes extends SequenceKernelSizes {
  /** The controller's output and y are clipped to ±this (0: not clipped). */
  clip: number;
  /**
   * How y is scored: `bits` (default), binary cross-entropy against `targets` `[T, B, O]` where `mask` is 1; `words`
   * (bAbI), softmax cross-entropy against `targets` `[T, B]` holding a word id (−1 where not scored; `mask` is not read).
   * With `words` the output also holds each row's verdict (1 right, 0 wrong, −1 not scored), `[T, B]`, after the wrong count.
   */
  loss?: 'bits' | 'words';
}

/**
 * The arrays of one {@link ModelKernels.memnetLmStep}: a MemN2N language model with layer-wise tying (§2.2, §5) and
 * one batch as `encodeTextPositions` encodes it. `memnetLmStep` updates the four weights in place; `memnetLmGradients` only reads them.
 */
export interface MemnetLmStepArrays {
  /** A, the memory's input table, `[rows, width]` (word rows, then the time rows T_A). */
  input: Float32Array;
  /** C, the memory's output table, `[rows, width]`. */
  output: Float32Array;
  /** W, the answer matrix, `[width, vocabulary]`. */
  answer: Float32Array;
  /** H, the map between hops, `[width, width]`. */
  hop: Float32Array;
  /** Table row of each slot's items, `[batch·slots·words]`. */
  indices: Int32Array;
  /** The items' weight rows (constants), `[weightRows, width]`. */
  weights: Float32Array;
  /** Weight row of each item, `[batch·slots·words]`. */
  weightIndices: Int32Array;
  /** u¹, the constant query, `[batch, width]`. */
  query: Float32Array;
  /** 1 for a real slot, `[batch, slots]`. */
  mask: Float32Array;
  /** The next word of each position, `[batch]`. */
  labels: Int32Array;
}

/** The sizes of one {@link ModelKernels.memnetLmStep}. */
export interface MemnetLmStepSizes {
  /** Rows of A and C. */
  rows: number;
  /** Positions predicted. */
  batch: number;
  /** Memory slots N. */
  slots: number;
  /** Items per slot. */
  words: number;
  /** Embedding width d. */
  width: number;
  /** Hops K. */
  hops: number;
  /** Units 0…linearUnits − 1 of each hop stay linear, the rest go through a ReLU. */
  linearUnits: number;
  /** Columns of W (the vocabulary). */
  vocabulary: number;
}

/** What one {@link ModelKernels.memnetLmStep} did. */
export interface MemnetLmStepResult {
  /** The batch's summed cross-entropy in nats. */
  nats: number;
  /** The global L2 norm of the four gradients (NaN when the loss was not finite: no backward pass then). */
  gradientNorm: number;
  /** Whether the weights were updated. */
  updated: boolean;
}

/** The SGD update {@link ModelKernels.memnetLmStep} applies: θ ← θ − η·(g·scale), as `SGD.step` with `gradientScale`. */
export interface MemnetLmUpdate {
  /** The factor each gradient element is multiplied by (norm clipping). */
  scale: number;
  /** η. */
  learningRate: number;
}

/** Whole-model kernels a backend may offer (see {@link Backend.models}). */
export interface ModelKernels {
  /**
   * A whole NTM training sequence with an LSTM controller, forward and backward: the parameters in one flat
   * layout (per LSTM layer W and b; the heads' W and b; the output's W and b; initial reads; initial weighting
   * logits; initial memory), inputs `[T, B, I]`, targets `[T, B, O]` and mask `[T, B]` (time-major) → the
   * gradients in the same layout, then the loss (binary cross-entropy over the scored bits, times
   * `lossScale`) and the count of wrong bits.
   * @param parameters - every parameter, flat, in the layout above
   * @param inputs - the inputs, time-major
   * @param targets - the targets, time-major
   * @param mask - 1 where a sequence's step is scored, else 0
   * @param sizes - the model's and the batch's sizes
   */
  ntmSequence(parameters: Float32Array, inputs: Float32Array, targets: Float32Array, mask: Float32Array, sizes: NtmSequenceSizes): Float32Array;
  /**
   * How many floats the flat parameter layout of {@link ModelKernels.ntmSequence} holds.
   * @param sizes - the model's sizes (batch, steps, clip and scale are ignored)
   */
  ntmParameterCount(sizes: NtmSequenceSizes): number;
  /**
   * A whole DNC training sequence with an LSTM controller and one write head, forward and backward (@engram/dnc's
   * `dncSequenceGradients`): the parameters in one flat layout (per LSTM layer W and b; the interface's W and b; the
   * output's W and b), inputs `[T, B, I]`, targets `[T, B, O]` and mask `[T, B]` (time-major) → the gradients in the
   * same layout, then the loss (binary cross-entropy over the scored bits of the clipped outputs, times `lossScale`)
   * and the count of wrong bits.
   * @param parameters - every parameter, flat, in the layout above
   * @param inputs - the inputs, time-major
   * @param targets - the targets, time-major
   * @param mask - 1 where a sequence's step is scored, else 0
   * @param sizes - the model's and the batch's sizes
   */
  dncSequence(parameters: Float32Array, inputs: Float32Array, targets: Float32Array, mask: Float32Array, sizes: DncSequenceSizes): Float32Array;
  /**
   * How many floats the flat parameter layout of {@link ModelKernels.dncSequence} holds.
   * @param sizes - the model's sizes (batch, steps, clip and scale are ignored)
   */
  dncParameterCount(sizes: DncSequenceSizes): number;
  /**
   * One whole training step of a MemN2N language model with layer-wise tying (@engram/memnet's `trainMemnetLm` on
   * one thread) in one call: the fused hops, the answer product, the summed softmax cross-entropy, their backward,
   * the global gradient norm, then plain SGD on A, C, W and H in place — the same kernels in the same order as the
   * composed step (`memnetLmLoss`, `backward`, `gradientNorm`, `SGD.step`), so the same bits, without copying the
   * weights, the logits and the gradients in and out of WebAssembly memory between them.
   * @param arrays - the weights (updated in place) and the batch
   * @param sizes - the model's and the batch's sizes
   * @param decide - given the loss and the gradient norm, the update to apply, or null for none (a non-finite
   *   loss skips the backward pass and asks with a NaN norm)
   */
  memnetLmStep(arrays: MemnetLmStepArrays, sizes: MemnetLmStepSizes, decide: (nats: number, gradientNorm: number) => MemnetLmUpdate | null): MemnetLmStepResult;
  /**
   * The forward and backward passes of {@link ModelKernels.memnetLmStep} without the update (a worker thread's share
   * of a step): the gradients of A, C, W and H written into `gradients` (the same bits as the composed backward), the
   * summed loss returned. A non-finite loss skips the backward pass and leaves `gradients` as they were.
   * @param arrays - the weights (read only) and the batch
   * @param sizes - the model's and the batch's sizes
   * @param gradients - four arrays the lengths of A, C, W and H
   */
  memnetLmGradients(arrays: MemnetLmStepArrays, sizes: MemnetLmStepSizes, gradients: readonly Float32Array[]): number;
}
