/**
 * Data parallelism for the sequence models in the browser (Web Workers, through @engram/tensor's web gradient
 * workers): the batch's sequences split as in Node (`createSequenceWorkers`), the weights and gradients in messages.
 * Imported from `@engram/ntm/web-workers`.
 */
import { parameterList } from '@engram/tensor';
import { type WebWorkerLike, startWebGradientWorkers } from '@engram/tensor/web-workers';
import type { NtmModel } from './model.js';
import type { SequenceModel } from './recurrent.js';
import { type NtmWorkerData, type SequenceWorkers, sequenceWorkersOver } from './sequence-shards.js';

/**
 * Starts `threads − 1` Web Workers, each from `worker.create()` (a module worker whose script calls
 * `serveWebGradients` with a replica built from `init` and `shardGradients`); a batch's sequences are split among
 * the threads, so at most `batch` threads are used. {@link createNtmWebWorkers} wraps it for the NTM.
 * @param model - the model being trained (its weights go to the workers with every batch)
 * @param threads - threads in all, this one included (1: no workers)
 * @param batch - sequences per batch (the recipe's): more threads than this are not started
 * @param worker - how to start one worker, and what it builds its replica from
 */
export async function createWebSequenceWorkers(
  model: SequenceModel,
  threads: number,
  batch: number,
  worker: { create: () => WebWorkerLike; init: unknown },
): Promise<SequenceWorkers> {
  const workers = await startWebGradientWorkers({ create: worker.create, params: parameterList(model.params), init: worker.init, threads, most: batch });
  return sequenceWorkersOver(workers, model, batch);
}

/** Options of {@link createNtmWebWorkers}. */
export interface NtmWebWorkersOptions {
  /**
   * Starts one worker running `@engram/ntm`'s `ntm-web-worker.js` (or a script of your own that serves an NTM
   * replica). The default, `new Worker(new URL('./ntm-web-worker.js', import.meta.url), { type: 'module' })`, is the
   * form bundlers such as Vite find and bundle; pass your own where a bundler needs the script elsewhere.
   */
  create?: () => WebWorkerLike;
}

/**
 * Web Workers for training an NTM on every core of a browser: pass the result as `gradients` to `trainNtm`, and
 * `close()` it when training ends. At most `batch` threads are used (a batch of one runs on this thread alone).
 * N threads give one thread's result up to the order of floating-point sums.
 * @param model - the NTM being trained
 * @param threads - threads in all, this one included (`navigator.hardwareConcurrency` for every core)
 * @param batch - sequences per batch (the recipe's)
 * @param options - how to start a worker
 * @example
 * ```ts
 * import { createNtmWebWorkers } from '@engram/ntm/web-workers';
 * const { model, ...start } = newNtm('copy', 1, { recipe: { ...NTM_RECIPE, batch: 16 } });
 * const workers = await createNtmWebWorkers(model, navigator.hardwareConcurrency, 16);
 * try {
 *   await trainNtm(model, 'copy', { resume: start, recipe: { ...NTM_RECIPE, batch: 16 }, gradients: workers });
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export function createNtmWebWorkers(model: NtmModel, threads: number, batch: number, options: NtmWebWorkersOptions = {}): Promise<SequenceWorkers> {
  const init: NtmWorkerData = { config: model.config };
  const create = options.create ?? (() => new Worker(new URL('./ntm-web-worker.js', import.meta.url), { type: 'module' }) as unknown as WebWorkerLike);
  return createWebSequenceWorkers(model, threads, batch, { create, init });
}
