/**
 * What the two ways of training on every core share (Node's worker_threads in `./gradient-workers.ts`, the browser's
 * Web Workers in `./web-gradient-workers.ts`): the interfaces, the thread-count checks, the fixed split of a step's
 * work and the fixed order in which the workers' gradients are added. Neither Node's modules nor the browser's.
 */
import { tensor } from './create.js';
import { EngramError } from './errors.js';
import type { OptimizerKernels } from './backend.js';
import { type Optimizer, type StepOptions, addSquares, plainSgd } from './optim.js';
import type { Tensor } from './tensor.js';

/**
 * The fewest floats in a stretch that the sums, norms and updates below hand to the backend's native kernels (where it
 * has them: the CPU backend's WebAssembly module), which copy them in and out: below it the JavaScript loops are as fast.
 */
export const NATIVE_STRETCH_MIN_FLOATS = 4096;

/** The most threads a gradient-worker pool starts (a guard against a mistyped count, not a design limit). */
export const MAX_THREADS = 64;

/**
 * What a worker's setup function returns: the replica's parameters and how to compute one shard.
 * @typeParam Shard - what the main thread sends each step
 * @typeParam Result - what the worker sends back (structured-cloneable: numbers, typed arrays, plain objects)
 */
export interface GradientReplica<Shard, Result> {
  /** The replica's parameters, in the same order and shapes as the main thread's. */
  params: readonly Tensor[];
  /**
   * Runs the forward and backward pass on one shard (leaving the gradients in the parameters) and returns what the main thread needs.
   * @param shard - what the main thread sent for this step
   */
  compute(shard: Shard): Result;
}

/** Threads started for training: how many, and how to stop them (what every model's workers have). */
export interface WorkerThreads {
  /** Threads in use, this one included. */
  readonly threads: number;
  /** Stops the workers. */
  close(): Promise<void>;
}

/** Workers started by `startGradientWorkers` (Node) or `startWebGradientWorkers` (browser). */
export interface GradientWorkers extends WorkerThreads {
  /**
   * One step's gradients on every thread: hands the current weights and `shards[i + 1]` to worker i (fewer shards
   * than threads leave the last workers idle this step), runs `local(shards[0])` on this thread (which leaves its
   * gradients in the parameters' `grad`, by calling `backward()`), waits for the workers and adds their gradients
   * to each parameter's `grad` in worker order. Clear the gradients before (`optimizer.zeroGrad()`).
   * @param shards - at most one per thread, this thread's first
   * @param local - computes this thread's shard
   * @returns the results, this thread's first
   */
  run<Shard, Result>(shards: readonly Shard[], local: (shard: Shard) => Result): Promise<Result[]>;
  /**
   * The global L2 norm of the gradients the last {@link GradientWorkers.run} left in the parameters: where the threads
   * summed them, from each thread's sum of the squares of its stretch (`gradientNorm(params)` up to the order of the
   * sums); otherwise `gradientNorm(params)`. Call it after `run`.
   */
  gradientNorm(): number;
  /**
   * One optimizer step from the gradients the last {@link GradientWorkers.run} left. With plain SGD (`SGD` without
   * momentum) over these parameters, gradients the threads summed and neither weights nor gradients changed since,
   * every thread updates its stretch of the parameters (the same bits as `optimizer.step(options)`) and the new
   * weights are the ones the next `run` hands the workers, without a copy; otherwise `optimizer.step(options)`.
   * @param optimizer - the optimizer over the parameters the workers were started with
   * @param options - the gradient scale (global-norm clipping) and clip, as `optimizer.step`'s
   */
  step(optimizer: Optimizer, options?: StepOptions): Promise<void>;
}

/**
 * The norm and the step a model's gradient source may take from its workers (both optional in the model packages'
 * `…Gradients` interfaces, which default to `gradientNorm(params)` and `optimizer.step(options)`).
 */
export type SharedStep = Pick<GradientWorkers, 'gradientNorm' | 'step'>;

/**
 * The threads a pool starts, this one included: `threads`, at most `most` (the shards a step splits into).
 * @param threads - threads asked for, this one included
 * @param most - the most threads worth starting (default no limit)
 */
export function threadsToStart(threads: number, most: number = MAX_THREADS): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
    throw new EngramError(`threads must be an integer in 1..${MAX_THREADS}, got ${threads}`);
  if (!Number.isInteger(most) || most < 1)
    throw new EngramError(`gradient workers: 'most' (the shards a step splits into) must be a positive integer, got ${most}`);
  return Math.min(threads, most);
}

