/**
 * Optimizers and training helpers. Parameters are leaf tensors with `requiresGrad`; an optimizer
 * reads their `.grad`, updates their data in place with {@link Tensor.assign}, and keeps its own
 * state (moments) in plain Float32Arrays that {@link Optimizer.state} exports for checkpoints.
 */
import { noGrad } from './autograd.js';
import { tensor } from './create.js';
import { EngramError, formatShape } from './errors.js';
import type { OptimizerKernels } from './backend.js';
import type { Tensor } from './tensor.js';

/** Parameters this large or larger use the backend's native update where it has one (smaller ones: the copy costs more). */
const NATIVE_UPDATE_MIN = 512;

/** The native optimizer kernels of `t`'s backend, where it has them and `t` is large enough for copying in to pay off. */
function nativeKernelsFor(t: Tensor): OptimizerKernels | undefined {
  return t.size >= NATIVE_UPDATE_MIN ? t.backend.optimizers : undefined;
}

/** Guards the denominators of RMSProp and Adam (added to the root mean square). */
export const OPTIMIZER_EPSILON = 1e-8;

/** Serializable optimizer state: step count and one array per parameter per slot. */
export interface OptimizerState {
  /** Steps taken. */
  step: number;
  /** Per slot name (e.g. `m`, `v`), one array per parameter. */
  slots: Record<string, Float32Array[]>;
}

/** Key prefix of optimizer slots in a checkpoint's tensors (see {@link optimizerStateTensors}). */
export const OPTIMIZER_TENSOR_PREFIX = 'optimizer.';

/**
 * An optimizer's slots as named 1-D tensors (`optimizer.<slot>.<parameter index>`), to save beside
 * a model's weights in a checkpoint. The step count goes in the metadata.
 * @param state - the optimizer's state
 */
export function optimizerStateTensors(state: OptimizerState): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const [slot, arrays] of Object.entries(state.slots)) {
    arrays.forEach((array, i) => {
      tensors[`${OPTIMIZER_TENSOR_PREFIX}${slot}.${i}`] = tensor(array, [array.length]);
    });
  }
  return tensors;
}

/**
 * The inverse of {@link optimizerStateTensors}: the slots found among `tensors` (other keys are ignored).
 * @param tensors - the saved tensors, named `optimizer.<slot>.<index>`
 * @param step - the saved step count
 */
export function optimizerStateFromTensors(tensors: Record<string, Tensor>, step: number): OptimizerState {
  // No prototype: a slot name read from a file can never reach Object.prototype.
  const slots: Record<string, Float32Array[]> = Object.create(null);
  for (const [key, value] of Object.entries(tensors)) {
    if (!key.startsWith(OPTIMIZER_TENSOR_PREFIX)) continue;
    const [slot, index] = key.slice(OPTIMIZER_TENSOR_PREFIX.length).split('.') as [string, string];
    const arrays = slots[slot] ?? [];
    arrays[Number(index)] = value.toArray();
    slots[slot] = arrays;
  }
  return { step, slots };
}

/** The update rule of one optimizer, applied per parameter on flat arrays. */
export abstract class Optimizer {
  /** Number of {@link Optimizer.step} calls so far. */
  stepCount = 0;
  /** Learning rate; schedules change it between steps. */
  learningRate: number;
  /** Per-parameter state arrays by slot name. */
  protected readonly slots: Record<string, Float32Array[]> = {};

  /**
   * @param params the trainable leaf tensors to update
   * @param learningRate η
   * @param slotNames names of the per-parameter state arrays the rule keeps
   */
  constructor(
    /** The parameters this optimizer updates. */
    readonly params: readonly Tensor[],
    learningRate: number,
    slotNames: readonly string[],
  ) {
    if (!(learningRate > 0)) throw new EngramError(`optimizer: learning rate must be positive, got ${learningRate}`);
    params.forEach((p, i) => {
      if (!p.requiresGrad || p.node !== null) throw new EngramError(`optimizer: parameter ${i} ${formatShape(p.shape)} is not a trainable leaf tensor`);
    });
    this.learningRate = learningRate;
    for (const name of slotNames) this.slots[name] = params.map((p) => new Float32Array(p.size));
  }

  /** Sets every parameter's gradient to null. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Per parameter, the array {@link Optimizer.step} writes scaled or clipped gradients into (made on first use). */
  private readonly prepared: (Float32Array | undefined)[] = [];

