/**
 * Data parallelism on every core (Node's worker_threads), for any model: each step's work is split into one
 * shard per thread; this thread computes the first, each worker a replica of the model the others. The
 * weights go to the workers and their gradients come back through shared memory. The gradients are summed
 * in worker order, each thread summing one stretch of them (this thread the first), so N threads give one
 * thread's result up to the order of floating-point sums, and the same N gives the same numbers every time.
 * A model package supplies the worker script (a module that calls {@link serveGradients}) and the shards;
 * this module owns the threads, the shared memory and the sums.
 *
 * With plain SGD the threads share the update too ({@link GradientWorkers.step}): each writes its stretch of
 * the new weights, which become the parameters and the next step's weights for the workers.
 *
 * Shared memory that becomes tensor storage (the weights a worker computes with, the summed gradients, the
 * weights a shared step writes) is fresh every step and never written again once handed over, as every
 * storage array (the matmul operand cache relies on it); the buffers written every step (each worker's
 * gradients, this thread's copy of its own) are only ever read by the sums.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { EngramError } from './errors.js';
import type { Tensor } from './tensor.js';
import type { WebWorkerLike } from './web-gradient-workers.js';
import { tensor } from './create.js';
import { type Optimizer, SGD, type StepOptions, gradientNorm, stepSettings } from './optim.js';
import {
  type GradientReplica,
  type GradientWorkers,
  WorkerReplies,
  addGradients,
  checkReplica,
  flatValues,
  forEachStretch,
  sgdStretch,
  sharedFloats,
  splitEvenly,
  sumOfSquares,
  threadsToStart,
} from './worker-pool.js';

export { type GradientReplica, type GradientWorkers, MAX_THREADS, type SharedStep, type WorkerThreads, splitEvenly } from './worker-pool.js';

/**
 * The fewest gradient floats in all whose sum the workers share: below it this thread sums them alone. A round of
 * messages to a worker and back took ~70 µs, as long as adding ~10 Ki floats (2-core machine, Node 20).
 */
export const PARALLEL_SUM_MIN_FLOATS = 32768;

/** What a worker thread receives at start (built by {@link startGradientWorkers}). */
interface WorkerStart {
  /** The model package's own start data (its config, shared text…). */
  init: unknown;
  /** Every worker's gradients, flat in parameter order, one slice per worker. */
  grads: SharedArrayBuffer;
  /** The main thread's own gradients, flat in parameter order (written where workers sum them). */
  mainGrads: SharedArrayBuffer;
  /** This worker's index: its slice of `grads`. */
  index: number;
  /** The size of each parameter, in order: a replica of another shape is refused at start. */
  sizes: number[];
  /** Counters written with Atomics after shared writes and read before shared reads: [main thread's writes, workers' writes]. */
  control: SharedArrayBuffer;
}

/**
 * The main thread's message to a worker: a shard to compute with these weights, a stretch of the gradients to sum, or
 * a stretch of the parameters to update by plain SGD.
 */
type WorkerRequest =
  | { shard: unknown; weights: Float32Array }
  | {
      /** Where the sums go (fresh this step: it becomes the parameters' gradients). */
      sums: Float32Array;
      /** The stretch of the flat gradients to sum, [start, end). */
      start: number;
      end: number;
      /** How many workers computed a shard this step (the first ones). */
      busy: number;
    }
  | {
      /** θ ← θ − η·clip(g·scale) over [start, end): from these weights and summed gradients into `next` (fresh). */
      update: { weights: Float32Array; sums: Float32Array; next: Float32Array; learningRate: number; scale: number; limit: number };
      start: number;
      end: number;
    };

/** A worker's message to the main thread. */
type WorkerReply = { ready: true } | { result: unknown } | { summed: true; squares: number } | { updated: true } | { error: string };

/** How a step's sum is split among the threads. */
interface SumSplit {
  /** The workers that computed a shard this step. */
  busy: readonly Worker[];
  /** Those of them that sum a stretch (none where the gradients are small). */
  helpers: readonly Worker[];
  /** The stretches of the flat gradients, [start, end): this thread's first, then one per helper. */
  parts: [number, number][];
  /** Where this thread's stretch ends (the others' gradients start there). */
  mineEnd: number;
}

/** What the last step's sum left: where the threads' gradients and weights are, and which tensors hold them. */
interface SharedSum {
  /** The step's weights, flat (what the workers computed with). */
  weights: Float32Array;
  /** The summed gradients, flat: the parameters' `grad` are views of it. */
  sums: Float32Array;
  /** Σ g² over all of them, from each thread's stretch. */
  squares: number;
  /** The stretches: this thread's first, then one per worker that summed. */
  parts: [number, number][];
  /** The parameters' storage and gradients when the sum was made (a step on the threads needs both unchanged). */
  values: Float32Array[];
  grads: (Tensor | null)[];
}