/**
 * Where `length` items split into `parts` consecutive parts of equal size (±1): the `[start, end)` of each, in order.
 * A fixed split, so the same step always sums the same pieces in the same order.
 * @param length - how many items
 * @param parts - how many parts (some are empty when parts > length)
 */
export function splitEvenly(length: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i) => [Math.floor((i * length) / parts), Math.floor(((i + 1) * length) / parts)]);
}

/**
 * A zero-filled Float32Array of `length` floats in a new SharedArrayBuffer (at least one float: a buffer of none
 * cannot be shared).
 * @param length - how many floats
 */
export function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, length) * 4)).subarray(0, length);
}

/**
 * Calls `visit` for each parameter's share of the stretch [start, end) of the flat parameter layout: the parameter's
 * index, where the share starts within the parameter, where it starts in the flat layout, and its length.
 * @param sizes - each parameter's size, in order
 * @param start - where the stretch starts in the flat layout
 * @param end - where it ends (exclusive)
 * @param visit - called once per parameter the stretch covers part of, in order
 */
export function forEachStretch(
  sizes: readonly number[],
  start: number,
  end: number,
  visit: (param: number, at: number, offset: number, n: number) => void,
): void {
  let offset = 0;
  for (let param = 0; param < sizes.length && offset < end; param++) {
    const size = sizes[param] as number;
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + size);
    if (to > from) visit(param, from - offset, from, to - from);
    offset += size;
  }
}

/**
 * Σ x² over `values[start, end)` in float64 (four running sums, as `gradientNorm`'s): one thread's share of a global
 * norm.
 * @param values - the flat values
 * @param start - the first index
 * @param end - one past the last
 * @param native - the backend's native kernels, used for a long stretch (the same bits)
 */
export function sumOfSquares(values: Float32Array, start: number, end: number, native?: OptimizerKernels): number {
  const sums = new Float64Array(4);
  // The native sum adds element start + i to sums[i % 4] and a tail to sums[0], as addSquares does: the same bits.
  if (native !== undefined && end - start >= NATIVE_STRETCH_MIN_FLOATS) native.sumOfSquares(values.subarray(start, end), sums);
  else addSquares(values, sums, start, end);
  return (sums[0] as number) + (sums[1] as number) + (sums[2] as number) + (sums[3] as number);
}

/** The parameters' values, flat in parameter order (what every worker loads before a step). */
export function flatValues(params: readonly Tensor[], into: Float32Array): Float32Array {
  let offset = 0;
  for (const p of params) {
    into.set(p.dataSync(), offset);
    offset += p.size;
  }
  return into;
}

/**
 * Sets each parameter's `grad` to this thread's gradient plus the workers', added in worker order:
 * ((this thread's + worker 0's) + worker 1's) + …, so the same threads give the same bits every time.
 * @param params - the parameters, in the order the workers' gradients are laid out
 * @param workerGradients - each busy worker's gradients, flat in parameter order
 */
export function addWorkerGradients(params: readonly Tensor[], workerGradients: readonly Float32Array[]): void {
  let offset = 0;
  for (const p of params) {
    const n = p.size;
    const sum = new Float32Array(n);
    addGradients(sum, 0, p.grad === null ? null : p.grad.dataSync(), 0, workerGradients, offset, n, p.backend.optimizers);
    p.grad = tensor(sum, p.shape, { backend: p.backend, copy: false });
    offset += n;
  }
}

/**
 * The sum of one stretch of the flat gradients, in the order of {@link addWorkerGradients}:
 * `into[intoAt + i] = ((mine[mineAt + i] + workers[0][at + i]) + workers[1][at + i]) + …` for i in [0, n), a
 * missing gradient (`mine` null) counting as zeros.
 * @param into - where the sums go
 * @param intoAt - where in `into` the stretch starts
 * @param mine - this thread's gradients (null: none)
 * @param mineAt - where in `mine` the stretch starts
 * @param workers - each busy worker's gradients, flat in parameter order
 * @param at - where in the workers' gradients the stretch starts
 * @param n - its length
 * @param native - the backend's native kernels, used for a long stretch (the same bits)
 */