  /**
   * Applies one update from the current gradients (parameters without a gradient are skipped).
   * With `options`, each gradient element is first multiplied by `gradientScale` and then clipped
   * to ±`clipValue`, each result rounded to float32: the same numbers as scaling the gradients with
   * {@link clipGradientsByNorm} and clipping them with {@link clipGradientsByValue} before the step,
   * in one pass that writes no new gradient tensors (the parameters' `.grad` are left as they were).
   * @param options - the gradient scale (global-norm clipping: {@link normClipScale}) and the value clip
   * @example
   * ```ts
   * const norm = gradientNorm(optimizer.params);
   * optimizer.step({ gradientScale: normClipScale(norm, 5) }); // as clipGradientsByNorm(params, 5) then step()
   * ```
   */
  step(options: StepOptions = {}): void {
    const { scale, limit } = stepSettings(options);
    this.stepCount++;
    noGrad(() => {
      this.params.forEach((param, i) => {
        if (param.grad === null) return;
        let grad = param.grad.dataSync();
        // A native update reads the parameter's data and returns new values: one copy fewer than toArray's.
        const updated = this.updateNative(param.dataSync(), grad, i, scale, limit);
        if (updated !== undefined) {
          param.assign(updated);
          return;
        }
        const value = param.toArray();
        if ((scale !== 1 || limit !== Number.POSITIVE_INFINITY) && this.updateScaled(value, grad, i, scale, limit)) {
          param.assign(value);
          return;
        }
        if (scale !== 1 || limit !== Number.POSITIVE_INFINITY) {
          const out = this.prepared[i] ?? new Float32Array(grad.length);
          this.prepared[i] = out;
          prepareGradient(grad, out, scale, limit);
          grad = out;
        }
        this.update(value, grad, i);
        param.assign(value);
      });
    });
  }

  /**
   * Updates `value` in place given `grad`, for parameter `index`.
   * @param value - the parameter's values, updated in place
   * @param grad - its gradient
   * @param index - the parameter's index in the optimizer's list (selects its slots)
   */
  protected abstract update(value: Float32Array, grad: Float32Array, index: number): void;

  /**
   * {@link Optimizer.update} with the gradient scaled and clipped on the fly, each prepared element
   * rounded to float32 as {@link Optimizer.step} would store it: the same numbers in one pass. Returns
   * false (the default) when the optimizer has no such pass; `step` then prepares the gradient first.
   * @param _value - the parameter's values, updated in place
   * @param _grad - its gradient, unscaled
   * @param _index - the parameter's index in the optimizer's list
   * @param _scale - the factor each gradient element is multiplied by
   * @param _limit - then clipped to ±limit (Infinity: no clipping)
   */
  protected updateScaled(_value: Float32Array, _grad: Float32Array, _index: number, _scale: number, _limit: number): boolean {
    return false;
  }

  /**
   * The update on the backend's native kernel, where it has one and copying in pays off: the parameter's new values
   * as a new array (the same numbers as {@link Optimizer.updateScaled}), the slots updated in place. `current` is the
   * parameter's own data and must not change (the tape and the matmul operand cache may still hold it). Returns
   * undefined (the default) where there is no native update; `step` then runs the JavaScript one.
   * @param _current - the parameter's values (read only)
   * @param _grad - its gradient, unscaled
   * @param _index - the parameter's index in the optimizer's list
   * @param _scale - the factor each gradient element is multiplied by
   * @param _limit - then clipped to ±limit (Infinity: no clipping)
   */
  protected updateNative(_current: Float32Array, _grad: Float32Array, _index: number, _scale: number, _limit: number): Float32Array | undefined {
    return undefined;
  }

  /**
   * The backend's native optimizer kernels for parameter `index`, if it has them and the parameter is large enough
   * for copying in to pay off.
   * @param index - the parameter's index
   */
  protected nativeKernels(index: number): OptimizerKernels | undefined {
    const param = this.params[index];
    return param === undefined ? undefined : nativeKernelsFor(param);
  }

  /**
   * Keeps the slot arrays and a native update's own copies of them in step: `read` brings the arrays up to date (before
   * reading them), `write` hands their values to the native copies (after writing them).
   * @param direction - which side was changed
   */
  private syncSlots(direction: 'read' | 'write'): void {
    const names = Object.keys(this.slots);
    if (names.length === 0) return;
    this.params.forEach((param, i) => {
      const native = param.backend.optimizers;
      if (native === undefined) return;
      const arrays = names.map((name) => this.slot(name, i));
      if (direction === 'read') native.readSlots(arrays);
      else native.writeSlots(arrays);
    });
  }

