/**
 * `@engram/dnc/workers`: training the DNC on every core in Node (worker_threads). Kept out of the main entry so
 * that browsers never load Node's modules.
 *
 * @packageDocumentation
 */
import { type SequenceWorkers, createSequenceWorkers } from '@engram/ntm/workers';
import { workerScript } from '@engram/tensor/workers';
import type { DncWorkerData } from './dnc-worker.js';
import { type DncModel, dncRecurrent } from './model.js';

export type { DncWorkerData } from './dnc-worker.js';

/**
 * Workers for training a DNC on every core: each batch's sequences are split among the threads, each worker
 * holding a replica; pass the result as `gradients` to @engram/ntm's `trainNtm` (with `dncRecurrent(model)`),
 * and `close()` it when training ends. At most `batch` threads are used. N threads give one thread's result
 * up to the order of floating-point sums.
 * @param model - the DNC being trained
 * @param threads - threads in all, this one included
 * @param batch - sequences per batch (the recipe's)
 * @example
 * ```ts
 * const { model, ...start } = newDnc('repeat-copy', 1);
 * const workers = await createDncWorkers(model, availableParallelism(), DNC_RECIPE.batch);
 * try {
 *   await trainNtm(dncRecurrent(model), 'repeat-copy', { resume: start, recipe: DNC_RECIPE, gradients: workers });
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export function createDncWorkers(model: DncModel, threads: number, batch: number): Promise<SequenceWorkers> {
  const init: DncWorkerData = { config: model.config };
  return createSequenceWorkers(dncRecurrent(model), threads, batch, { script: workerScript(import.meta.url, 'dnc-worker.js'), init });
}