export function addGradients(
  into: Float32Array,
  intoAt: number,
  mine: Float32Array | null,
  mineAt: number,
  workers: readonly Float32Array[],
  at: number,
  n: number,
  native?: OptimizerKernels,
): void {
  const first = workers[0];
  if (first === undefined) {
    if (mine === null) into.fill(0, intoAt, intoAt + n);
    else into.set(mine.subarray(mineAt, mineAt + n), intoAt);
    return;
  }
  if (native !== undefined && n >= NATIVE_STRETCH_MIN_FLOATS) {
    const parts = [mine === null ? null : mine.subarray(mineAt, mineAt + n), ...workers.map((theirs) => theirs.subarray(at, at + n))];
    native.sumArrays(into.subarray(intoAt, intoAt + n), parts);
    return;
  }
  if (mine === null) for (let i = 0; i < n; i++) into[intoAt + i] = 0 + (first[at + i] as number);
  else for (let i = 0; i < n; i++) into[intoAt + i] = (mine[mineAt + i] as number) + (first[at + i] as number);
  for (let w = 1; w < workers.length; w++) {
    const theirs = workers[w] as Float32Array;
    for (let i = 0; i < n; i++) into[intoAt + i] = (into[intoAt + i] as number) + (theirs[at + i] as number);
  }
}

/**
 * A replica's parameters checked against the model's sizes; the message names both counts.
 * @param replica - the parameters the worker built
 * @param sizes - the main thread's parameter sizes, in order
 */
export function checkReplica(replica: readonly Tensor[], sizes: readonly number[]): void {
  const mine = replica.map((p) => p.size);
  if (mine.length !== sizes.length || mine.some((s, i) => s !== sizes[i]))
    throw new EngramError(`the replica's parameters (${mine.length}) differ from the model's (${sizes.length}) in number or size`);
}

/**
 * The replies of a pool's workers, each worker answering one message at a time: `next(worker)` waits for its next
 * reply; `received` hands one over, and an `{ error }` reply fails it and every later wait (a step that failed on one
 * thread leaves the others' replies unmatched: the workers are done for); `failed` does the same for a crash or an
 * exit.
 * @typeParam W - a worker
 * @typeParam R - a reply that is not an error
 */
export class WorkerReplies<W, R> {
  private readonly waiting = new Map<W, { resolve: (reply: R) => void; reject: (error: Error) => void }>();
  /** The first failure; every wait after it fails with it. */
  failure: Error | undefined;

  /**
   * The worker's next reply.
   * @param worker - the worker
   */
  next(worker: W): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.failure) reject(this.failure);
      else this.waiting.set(worker, { resolve, reject });
    });
  }

  /**
   * A reply came from the worker.
   * @param worker - the worker
   * @param reply - what it sent: an `{ error }` fails the pool
   */
  received(worker: W, reply: R | { error: string }): void {
    const pending = this.waiting.get(worker);
    this.waiting.delete(worker);
    if (reply !== null && typeof reply === 'object' && 'error' in reply) {
      this.failure ??= new EngramError(`gradient worker: ${(reply as { error: string }).error}`);
      pending?.reject(this.failure);
    } else pending?.resolve(reply as R);
  }

  /**
   * The worker crashed or exited.
   * @param worker - the worker
   * @param error - what happened
   */
  failed(worker: W, error: Error): void {
    this.failure ??= error;
    this.waiting.get(worker)?.reject(this.failure);
    this.waiting.delete(worker);
  }

  /**
   * Throws unless a step of `shards` shards can run on `threads` threads of a pool that has not failed.
   * @param shards - the step's shards
   * @param threads - the pool's threads, this one included
   */
  checkStep(shards: number, threads: number): void {
    if (shards < 1 || shards > threads) throw new EngramError(`gradient workers: expected 1..${threads} shards (at most one per thread), got ${shards}`);
    if (this.failure) throw this.failure;
  }
}

/**
 * Plain SGD over one stretch, {@link plainSgd}'s `out[i] = value[i] − η·clip(g[i]·scale)`: through the backend's
 * native update for a long stretch (the same bits), else in JavaScript.
 * @param value - the stretch's weights
 * @param grad - its summed gradients
 * @param out - where the new weights go
 * @param learningRate - η
 * @param scale - the gradients' scale (norm clipping)
 * @param limit - each scaled gradient's bound (Infinity: none)
 * @param native - the backend's native kernels
 */
export function sgdStretch(
  value: Float32Array,
  grad: Float32Array,
  out: Float32Array,
  learningRate: number,
  scale: number,
  limit: number,
  native?: OptimizerKernels,
): void {
  if (native !== undefined && value.length >= NATIVE_STRETCH_MIN_FLOATS) native.sgd(value, grad, { scale, limit, prepare: true, learningRate }, out);
  else plainSgd(value, grad, out, learningRate, scale, limit);
}
