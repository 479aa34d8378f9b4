/**
 * Data parallelism for the LSTM language model on every core (Node's worker_threads, through @engram/tensor's
 * gradient workers): each window's streams are split into one consecutive group per thread, each with its
 * rows of the carried state and of the dropout masks (drawn on this thread, so a run draws the same masks
 * on any number of threads); this thread computes the first group, each worker a replica the others; the
 * gradients are summed in a fixed order and the groups' states put back together. N threads give one
 * thread's result up to the order of floating-point sums. Imported from `@engram/lm/workers` (Node only).
 */
import { EngramError, type Tensor, concat, parameterList, tensor } from '@engram/tensor';
import { type WorkerThreads, splitEvenly, startGradientWorkers, workerScript } from '@engram/tensor/workers';
import type { LmWorkerData } from './lm-worker.js';
import type { LmDropoutMasks, LmModel, LmState } from './model.js';
import { type LmGradients, type LmShardResult, lmShard, shardGradients } from './train.js';

/** What {@link createLmWorkers} returns: the gradients for `trainLm`, and a way to stop the workers. */
export interface LmWorkers extends LmGradients, WorkerThreads {}

/**
 * Starts `threads − 1` worker threads, each with a replica of `model`. A window's streams are split among
 * the threads, so at most `batch` threads are used (`batch` is the recipe's). Pass the result as
 * `gradients` to `trainLm`, and `close()` it when training ends.
 * @param model - the model being trained (its weights are sent to the workers before every window)
 * @param threads - threads in all, this one included (1: no workers)
 * @param batch - the streams of each window (the recipe's batch): more threads than this are not started
 * @example
 * ```ts
 * const workers = await createLmWorkers(model, availableParallelism(), recipe.batch);
 * try {
 *   await trainLm(model, { train: corpus.train, valid: corpus.valid }, { recipe, gradients: workers });
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export async function createLmWorkers(model: LmModel, threads: number, batch: number): Promise<LmWorkers> {
  const init: LmWorkerData = { config: model.config };
  const script = workerScript(import.meta.url, 'lm-worker.js');
  const workers = await startGradientWorkers({ script, params: parameterList(model.params), init, threads, most: batch });
  const used = workers.threads;
  return {
    threads: used,
    async compute(trained: LmModel, state: LmState, inputs: Int32Array, targets: Int32Array, windowBatch: number, masks: LmDropoutMasks | undefined) {
      if (trained !== model) throw new EngramError('createLmWorkers: these workers were started for another model');
      if (windowBatch !== batch) throw new EngramError(`createLmWorkers: the workers were started for batch ${batch}, the window has ${windowBatch}`);
      const shards = splitEvenly(batch, used).map(([from, to]) => lmShard(state, inputs, targets, batch, masks, from, to));
      const results = await workers.run(shards, (mine) => shardGradients(model, mine));
      const hidden = model.config.hiddenSize;
      // The groups' states, back in stream order.
      const join = (pick: (r: LmShardResult) => Float32Array[], l: number): Tensor =>
        results.length === 1
          ? tensor(pick(results[0] as LmShardResult)[l] as Float32Array, [batch, hidden])
          : concat(
              results.map((r, i) => tensor(pick(r)[l] as Float32Array, [(shards[i] as { streams: number }).streams, hidden])),
              0,
            ).detach();
      const layers = model.params.layers.map((_, l) => l);
      return {
        loss: results.reduce((sum, r) => sum + r.loss, 0),
        state: { h: layers.map((l) => join((r) => r.h, l)), c: layers.map((l) => join((r) => r.c, l)) },
      };
    },
    gradientNorm: () => workers.gradientNorm(),
    step: (optimizer, options) => workers.step(optimizer, options),
    close: () => workers.close(),
  };
}
