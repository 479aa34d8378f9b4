/**
 * Data parallelism for the MemN2N language model on every core (Node's worker_threads, through
 * @engram/tensor's gradient workers): each step's positions are split into one shard per thread; this
 * thread computes the first, each worker a replica the others; their gradients are summed in a fixed
 * order, then one optimizer step runs. N threads give one thread's result up to the order of
 * floating-point sums. Imported from `@engram/memnet/workers` (Node only).
 */
import { EngramError, parameterList } from '@engram/tensor';
import { MAX_THREADS, type WorkerThreads, splitEvenly, startGradientWorkers, workerScript } from '@engram/tensor/workers';
import { type MemnetLmGradients, memnetLmLossAndGradients } from './language-model.js';
import type { MemnetLmWorkerData } from './lm-worker.js';
import type { MemnetModel } from './model.js';

/** The most threads {@link createMemnetLmWorkers} starts. */
export const MAX_LM_THREADS = MAX_THREADS;

/** What {@link createMemnetLmWorkers} returns: the gradients for `trainMemnetLm`, and a way to stop the workers. */
export interface MemnetLmWorkers extends MemnetLmGradients, WorkerThreads {}

/**
 * Starts `threads − 1` worker threads, each with a replica of `model` and the training text in shared memory.
 * Pass the result as `gradients` to `trainMemnetLm`, and `close()` it when training ends.
 * @param model - the model being trained (its weights are sent to the workers before every step)
 * @param text - the training text's word ids
 * @param threads - threads in all, this one included (1: no workers)
 * @example
 * ```ts
 * const workers = await createMemnetLmWorkers(model, corpus.train, availableParallelism());
 * try {
 *   await trainMemnetLm(model, { train: corpus.train, valid: corpus.valid }, { gradients: workers });
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export async function createMemnetLmWorkers(model: MemnetModel, text: Int32Array, threads: number): Promise<MemnetLmWorkers> {
  const sharedText = new SharedArrayBuffer(text.length * 4);
  new Int32Array(sharedText).set(text);
  const init: MemnetLmWorkerData = { config: model.config, text: sharedText };
  const workers = await startGradientWorkers({ script: workerScript(import.meta.url, 'lm-worker.js'), params: parameterList(model.params), init, threads });
  return {
    threads,
    async compute(trained: MemnetModel, ids: Int32Array, positions: Int32Array): Promise<number> {
      if (trained !== model || ids.length !== text.length) throw new EngramError('createMemnetLmWorkers: these workers were started for another model or text');
      // Equal consecutive parts, this thread's first: a fixed split, so the same seed gives the same sums in the same order.
      const shards = splitEvenly(positions.length, threads).map(([a, b]) => positions.slice(a, b));
      const nats = await workers.run(shards, (mine) => memnetLmLossAndGradients(model, ids, mine));
      return nats.reduce((a, b) => a + b, 0);
    },
    gradientNorm: () => workers.gradientNorm(),
    step: (optimizer, options) => workers.step(optimizer, options),
    close: () => workers.close(),
  };
}