/** Options of {@link startGradientWorkers}. */
export interface GradientWorkersOptions {
  /** The worker module: a script that calls {@link serveGradients} (see {@link workerScript}). */
  script: URL;
  /** The parameters being trained, in a fixed order (`parameterList(model.params)`). */
  params: readonly Tensor[];
  /** Handed to the worker's setup function (a structured clone; a SharedArrayBuffer inside is shared, not copied). */
  init: unknown;
  /** Threads asked for, this one included (1: no workers). */
  threads: number;
  /** The most threads worth starting: how many shards a step splits into at most (a batch of 4 sequences: 4). Default no limit. */
  most?: number;
}

/**
 * A worker script shipped beside the calling module: `file` next to `moduleUrl` in a built package (dist/),
 * or in the package's dist/ when the caller runs from its TypeScript source (tests).
 * @param moduleUrl - the caller's `import.meta.url`
 * @param file - the worker script's file name, e.g. `'lm-worker.js'`
 */
export function workerScript(moduleUrl: string, file: string): URL {
  const beside = new URL(`./${file}`, moduleUrl);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL(`../dist/${file}`, moduleUrl);
}

/**
 * Starts `threads − 1` worker threads running `script` (fewer when `most` is smaller), each building its replica
 * of the model from `init`, and resolves once every replica is ready (a replica whose parameters differ in number
 * or size is refused).
 * @param options - the worker script, the parameters, the start data and the number of threads
 * @example
 * ```ts
 * const workers = await startGradientWorkers({ script: workerScript(import.meta.url, 'my-worker.js'), params, init: config, threads: 2 });
 * try {
 *   optimizer.zeroGrad();
 *   const losses = await workers.run(shards, (shard) => { const loss = myLoss(model, shard); loss.backward(); return loss.item(); });
 *   optimizer.step();
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export async function startGradientWorkers(options: GradientWorkersOptions): Promise<GradientWorkers> {
  const { params } = options;
  const threads = threadsToStart(options.threads, options.most);
  const sizes = params.map((p) => p.size);
  const total = sizes.reduce((n, s) => n + s, 0);
  const sharedGrads = new SharedArrayBuffer(Math.max(1, (threads - 1) * total) * 4);
  const sharedMainGrads = new SharedArrayBuffer(Math.max(1, threads > 1 ? total : 1) * 4);
  const sharedControl = new SharedArrayBuffer(8);
  const grads = new Float32Array(sharedGrads);
  const mainGrads = new Float32Array(sharedMainGrads);
  const control = new Int32Array(sharedControl);
  // The sums, norms and updates of long stretches run on the backend's native kernels where it has them.
  const native = params[0]?.backend.optimizers;

  const workers = Array.from({ length: threads - 1 }, (_, index) => {
    const start: WorkerStart = { init: options.init, grads: sharedGrads, mainGrads: sharedMainGrads, index, sizes, control: sharedControl };
    return new Worker(options.script, { workerData: start });
  });
  // Each worker answers one message at a time; a crash or an early exit fails whatever is waiting on it.
  const replies = new WorkerReplies<Worker, WorkerReply>();
  for (const worker of workers) {
    worker.on('message', (reply: WorkerReply) => replies.received(worker, reply));
    worker.on('error', (error) => replies.failed(worker, error));
    worker.on('exit', (code) => replies.failed(worker, new EngramError(`gradient worker: exited (code ${code})`)));
  }
  const next = (worker: Worker) => replies.next(worker);
  const ask = (worker: Worker, request: WorkerRequest) => {
    const reply = next(worker);
    worker.postMessage(request);
    return reply;
  };
  /** How a step's sum is split: once a step, before this thread shares its gradients and the threads sum them. */
  const sumSplit = (busy: readonly Worker[]): SumSplit => {
    // Small gradients are summed here alone: a message to a worker costs more than the sum.
    const helpers = total >= PARALLEL_SUM_MIN_FLOATS ? busy : [];
    const parts = splitEvenly(total, helpers.length + 1);
    return { busy, helpers, parts, mineEnd: (parts[0] as [number, number])[1] };
  };
  /** This thread's gradients where the workers read them, for every stretch but this thread's own. */
  const shareMine = ({ mineEnd }: SumSplit): void => {
    forEachStretch(sizes, mineEnd, total, (param, at, offset, n) => {
      const grad = params[param]?.grad ?? null;
      if (grad === null) mainGrads.fill(0, offset, offset + n);
      else mainGrads.set(grad.dataSync().subarray(at, at + n), offset);
    });
  };
  /**
   * Sets each parameter's `grad` to the sum of this thread's gradients and the busy workers', in worker order; each
   * thread sums one stretch of the flat gradients, this thread the first (read from its own arrays), each worker a
   * later one (reading this thread's gradients from `mainGrads`, put there by `shareMine`).
   */
  const sumGradients = async ({ busy, helpers, parts, mineEnd }: SumSplit, weights: Float32Array, values: Float32Array[]): Promise<SharedSum> => {
    Atomics.load(control, 1);
    const sums = sharedFloats(total);
    Atomics.add(control, 0, 1);
    const summed = helpers.map((worker, i) => {
      const [start, end] = parts[i + 1] as [number, number];
      return ask(worker, { sums, start, end, busy: busy.length });
    });
    const theirs = busy.map((_, w) => grads.subarray(w * total, (w + 1) * total));
    forEachStretch(sizes, 0, mineEnd, (param, at, offset, n) => {
      const grad = params[param]?.grad ?? null;
      addGradients(sums, offset, grad === null ? null : grad.dataSync(), at, theirs, offset, n, native);
    });
    let squares = sumOfSquares(sums, 0, mineEnd, native);
    for (const reply of await Promise.all(summed)) squares += (reply as { squares: number }).squares;
    Atomics.load(control, 1);
    let offset = 0;
    for (const p of params) {
      p.grad = tensor(sums.subarray(offset, offset + p.size), p.shape, { backend: p.backend, copy: false });
      offset += p.size;
    }
    return { weights, sums, squares, parts, values, grads: params.map((p) => p.grad) };
  };
  /** The last step's sum while its weights and gradients are still the parameters'; null otherwise. */
  let lastSum: SharedSum | null = null;
  const currentSum = (): SharedSum | null =>
    lastSum !== null && params.every((p, i) => p.grad === lastSum?.grads[i] && p.dataSync() === lastSum?.values[i]) ? lastSum : null;
  /** The weights a plain-SGD step on the threads made, which the parameters hold as views while nothing replaced them. */
  let published: { weights: Float32Array; views: Float32Array[] } | null = null;
  const stepWeights = (): Float32Array => {
    if (published !== null && params.every((p, i) => p.dataSync() === published?.views[i])) return published.weights;
    return flatValues(params, sharedFloats(total));
  };
  const close = async () => {
    for (const worker of workers) worker.removeAllListeners('exit');
    await Promise.all(workers.map((worker) => worker.terminate()));
  };
  try {
    await Promise.all(workers.map(next));
  } catch (error) {
    await close();
    throw error;
  }

  return {
    threads,
    async run<Shard, Result>(shards: readonly Shard[], local: (shard: Shard) => Result): Promise<Result[]> {
      replies.checkStep(shards.length, threads);
      // Workers past the last shard sit this step out.
      const busy = workers.slice(0, shards.length - 1);
      lastSum = null;
      if (busy.length === 0) return [local(shards[0] as Shard)];
      const weights = stepWeights();
      const values = params.map((p) => p.dataSync());
      Atomics.add(control, 0, 1);
      const answers = busy.map((worker, i) => ask(worker, { shard: shards[i + 1], weights }));
      const mine = local(shards[0] as Shard);
      // While the workers may still be computing: they read mainGrads only when asked to sum.
      const split = sumSplit(busy);
      shareMine(split);
      const theirs = await Promise.all(answers);
      lastSum = await sumGradients(split, weights, values);
      return [mine, ...theirs.map((reply) => (reply as { result: Result }).result)];
    },
    gradientNorm(): number {
      const sum = currentSum();
      return sum === null ? gradientNorm(params) : Math.sqrt(sum.squares);
    },
    async step(optimizer: Optimizer, options: StepOptions = {}): Promise<void> {
      const sum = currentSum();
      const sameParams = optimizer.params.length === params.length && optimizer.params.every((p, i) => p === params[i]);
      if (sum === null || !(optimizer instanceof SGD) || !optimizer.isPlain || !sameParams) {
        optimizer.step(options);
        return;
      }
      const { scale, limit } = stepSettings(options);
      const { learningRate } = optimizer;
      const { weights, sums, parts } = sum;
      const next = sharedFloats(total);
      Atomics.add(control, 0, 1);
      const updated = parts
        .slice(1)
        .map(([start, end], i) => ask(workers[i] as Worker, { update: { weights, sums, next, learningRate, scale, limit }, start, end }));
      const [start, end] = parts[0] as [number, number];
      sgdStretch(weights.subarray(start, end), sums.subarray(start, end), next.subarray(start, end), learningRate, scale, limit, native);
      await Promise.all(updated);
      Atomics.load(control, 1);
      // What optimizer.step would have counted; plain SGD keeps no other state.
      optimizer.stepCount++;
      const views: Float32Array[] = [];
      let offset = 0;
      for (const p of params) {
        const view = next.subarray(offset, offset + p.size);
        p.assign(view);
        views.push(view);
        offset += p.size;
      }
      published = { weights: next, views };
      lastSum = null;
    },
    close,
  };
}

