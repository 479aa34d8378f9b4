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
import type * as FastCheck from 'fast-check';
import { noGrad } from './autograd.js';
import { Random } from './random.js';
import { sum } from './ops.js';
import { mul } from './primitives.js';
import { tensor } from './create.js';
import { EngramError } from './errors.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';
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

/**
 * Values a hostile or corrupt model file may hold in place of a config field: out of range, of the
 * wrong type, huge (a file of a few KB that asks for gigabytes), or a name that reaches a prototype.
 * The model packages' fuzz suites put each in every field of a config (with fast-check) and expect a
 * one-line error naming the field, or a model that loads — never a crash or a polluted prototype.
 */
export const HOSTILE_VALUES: readonly unknown[] = [
  -1,
  0,
  1.5,
  1e9,
  2 ** 31,
  Number.MAX_SAFE_INTEGER,
  1e308,
  -0,
  null,
  'x',
  '1',
  true,
  [],
  [1],
  {},
  JSON.parse('{"__proto__":{"polluted":true}}'),
  '__proto__',
  'constructor',
];

/** Tensor names a hostile file may hold so that a loader that builds paths from names reaches a prototype. */
export const HOSTILE_TENSOR_NAMES: readonly string[] = [
  '__proto__',
  'constructor',
  'params.__proto__',
  'params.__proto__.x',
  'params.constructor.prototype',
  'optimizer.__proto__.0',
  'optimizer.constructor.0',
  'state.__proto__.0',
];

/**
 * Every path to a leaf of a JSON value, as lists of keys (array indices included).
 * @param value - the JSON value
 * @param prefix - the path to `value` itself
 */
export function jsonLeafPaths(value: unknown, prefix: readonly (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => jsonLeafPaths(v, [...prefix, i]));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => jsonLeafPaths(v, [...prefix, k]));
  return [[...prefix]];
}

/**
 * A deep copy of a JSON value with the leaf at `path` replaced by `replacement`.
 * @param value - the JSON value (not changed)
 * @param path - the keys to the leaf, from {@link jsonLeafPaths}
 * @param replacement - what to put there
 */
