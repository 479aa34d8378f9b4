/**
 * Data parallelism for the sequence models (the NTM here, the DNC in @engram/dnc) on every core (Node's
 * worker_threads, through @engram/tensor's gradient workers): each batch's sequences are split into one
 * consecutive group per thread; this thread computes the first group, each worker a replica of the model
 * the others; the gradients are summed in a fixed order, then one optimizer step runs. N threads give one
 * thread's result up to the order of floating-point sums. Imported from `@engram/ntm/workers` (Node only).
 */
import { parameterList } from '@engram/tensor';
import { startGradientWorkers, workerScript } from '@engram/tensor/workers';
import type { NtmModel } from './model.js';
import type { SequenceModel } from './recurrent.js';
import { type NtmWorkerData, type SequenceWorkers, sequenceWorkersOver } from './sequence-shards.js';

export type { NtmWorkerData, SequenceShard, SequenceWorkers } from './sequence-shards.js';

/**
 * Starts `threads − 1` worker threads running `script` (a module that calls `serveGradients` with a replica
 * built from `init` and `shardGradients`); a batch's sequences are split among the threads, so at most
 * `batch` threads are used. Model packages wrap it: {@link createNtmWorkers}, and `createDncWorkers` in @engram/dnc.
 * @param model - the model being trained (its weights are sent to the workers before every batch)
 * @param threads - threads in all, this one included (1: no workers)
 * @param batch - sequences per batch (the recipe's): more threads than this are not started
 * @param worker - the worker script and what it builds its replica from
 */
export async function createSequenceWorkers(
  model: SequenceModel,
  threads: number,
  batch: number,
  worker: { script: URL; init: unknown },
): Promise<SequenceWorkers> {
  const workers = await startGradientWorkers({ script: worker.script, params: parameterList(model.params), init: worker.init, threads, most: batch });
  return sequenceWorkersOver(workers, model, batch);
}

/**
 * Workers for training an NTM on every core: pass the result as `gradients` to `trainNtm`, and `close()` it
 * when training ends. At most `batch` threads are used (a batch of one runs on this thread alone).
 * @param model - the NTM being trained
 * @param threads - threads in all, this one included
 * @param batch - sequences per batch (the recipe's)
 * @example
 * ```ts
 * const { model, ...start } = newNtm('copy', 1, { recipe: { ...NTM_RECIPE, batch: 32 } });
 * const workers = await createNtmWorkers(model, availableParallelism(), 32);
 * try {
 *   await trainNtm(model, 'copy', { resume: start, recipe: { ...NTM_RECIPE, batch: 32 }, gradients: workers });
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export function createNtmWorkers(model: NtmModel, threads: number, batch: number): Promise<SequenceWorkers> {
  const init: NtmWorkerData = { config: model.config };
  return createSequenceWorkers(model, threads, batch, { script: workerScript(import.meta.url, 'ntm-worker.js'), init });
}