/**
 * The worker side of {@link startGradientWorkers}: call it once at the top level of a worker script. `setup`
 * builds the replica from the start data; then for each shard the worker loads the current weights from
 * shared memory, clears its gradients, runs `compute`, writes the gradients into its slice of shared memory
 * and sends the result back. An error in `setup` or `compute` is sent to the main thread, which throws it.
 * @param setup - builds the replica from the `init` given to {@link startGradientWorkers}
 * @example
 * ```ts
 * // my-worker.ts
 * serveGradients((config: MyConfig) => {
 *   const model = createMyModel(config, new Random(0)); // the weights come from the main thread each step
 *   return { params: parameterList(model.params), compute: (shard) => { const loss = myLoss(model, shard); loss.backward(); return loss.item(); } };
 * });
 * ```
 */
export function serveGradients<Init, Shard, Result>(setup: (init: Init) => GradientReplica<Shard, Result>): void {
  const port = parentPort;
  if (port === null) throw new EngramError('serveGradients: not running in a worker thread');
  const start = workerData as WorkerStart;
  const reply = (message: WorkerReply) => port.postMessage(message);
  let replica: GradientReplica<Shard, Result>;
  try {
    replica = setup(start.init as Init);
    checkReplica(replica.params, start.sizes);
  } catch (error) {
    reply({ error: error instanceof Error ? error.message : String(error) });
    return;
  }
  const total = start.sizes.reduce((n, s) => n + s, 0);
  const native = replica.params[0]?.backend.optimizers;
  const grads = new Float32Array(start.grads);
  const mainGrads = new Float32Array(start.mainGrads);
  const control = new Int32Array(start.control);
  const computeShard = (shard: Shard, weights: Float32Array): unknown => {
    let offset = 0;
    for (const p of replica.params) {
      // The step's own weights, never written again: used in place (kernels may cache an operand by its array).
      p.assign(weights.subarray(offset, offset + p.size));
      p.grad = null;
      offset += p.size;
    }
    const result = replica.compute(shard);
    offset = start.index * total;
    for (const p of replica.params) {
      if (p.grad === null) grads.fill(0, offset, offset + p.size);
      else grads.set(p.grad.dataSync(), offset);
      offset += p.size;
    }
    return result;
  };
  port.on('message', (request: WorkerRequest) => {
    try {
      Atomics.load(control, 0);
      if ('shard' in request) {
        const result = computeShard(request.shard as Shard, request.weights);
        Atomics.add(control, 1, 1);
        reply({ result });
        return;
      }
      const { start: from, end } = request;
      if ('update' in request) {
        const { weights, sums, next, learningRate, scale, limit } = request.update;
        sgdStretch(weights.subarray(from, end), sums.subarray(from, end), next.subarray(from, end), learningRate, scale, limit, native);
        Atomics.add(control, 1, 1);
        reply({ updated: true });
        return;
      }
      const theirs = Array.from({ length: request.busy }, (_, w) => grads.subarray(w * total, (w + 1) * total));
      addGradients(request.sums, from, mainGrads, from, theirs, from, end - from, native);
      const squares = sumOfSquares(request.sums, from, end, native);
      Atomics.add(control, 1, 1);
      reply({ summed: true, squares });
    } catch (error) {
      reply({ error: error instanceof Error ? error.message : String(error) });
    }
  });
  reply({ ready: true });
}

