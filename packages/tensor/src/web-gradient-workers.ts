/**
 * Data parallelism on every core in the browser (Web Workers), for any model: the same pool as Node's
 * `startGradientWorkers` (`@engram/tensor/workers`), with messages instead of shared memory, so a page needs no
 * cross-origin isolation. Each step the weights go to the workers in a message and each worker's gradients come back
 * in one (transferred, not copied); they are added here in worker order, so N threads give one thread's result up to
 * the order of floating-point sums, and the same N the same numbers every time.
 */
import { EngramError } from './errors.js';
import { type Optimizer, type StepOptions, gradientNorm } from './optim.js';
import type { Tensor } from './tensor.js';
import { type GradientReplica, type GradientWorkers, WorkerReplies, addWorkerGradients, checkReplica, flatValues, threadsToStart } from './worker-pool.js';

/** The part of a browser `Worker` the pool uses (a `new Worker(url, { type: 'module' })` is one). */
export interface WebWorkerLike {
  /**
   * Sends a message to the worker.
   * @param message - anything structured-cloneable
   * @param transfer - buffers that move instead of being copied
   */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Called with each message from the worker. */
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Called when the worker's script fails to load or throws outside a message. */
  onerror: ((event: { message?: string }) => void) | null;
  /** Stops the worker. */
  terminate(): void;
}

/** The worker's side of a {@link WebWorkerLike}: a dedicated worker's global scope (`self`). */
export interface WebWorkerScope {
  /**
   * Sends a message to the page.
   * @param message - anything structured-cloneable
   * @param transfer - buffers that move instead of being copied
   */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Called with each message from the page. */
  onmessage: ((event: { data: unknown }) => void) | null;
}

/** Options of {@link startWebGradientWorkers}. */
export interface WebGradientWorkersOptions {
  /**
   * Starts one worker running a script that calls {@link serveWebGradients}, e.g.
   * `() => new Worker(new URL('./my-worker.js', import.meta.url), { type: 'module' })` (written so, a bundler finds
   * and bundles the script).
   */
  create: () => WebWorkerLike;
  /** The parameters being trained, in a fixed order (`parameterList(model.params)`). */
  params: readonly Tensor[];
  /** Handed to the worker's setup function (a structured clone). */
  init: unknown;
  /** Threads asked for, this one included (1: no workers); `navigator.hardwareConcurrency` for every core. */
  threads: number;
  /** The most threads worth starting: how many shards a step splits into at most. Default no limit. */
  most?: number;
}

/** Page → worker. */
type WebRequest = { start: { init: unknown; sizes: number[] } } | { shard: unknown; weights: Float32Array };
/** Worker → page. */
type WebReply = { ready: true } | { result: unknown; gradients: Float32Array } | { error: string };