  /**
   * The state array `name` of parameter `index` (where a native update keeps the slots, as of the last
   * {@link Optimizer.state} or {@link Optimizer.loadState}).
   * @param name - the slot's name (e.g. "velocity")
   * @param index - the parameter's index
   */
  protected slot(name: string, index: number): Float32Array {
    return (this.slots[name] as Float32Array[])[index] as Float32Array;
  }

  /** A copy of the optimizer's state, to save with a checkpoint. */
  state(): OptimizerState {
    this.syncSlots('read');
    const slots: Record<string, Float32Array[]> = {};
    for (const [name, arrays] of Object.entries(this.slots)) slots[name] = arrays.map((a) => a.slice());
    return { step: this.stepCount, slots };
  }

  /**
   * Restores state saved with {@link Optimizer.state}; shapes must match the parameters.
   * @param state - a state saved by `state()` (every slot of every parameter, with its size)
   */
  loadState(state: OptimizerState): void {
    for (const [name, arrays] of Object.entries(this.slots)) {
      const saved = state.slots[name];
      if (saved === undefined || saved.length !== arrays.length)
        throw new EngramError(`optimizer: saved state lacks slot '${name}' for ${arrays.length} parameters`);
      // Every parameter's slot must be there (a sparse array's holes are not skipped), with its size.
      for (let i = 0; i < arrays.length; i++) {
        const a = saved[i];
        if (a === undefined) throw new EngramError(`optimizer: saved state lacks slot '${name}' of parameter ${i}`);
        if (a.length !== (arrays[i] as Float32Array).length)
          throw new EngramError(`optimizer: slot '${name}' of parameter ${i} has ${a.length} values, expected ${(arrays[i] as Float32Array).length}`);
        (arrays[i] as Float32Array).set(a);
      }
    }
    this.syncSlots('write');
    this.stepCount = state.step;
  }
}

/** Options for {@link SGD}. */
export interface SgdOptions {
  /** Momentum μ (default 0): v ← μ·v + g; θ ← θ − η·v. */
  momentum?: number;
}

/** Stochastic gradient descent, optionally with (heavy-ball) momentum. */
export class SGD extends Optimizer {
  /** μ */
  readonly momentum: number;
  /**
   * @param params - the trainable leaf tensors to update
   * @param learningRate - η
   * @param options - momentum μ (default 0: plain SGD, which keeps no velocity slot)
   */
  constructor(params: readonly Tensor[], learningRate: number, options: SgdOptions = {}) {
    // Plain SGD (μ = 0) keeps no velocity: it would only ever equal the gradient.
    super(params, learningRate, (options.momentum ?? 0) === 0 ? [] : ['velocity']);
    this.momentum = options.momentum ?? 0;
  }
  protected update(value: Float32Array, grad: Float32Array, index: number): void {
    const { momentum, learningRate } = this;
    if (momentum === 0) {
      for (let i = 0; i < value.length; i++) value[i] = (value[i] as number) - learningRate * (grad[i] as number);
      return;
    }
    const v = this.slot('velocity', index);
    for (let i = 0; i < value.length; i++) {
      const vi = momentum * (v[i] as number) + (grad[i] as number);
      v[i] = vi;
      value[i] = (value[i] as number) - learningRate * vi;
    }
  }
  protected override updateScaled(value: Float32Array, grad: Float32Array, _index: number, scale: number, limit: number): boolean {
    if (this.momentum !== 0) return false;
    plainSgd(value, grad, value, this.learningRate, scale, limit);
    return true;
  }

  /**
   * Whether the update is plain SGD (no momentum): elementwise and without slots, so that any stretch of the
   * parameters can be updated on its own ({@link plainSgd}), by any thread.
   */
  get isPlain(): boolean {
    return this.momentum === 0;
  }
  /**
   * Plain SGD on the backend's native kernel (WebAssembly: the same arithmetic, bit for bit); none with momentum.
   * @param current - the parameter's values (read only)
   * @param grad - its gradient, unscaled
   * @param index - the parameter's index in the optimizer's list
   * @param scale - the factor each gradient element is multiplied by
   * @param limit - then clipped to ±limit (Infinity: no clipping)
   */
  protected override updateNative(current: Float32Array, grad: Float32Array, index: number, scale: number, limit: number): Float32Array | undefined {
    if (this.momentum !== 0) return undefined;
    const prepare = scale !== 1 || limit !== Number.POSITIVE_INFINITY;
    return this.nativeKernels(index)?.sgd(current, grad, { scale, limit, prepare, learningRate: this.learningRate });
  }
}