/**
 * A browser Web Worker's module run on a Node worker thread, behind the {@link WebWorkerLike} interface that
 * `startWebGradientWorkers` takes: for testing Web Worker code (a `serveWebGradients` script, the `create` option of
 * `createNtmWebWorkers`) in Node, which has no Web Worker. The module sees `postMessage` and `onmessage` on its global
 * scope, as in a browser.
 * @param script - the Web Worker's module (a built `.js` or `.mjs` file)
 * @example
 * ```ts
 * const workers = await createNtmWebWorkers(model, 2, 16, {
 *   create: () => webWorkerOnThread(new URL('../node_modules/@engram/ntm/dist/ntm-web-worker.js', import.meta.url)),
 * });
 * ```
 */
export function webWorkerOnThread(script: URL): WebWorkerLike {
  const worker = new Worker(workerScript(import.meta.url, 'web-worker-thread.js'), { workerData: { script: script.href } });
  const like: WebWorkerLike = {
    onmessage: null,
    onerror: null,
    postMessage: (message, transfer) => worker.postMessage(message, transfer as never),
    terminate: () => void worker.terminate(),
  };
  worker.on('message', (data: unknown) => like.onmessage?.({ data }));
  worker.on('error', (error) => like.onerror?.({ message: error.message }));
  return like;
}