export function withJsonLeaf(value: unknown, path: readonly (string | number)[], replacement: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as Record<string | number, unknown>;
  if (path.length === 0) return replacement;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  Object.defineProperty(node, path[path.length - 1] as string | number, { value: replacement, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** A model file made hostile by {@link hostileModelFile}: its bytes, the field it changed, the tensor it added. */
export interface HostileModelFile {
  /** The file's contents. */
  bytes: Uint8Array;
  /** The changed field's key (the last named key on its path); '' when no field was changed. */
  field: string;
  /** The hostile tensor name added, or null. */
  tensorName: string | null;
}

/**
 * A copy of a good model file with one leaf of a JSON metadata entry replaced and, optionally, a
 * tensor with a hostile name added. Fuzz suites pick the path, value and name with fast-check.
 * @param good - a model file that loads
 * @param key - the metadata entry holding JSON (`config`, say)
 * @param path - the leaf to replace, from {@link jsonLeafPaths} of that entry
 * @param value - the replacement, e.g. one of {@link HOSTILE_VALUES}
 * @param tensorName - a tensor name to add (e.g. one of {@link HOSTILE_TENSOR_NAMES}), or null
 */
export function hostileModelFile(
  good: Uint8Array,
  key: string,
  path: readonly (string | number)[],
  value: unknown,
  tensorName: string | null,
): HostileModelFile {
  const { tensors, metadata } = loadSafetensors(good);
  const json = JSON.parse(metadata[key] as string) as unknown;
  const extra = tensorName === null ? {} : { [tensorName]: tensor([1]) };
  const bytes = saveSafetensors({ ...tensors, ...extra }, { ...metadata, [key]: JSON.stringify(withJsonLeaf(json, path, value)) });
  return { bytes, field: String([...path].reverse().find((k) => typeof k === 'string') ?? key), tensorName };
}

/**
 * What is wrong with how `load` treated a hostile file, or null when nothing is: it must either
 * load or throw an {@link EngramError} naming the changed field, the hostile tensor, or (when a valid
 * value makes the config disagree with the weights) the parameters that do not match; it must refuse
 * any hostile tensor name, and must leave Object.prototype untouched.
 * @param file - the hostile file
 * @param load - the loader under test
 */
export function refusalProblem(file: HostileModelFile, load: (bytes: Uint8Array) => unknown): string | null {
  return judgeRefusal(file, () => load(file.bytes));
}

/**
 * {@link refusalProblem} for an asynchronous loader (one that reads a file, say): the same judgement of
 * what it resolves or rejects with.
 * @param file - the hostile file
 * @param load - the loader under test
 */
export async function refusalProblemAsync(file: HostileModelFile, load: (bytes: Uint8Array) => Promise<unknown>): Promise<string | null> {
  const error = await load(file.bytes).then(
    () => null,
    (e: unknown) => e,
  );
  return judgeRefusal(file, () => {
    if (error !== null) throw error;
  });
}

function judgeRefusal(file: HostileModelFile, run: () => unknown): string | null {
  let message: string | null = null;
  try {
    run();
  } catch (error) {
    if (!(error instanceof EngramError)) return `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    message = error.message;
  }
  if (Object.keys(Object.prototype).length > 0) return `Object.prototype was polluted: ${Object.keys(Object.prototype).join(', ')}`;
  if (file.tensorName !== null && message === null) return `loaded a file holding a tensor named '${file.tensorName}'`;
  // A valid value that makes the config disagree with the weights is refused by the weights' check.
  const named =
    message === null || message.includes(file.field) || (file.tensorName !== null && message.includes(file.tensorName)) || /parameter/.test(message);
  if (!named) return `the error names neither '${file.field}' nor a parameter: ${message}`;
  return null;
}

/** The fast-check functions the fuzz helpers use: pass `fc` from `import fc from 'fast-check'` (or the module namespace). */
export type FuzzChecker = Pick<typeof FastCheck, 'assert' | 'property' | 'asyncProperty' | 'constantFrom' | 'option' | 'nat' | 'integer'>;

/** How many files a fuzz property tries, and its seed (fast-check's `numRuns` and `seed`). */
export interface FileFuzzOptions {
  /** Files tried (default 500). */
  numRuns?: number;
  /** fast-check's seed (default 7), so a failure replays. */
  seed?: number;
}

/**
 * Fuzzes a loader with a hostile value ({@link HOSTILE_VALUES}) in any JSON leaf of one metadata entry of a good
 * file (its config, a vocabulary, a checkpoint's training state), with or without a hostile tensor name
 * ({@link HOSTILE_TENSOR_NAMES}). Each file must load, or be refused with one EngramError naming the problem, with
 * Object.prototype untouched ({@link refusalProblemAsync}); otherwise this rejects with fast-check's report (which
 * names the path, the value and the seed to replay). The model packages' fuzz suites are made of this and
 * {@link fuzzFileBytes}.
 * @param fc - the `fast-check` module (an optional peer dependency of this package)
 * @param good - a valid file
 * @param entry - the metadata entry to corrupt (its value must be JSON)
 * @param load - the loader under test (synchronous or not)
 * @param options - files tried and seed
 * @example
 * ```ts
 * import fc from 'fast-check';
 * it('refuses hostile configs', () => fuzzMetadataEntry(fc, ntmToSafetensors(model), 'config', (bytes) => ntmFromSafetensors(bytes, new Random(0))));
 * ```
 */
export async function fuzzMetadataEntry(
  fc: FuzzChecker,
  good: Uint8Array,
  entry: string,
  load: (bytes: Uint8Array) => unknown,
  options: FileFuzzOptions = {},
): Promise<void> {
  const text = loadSafetensors(good).metadata[entry];
  if (text === undefined) throw new EngramError(`fuzzMetadataEntry: the good file has no '${entry}' metadata`);
  const paths = jsonLeafPaths(JSON.parse(text));
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...paths),
      fc.constantFrom(...HOSTILE_VALUES),
      fc.option(fc.constantFrom(...HOSTILE_TENSOR_NAMES)),
      async (path, value, name) => {
        const problem = await refusalProblemAsync(hostileModelFile(good, entry, path, value, name ?? null), async (bytes) => load(bytes));
        if (problem !== null) throw new Error(problem);
      },
    ),
    { numRuns: options.numRuns ?? 500, seed: options.seed ?? 7 },
  );
}

/**
 * Fuzzes a loader with a good file's bytes flipped and the file cut short: each must load, or be refused with one
 * EngramError; otherwise this throws fast-check's report.
 * @param fc - the `fast-check` module (an optional peer dependency of this package)
 * @param good - a valid file
 * @param load - the loader under test (synchronous)
 * @param options - files tried and seed (default 500 and 8)
 */
export function fuzzFileBytes(fc: FuzzChecker, good: Uint8Array, load: (bytes: Uint8Array) => unknown, options: FileFuzzOptions = {}): void {
  fc.assert(
    fc.property(fc.nat({ max: good.length - 1 }), fc.nat({ max: 255 }), fc.integer({ min: 1, max: good.length }), (at, byte, cut) => {
      const bytes = good.slice(0, cut);
      if (at < bytes.length) bytes[at] = byte;
      const problem = refusalProblem({ bytes, field: '', tensorName: null }, load);
      if (problem !== null) throw new Error(problem);
    }),
    { numRuns: options.numRuns ?? 500, seed: options.seed ?? 8 },
  );
}