/**
 * Plain SGD's update over one stretch of a parameter, θ ← θ − η·clip(g·scale), each prepared gradient rounded to
 * float32 as {@link Optimizer.step} stores it: `out[i] = value[i] − η·g'[i]`, the same bits as `SGD.step` with these
 * options. `out` may be `value` (in place).
 * @param value - the parameter's values (the stretch)
 * @param grad - its gradient, unscaled (the same stretch)
 * @param out - where the new values go
 * @param learningRate - η
 * @param scale - the factor each gradient element is multiplied by (global-norm clipping: {@link normClipScale})
 * @param limit - then clipped to ±limit (Infinity: no clipping)
 */
export function plainSgd(value: Float32Array, grad: Float32Array, out: Float32Array, learningRate: number, scale: number, limit: number): void {
  if (limit === Number.POSITIVE_INFINITY) {
    for (let i = 0; i < value.length; i++) out[i] = (value[i] as number) - learningRate * Math.fround((grad[i] as number) * scale);
    return;
  }
  for (let i = 0; i < value.length; i++) {
    const g = Math.fround(Math.min(limit, Math.max(-limit, Math.fround((grad[i] as number) * scale))));
    out[i] = (value[i] as number) - learningRate * g;
  }
}

/** Options for {@link RMSProp}. */
export interface RmsPropOptions {
  /** Decay ρ of the squared-gradient average (default 0.95, as in Graves 2013). */
  decay?: number;
  /** Momentum μ (default 0.9; the NTM paper's setting). */
  momentum?: number;
  /**
   * Subtract the squared mean gradient (the "centered" variant of Graves 2013, eq. 38–41, used by
   * the NTM paper). Default true.
   */
  centered?: boolean;
  /** ε added inside the square root (default 1e-4, Graves 2013). */
  epsilon?: number;
}

/**
 * RMSProp. With the defaults it is Graves' variant (arXiv:1308.0850 eq. 38–41) the NTM paper uses:
 * n ← ρn + (1−ρ)g², ḡ ← ρḡ + (1−ρ)g, Δ ← μΔ − η·g / √(n − ḡ² + ε), θ ← θ + Δ, in float32 arithmetic.
 */
export class RMSProp extends Optimizer {
  /** ρ */
  readonly decay: number;
  /** μ */
  readonly momentum: number;
  /** Whether the squared mean gradient is subtracted. */
  readonly centered: boolean;
  /** ε inside the square root. */
  readonly epsilon: number;
  /**
   * @param params - the trainable leaf tensors to update
   * @param learningRate - η
   * @param options - the decay ρ of the squared-gradient average, momentum, centring and ε
   */
  constructor(params: readonly Tensor[], learningRate: number, options: RmsPropOptions = {}) {
    super(params, learningRate, ['square', 'mean', 'delta']);
    this.decay = options.decay ?? 0.95;
    this.momentum = options.momentum ?? 0.9;
    this.centered = options.centered ?? true;
    this.epsilon = options.epsilon ?? 1e-4;
  }
  protected update(value: Float32Array, grad: Float32Array, index: number): void {
    this.updateScaled(value, grad, index, 1, Number.POSITIVE_INFINITY);
  }
  /**
   * RMSProp on the backend's native kernel (WebAssembly: the same arithmetic, bit for bit).
   * @param current - the parameter's values (read only)
   * @param grad - its gradient, unscaled
   * @param index - the parameter's index in the optimizer's list
   * @param scale - the factor each gradient element is multiplied by
   * @param limit - then clipped to ±limit (Infinity: no clipping)
   */
  protected override updateNative(current: Float32Array, grad: Float32Array, index: number, scale: number, limit: number): Float32Array | undefined {
    const native = this.nativeKernels(index);
    if (native === undefined) return undefined;
    const { decay, momentum, learningRate, centered, epsilon } = this;
    const prepare = scale !== 1 || limit !== Number.POSITIVE_INFINITY;
    const step = { scale, limit, prepare, decay, momentum, learningRate, centered, epsilon };
    return native.rmsprop(current, grad, this.slot('square', index), this.slot('mean', index), this.slot('delta', index), step);
  }
  protected override updateScaled(value: Float32Array, grad: Float32Array, index: number, scale: number, limit: number): boolean {
    const n = this.slot('square', index);
    const g = this.slot('mean', index);
    const delta = this.slot('delta', index);
    const { decay, momentum, learningRate, centered, epsilon } = this;
    const prepare = scale !== 1 || limit !== Number.POSITIVE_INFINITY;
    // float32 arithmetic, every operation rounded (as PyTorch's RMSprop on float32 parameters; the native update does
    // the same operations four lanes at a time). In float64 then rounded, +, −, ×, ÷ and √ of float32 values give
    // exactly the float32 result.
    const f = Math.fround;
    const decay32 = f(decay);
    const rest32 = f(1 - decay);
    const momentum32 = f(momentum);
    const rate32 = f(learningRate);
    const epsilon32 = f(epsilon);
    for (let i = 0; i < value.length; i++) {
      // The gradient as step() would prepare it (scaled, clipped, rounded to float32), in the same pass.
      const gi = prepare ? f(Math.min(limit, Math.max(-limit, f((grad[i] as number) * scale)))) : (grad[i] as number);
      const ni = f(f(decay32 * (n[i] as number)) + f(f(rest32 * gi) * gi));
      const meanI = centered ? f(f(decay32 * (g[i] as number)) + f(rest32 * gi)) : 0;
      n[i] = ni;
      g[i] = meanI;
      const d = f(f(momentum32 * (delta[i] as number)) - f(f(rate32 * gi) / f(Math.sqrt(f(f(ni - f(meanI * meanI)) + epsilon32)))));
      delta[i] = d;
      value[i] = f((value[i] as number) + d);
    }
    return true;
  }
}

