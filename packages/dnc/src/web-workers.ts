/**
 * `@engram/dnc/web-workers`: training the DNC on every core of a browser (Web Workers); the counterpart of
 * `@engram/dnc/workers` (Node's worker_threads).
 *
 * @packageDocumentation
 */
import { type SequenceWorkers, createWebSequenceWorkers } from '@engram/ntm/web-workers';
import type { WebWorkerLike } from '@engram/tensor/web-workers';
import type { DncWorkerData } from './dnc-worker.js';
import { type DncModel, dncRecurrent } from './model.js';

export type { DncWorkerData } from './dnc-worker.js';

/** Options of {@link createDncWebWorkers}. */
export interface DncWebWorkersOptions {
  /**
   * Starts one worker running `@engram/dnc`'s `dnc-web-worker.js`. The default,
   * `new Worker(new URL('./dnc-web-worker.js', import.meta.url), { type: 'module' })`, is the form bundlers such as
   * Vite find and bundle; pass your own where a bundler needs the script elsewhere.
   */
  create?: () => WebWorkerLike;
}

/**
 * Web Workers for training a DNC on every core of a browser: each batch's sequences are split among the threads,
 * each worker holding a replica; pass the result as `gradients` to @engram/ntm's `trainNtm` (with
 * `dncRecurrent(model)`), and `close()` it when training ends. At most `batch` threads are used. N threads give one
 * thread's result up to the order of floating-point sums, and the same bits as `createDncWorkers` in Node.
 * @param model - the DNC being trained
 * @param threads - threads in all, this one included (`navigator.hardwareConcurrency` for every core)
 * @param batch - sequences per batch (the recipe's)
 * @param options - how to start a worker
 * @example
 * ```ts
 * import { createDncWebWorkers } from '@engram/dnc/web-workers';
 * const { model, ...start } = newDnc('repeat-copy', 1);
 * const workers = await createDncWebWorkers(model, navigator.hardwareConcurrency, DNC_RECIPE.batch);
 * try {
 *   await trainNtm(dncRecurrent(model), 'repeat-copy', { resume: start, recipe: DNC_RECIPE, gradients: workers });
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export function createDncWebWorkers(model: DncModel, threads: number, batch: number, options: DncWebWorkersOptions = {}): Promise<SequenceWorkers> {
  const init: DncWorkerData = { config: model.config };
  const create = options.create ?? (() => new Worker(new URL('./dnc-web-worker.js', import.meta.url), { type: 'module' }) as unknown as WebWorkerLike);
  return createWebSequenceWorkers(dncRecurrent(model), threads, batch, { create, init });
}
