/**
 * `@engram/tensor/testing`: check a function's gradients against central finite differences —
 * what the conformance suite does for every op, for your own ops, layers and models.
 *
 * ```ts
 * import { gradientCheck } from '@engram/tensor/testing';
 * const report = gradientCheck((x, w) => x.matmul(w).tanh(), [x, w]);
 * expect(report.maxError).toBeLessThan(1e-2);
 * ```
 *
 * @packageDocumentation
 */
import { noGrad } from './autograd.js';
import { Random } from './random.js';
import { sum } from './ops.js';
import { mul } from './primitives.js';
import { Tensor } from './tensor.js';

/** Default step of the central difference: large enough that float32 rounding stays small. */
export const FINITE_DIFFERENCE_STEP = 1e-2;

/** What {@link gradientCheck} found. */
export interface GradientReport {
  /** Largest |analytic − numeric| / (1 + |numeric|) over every checked element. */
  maxError: number;
  /** Where it occurred (null when every gradient matched exactly). */
  worst: GradientMismatch | null;
}

/** The worst element {@link gradientCheck} found. */
export interface GradientMismatch {
  /** Index of the input. */
  input: number;
  /** Index of the element within that input. */
  element: number;
  /** The gradient autodiff computed. */
  analytic: number;
  /** The central finite difference. */
  numeric: number;
}

/** Options for {@link gradientCheck}. */
export interface GradientCheckOptions {
  /** Central-difference step (default {@link FINITE_DIFFERENCE_STEP}). */
  step?: number;
  /** Seed of the random projection that turns the output into a scalar. */
  seed?: number;
  /** Indices of inputs to skip (integer-valued or constant inputs). */
  skip?: readonly number[];
}

/**
 * Compares the gradients autodiff computes for `fn` at `inputs` with central finite
 * differences, (f(x + h) − f(x − h)) / 2h, accumulated in float64. The output is reduced to a
 * scalar with a fixed random projection so every output element matters.
 * @param fn - the function whose gradient is checked (it returns a scalar)
 * @param inputs - the points to check at
 * @param options - the step size and tolerances
 */
export function gradientCheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradientCheckOptions = {}): GradientReport {
  const step = options.step ?? FINITE_DIFFERENCE_STEP;
  const skip = new Set(options.skip ?? []);
  const rng = new Random(options.seed ?? 1);
  const data = inputs.map((x) => x.toArray());
  const make = (values: Float32Array[], withGrad: boolean): Tensor[] =>
    values.map(
      (v, i) => new Tensor((inputs[i] as Tensor).backend.fromArray(v), (inputs[i] as Tensor).shape, (inputs[i] as Tensor).backend, withGrad && !skip.has(i)),
    );
  const leaves = make(
    data.map((d) => d.slice()),
    true,
  );
  const out = fn(...leaves);
  const projection = Float32Array.from({ length: out.size }, () => rng.uniform(-1, 1));
  sum(mul(out, new Tensor(out.backend.fromArray(projection.slice()), out.shape, out.backend))).backward();
  const loss = (values: Float32Array[]): number =>
    noGrad(() => {
      const o = fn(...make(values, false)).dataSync();
      let total = 0;
      for (let i = 0; i < o.length; i++) total += (o[i] as number) * (projection[i] as number);
      return total;
    });
  let report: GradientReport = { maxError: 0, worst: null };
  leaves.forEach((leaf, k) => {
    if (skip.has(k)) return;
    const analytic = leaf.grad?.toArray() ?? new Float32Array(leaf.size);
    for (let i = 0; i < leaf.size; i++) {
      const plus = data.map((d) => d.slice());
      const minus = data.map((d) => d.slice());
      (plus[k] as Float32Array)[i] = ((data[k] as Float32Array)[i] as number) + step;
      (minus[k] as Float32Array)[i] = ((data[k] as Float32Array)[i] as number) - step;
      const numeric = (loss(plus) - loss(minus)) / (2 * step);
      const error = Math.abs((analytic[i] as number) - numeric) / (1 + Math.abs(numeric));
      if (!(error <= report.maxError)) report = { maxError: error, worst: { input: k, element: i, analytic: analytic[i] as number, numeric } };
    }
  });
  return report;
}

/** Calls per batch so that one batch of `fn` takes about `batchMs` milliseconds. */
function calibrate(fn: () => unknown, batchMs: number): number {
  for (let i = 0; i < 3; i++) fn();
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    if (performance.now() - t0 > batchMs) return n;
    n *= 2;
  }
}

/** Options for {@link timeInterleaved}. */
export interface TimingOptions {
  /** Batches per contender (default 5); the median is reported. */
  repeats?: number;
  /** Target duration of one batch in milliseconds (default 60). */
  batchMs?: number;
}

/**
 * Benchmark helper: times several contenders with their batches interleaved (A, B, A, B, …), so a
 * change in the machine's load hits all of them alike. Returns each one's median microseconds per
 * call. Benchmarks report ratios of these, never absolute limits.
 * @param fns - the functions to time
 * @param options - rounds and warm-up
 */
export function timeInterleaved(fns: readonly (() => unknown)[], options: TimingOptions = {}): number[] {
  const repeats = options.repeats ?? 5;
  const counts = fns.map((fn) => calibrate(fn, options.batchMs ?? 60));
  const samples: number[][] = fns.map(() => []);
  for (let r = 0; r < repeats; r++) {
    fns.forEach((fn, j) => {
      const n = counts[j] as number;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn();
      (samples[j] as number[]).push(((performance.now() - t0) * 1000) / n);
    });
  }
  return samples.map((s) => [...s].sort((a, b) => a - b)[Math.floor(repeats / 2)] as number);
}