/** Options for {@link Adam}. */
export interface AdamOptions {
  /** β₁ (default 0.9). */
  beta1?: number;
  /** β₂ (default 0.999). */
  beta2?: number;
  /** ε (default {@link OPTIMIZER_EPSILON}). */
  epsilon?: number;
}

/** Adam (Kingma & Ba 2015) with bias correction. */
export class Adam extends Optimizer {
  /** β₁, decay of the first moment. */
  readonly beta1: number;
  /** β₂, decay of the second moment. */
  readonly beta2: number;
  /** ε added to the denominator. */
  readonly epsilon: number;
  /**
   * @param params - the trainable leaf tensors to update
   * @param learningRate - η (default 1e-3)
   * @param options - β₁, β₂ and ε
   */
  constructor(params: readonly Tensor[], learningRate = 1e-3, options: AdamOptions = {}) {
    super(params, learningRate, ['m', 'v']);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? OPTIMIZER_EPSILON;
  }
  protected update(value: Float32Array, grad: Float32Array, index: number): void {
    const m = this.slot('m', index);
    const v = this.slot('v', index);
    const { beta1, beta2, epsilon, learningRate, stepCount } = this;
    const correction1 = 1 - beta1 ** stepCount;
    const correction2 = 1 - beta2 ** stepCount;
    for (let i = 0; i < value.length; i++) {
      const gi = grad[i] as number;
      const mi = beta1 * (m[i] as number) + (1 - beta1) * gi;
      const vi = beta2 * (v[i] as number) + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      value[i] = (value[i] as number) - (learningRate * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
    }
  }
}

/** How {@link Optimizer.step} treats the gradients before its update. */
export interface StepOptions {
  /**
   * Multiplies every gradient element first (default 1); global-norm clipping passes
   * {@link normClipScale} of the {@link gradientNorm}.
   */
  gradientScale?: number;
  /** Then clips every element into [−clipValue, clipValue] (default: no clipping; the NTM paper's is 10). */
  clipValue?: number;
}

/**
 * A step's gradient scale and clip, checked (what {@link Optimizer.step} applies; a step shared among worker threads
 * too): scale 1 and an infinite limit when not given.
 * @param options - the step's options
 */
export function stepSettings(options: StepOptions): { scale: number; limit: number } {
  const scale = options.gradientScale ?? 1;
  const limit = options.clipValue ?? Number.POSITIVE_INFINITY;
  if (!(scale >= 0) || !(limit > 0)) throw new EngramError(`optimizer.step: gradientScale must be ≥ 0 and clipValue > 0, got ${scale} and ${limit}`);
  return { scale, limit };
}

/** out[i] = clip(float32(g[i] · scale), ±limit), one pass; scale 1 and an infinite limit leave g's values. */
function prepareGradient(grad: Float32Array, out: Float32Array, scale: number, limit: number): void {
  if (scale === 1) out.set(grad);
  else for (let i = 0; i < grad.length; i++) out[i] = (grad[i] as number) * scale;
  if (limit === Number.POSITIVE_INFINITY) return;
  for (let i = 0; i < out.length; i++) out[i] = Math.min(limit, Math.max(-limit, out[i] as number));
}

/**
 * The global L2 norm of all the parameters' gradients, √(Σ g²) (parameters without a gradient count
 * as zero). NaN or Infinity when a gradient holds one.
 * @param params - the parameters whose gradients are measured
 */
export function gradientNorm(params: readonly Tensor[]): number {
  // Four running sums (in float64): one chain of dependent additions would wait on each add's latency.
  const sums = new Float64Array(4);
  for (const p of params) {
    if (p.grad === null) continue;
    const g = p.grad.dataSync();
    // The backend's native sum (WebAssembly: the same additions in the same order), where copying in pays off.
    const native = nativeKernelsFor(p.grad);
    if (native) native.sumOfSquares(g, sums);
    else addSquares(g, sums);
  }
  return Math.sqrt((sums[0] as number) + (sums[1] as number) + (sums[2] as number) + (sums[3] as number));
}

/**
 * Adds the squares of `values[start, end)` to four running float64 sums, as {@link gradientNorm} does: the k-th of
 * each four consecutive values to `sums[k]`, a tail that is not four to `sums[0]`.
 * @param values - the values
 * @param sums - the four running sums, updated in place
 * @param start - the first index (default 0)
 * @param end - one past the last (default the length)
 */
export function addSquares(values: Float32Array, sums: Float64Array, start = 0, end = values.length): void {
  let s0 = sums[0] as number;
  let s1 = sums[1] as number;
  let s2 = sums[2] as number;
  let s3 = sums[3] as number;
  const whole = end - ((end - start) % 4);
  let i = start;
  for (; i < whole; i += 4) {
    const a = values[i] as number;
    const b = values[i + 1] as number;
    const c = values[i + 2] as number;
    const d = values[i + 3] as number;
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i < end; i++) s0 += (values[i] as number) * (values[i] as number);
  sums[0] = s0;
  sums[1] = s1;
  sums[2] = s2;
  sums[3] = s3;
}

/**
 * The factor global-norm clipping multiplies the gradients by: maxNorm / norm when the norm is above
 * maxNorm, otherwise 1 (also for a NaN norm, which the caller reports).
 * @param norm - the gradients' global norm ({@link gradientNorm})
 * @param maxNorm - the largest norm allowed
 */
export function normClipScale(norm: number, maxNorm: number): number {
  return norm > maxNorm ? maxNorm / norm : 1;
}

/**
 * Clips every gradient element into [−limit, limit] (the NTM paper clips to ±10). In a training step,
 * `optimizer.step({ clipValue })` does the same without writing new gradient tensors.
 * @param params - the parameters whose gradients are clipped
 * @param limit - each gradient element is clipped to ±limit
 */
export function clipGradientsByValue(params: readonly Tensor[], limit: number): void {
  for (const p of params) {
    if (p.grad === null) continue;
    const g = p.grad.toArray();
    for (let i = 0; i < g.length; i++) g[i] = Math.min(limit, Math.max(-limit, g[i] as number));
    p.grad = p.grad.detach();
    p.grad.assign(g);
  }
}

/**
 * Rescales all gradients together so that their global L2 norm is at most `maxNorm`; returns the
 * norm before clipping. In a training step, `optimizer.step({ gradientScale: normClipScale(norm, maxNorm) })`
 * does the same without writing new gradient tensors.
 * @param params - the parameters whose gradients are rescaled
 * @param maxNorm - the largest global norm allowed
 */
export function clipGradientsByNorm(params: readonly Tensor[], maxNorm: number): number {
  const norm = gradientNorm(params);
  const scale = normClipScale(norm, maxNorm);
  if (scale !== 1) {
    for (const p of params) {
      if (p.grad === null) continue;
      const g = p.grad.toArray();
      for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) * scale;
      p.grad = p.grad.detach();
      p.grad.assign(g);
    }
  }
  return norm;
}

/**
 * Step decay: lr = initial · factor^⌊step / every⌋ (MemN2N halves every 25 epochs).
 * @param initial - the first value
 * @param factor - multiplies the value every `every` steps
 * @param every - steps between decays
 */
export function stepDecay(initial: number, factor: number, every: number): (step: number) => number {
  if (!(every > 0)) throw new EngramError(`stepDecay: 'every' must be positive, got ${every}`);
  return (step) => initial * factor ** Math.floor(step / every);
}