/**
 * Starts `threads − 1` Web Workers (fewer when `most` is smaller), each building its replica of the model from
 * `init`, and resolves once every replica is ready (a replica whose parameters differ in number or size is refused).
 * The browser counterpart of `startGradientWorkers`; the result has the same `run` and `close`.
 * @param options - how to start a worker, the parameters, the start data and the number of threads
 * @example
 * ```ts
 * const workers = await startWebGradientWorkers({
 *   create: () => new Worker(new URL('./my-worker.js', import.meta.url), { type: 'module' }),
 *   params, init: config, threads: navigator.hardwareConcurrency,
 * });
 * try {
 *   optimizer.zeroGrad();
 *   await workers.run(shards, (shard) => { const loss = myLoss(model, shard); loss.backward(); return loss.item(); });
 *   optimizer.step();
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export async function startWebGradientWorkers(options: WebGradientWorkersOptions): Promise<GradientWorkers> {
  const { params } = options;
  const threads = threadsToStart(options.threads, options.most);
  const sizes = params.map((p) => p.size);
  const total = sizes.reduce((n, s) => n + s, 0);
  const workers: WebWorkerLike[] = [];
  // Each worker answers one message at a time; a failure fails whatever waits on it, and every later step.
  const replies = new WorkerReplies<WebWorkerLike, WebReply>();
  const next = (worker: WebWorkerLike) => replies.next(worker);
  const close = async () => {
    for (const worker of workers) {
      worker.onmessage = null;
      worker.onerror = null;
      worker.terminate();
    }
  };
  try {
    for (let i = 0; i < threads - 1; i++) {
      const worker = options.create();
      workers.push(worker);
      worker.onmessage = ({ data }) => replies.received(worker, data as WebReply);
      worker.onerror = (event) => replies.failed(worker, new EngramError(`gradient worker: ${event.message || 'the worker script failed to load or run'}`));
    }
    const ready = workers.map(next);
    for (const worker of workers) worker.postMessage({ start: { init: options.init, sizes } } satisfies WebRequest);
    await Promise.all(ready);
  } catch (error) {
    await close();
    throw error;
  }
  const weights = new Float32Array(Math.max(1, total));

  return {
    threads,
    async run<Shard, Result>(shards: readonly Shard[], local: (shard: Shard) => Result): Promise<Result[]> {
      replies.checkStep(shards.length, threads);
      flatValues(params, weights);
      // Workers past the last shard sit this step out. Each gets its own copy of the weights (structured clone).
      const busy = workers.slice(0, shards.length - 1);
      const answers = busy.map((worker, i) => {
        const reply = next(worker);
        worker.postMessage({ shard: shards[i + 1], weights } satisfies WebRequest);
        return reply;
      });
      const mine = local(shards[0] as Shard);
      const theirs = (await Promise.all(answers)) as { result: Result; gradients: Float32Array }[];
      for (const reply of theirs)
        if (reply.gradients.length !== total) throw new EngramError(`gradient worker: sent ${reply.gradients.length} gradients, expected ${total}`);
      addWorkerGradients(
        params,
        theirs.map((reply) => reply.gradients),
      );
      return [mine, ...theirs.map((reply) => reply.result)];
    },
    // This thread sums the gradients alone, so the norm and the step are this thread's too.
    gradientNorm: () => gradientNorm(params),
    async step(optimizer: Optimizer, options?: StepOptions): Promise<void> {
      optimizer.step(options);
    },
    close,
  };
}

/**
 * The worker side of {@link startWebGradientWorkers}: call it once at the top level of a (module) worker script.
 * `setup` builds the replica from the start data; then for each shard the worker loads the weights that came with
 * it, clears its gradients, runs `compute` and sends the result and its gradients back. An error in `setup` or
 * `compute` is sent to the page, which throws it.
 * @param setup - builds the replica from the `init` given to {@link startWebGradientWorkers}
 * @param scope - where messages come from and go to (default: the worker's global scope, `self`)
 * @example
 * ```ts
 * // my-worker.ts
 * serveWebGradients((config: MyConfig) => {
 *   const model = createMyModel(config, new Random(0)); // the weights come from the page each step
 *   return { params: parameterList(model.params), compute: (shard) => { const loss = myLoss(model, shard); loss.backward(); return loss.item(); } };
 * });
 * ```
 */
export function serveWebGradients<Init, Shard, Result>(
  setup: (init: Init) => GradientReplica<Shard, Result>,
  scope: WebWorkerScope = globalThis as unknown as WebWorkerScope,
): void {
  let replica: GradientReplica<Shard, Result> | null = null;
  let total = 0;
  const reply = (message: WebReply, transfer: Transferable[] = []) => scope.postMessage(message, transfer);
  const failed = (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) });
  scope.onmessage = ({ data }) => {
    const request = data as WebRequest;
    if ('start' in request) {
      try {
        replica = setup(request.start.init as Init);
        checkReplica(replica.params, request.start.sizes);
        total = request.start.sizes.reduce((n, s) => n + s, 0);
        reply({ ready: true });
      } catch (error) {
        replica = null;
        failed(error);
      }
      return;
    }
    try {
      if (replica === null) throw new EngramError('a shard came before the replica was built');
      let offset = 0;
      for (const p of replica.params) {
        // The weights came as this message's own copy (a structured clone) and are never written: used in place.
        p.assign(request.weights.subarray(offset, offset + p.size));
        p.grad = null;
        offset += p.size;
      }
      const result = replica.compute(request.shard as Shard);
      const gradients = new Float32Array(Math.max(1, total)).subarray(0, total);
      offset = 0;
      for (const p of replica.params) {
        if (p.grad !== null) gradients.set(p.grad.dataSync(), offset);
        offset += p.size;
      }
      reply({ result, gradients }, [gradients.buffer]);
    } catch (error) {
      failed(error);
    }
  };
}
