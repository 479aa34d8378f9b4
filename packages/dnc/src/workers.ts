/**
 * `@engram/dnc/workers`: training the DNC on every core in Node (worker_threads). Kept out of the main entry so
 * that browsers never load Node's modules.
 *
 * @packageDocumentation
 */
import { type SequenceWorkers, createSequenceWorkers } from '@engram/ntm/workers';
import { EngramError, parameterList } from '@engram/tensor';
import { type WorkerThreads, splitEvenly, startGradientWorkers, workerScript } from '@engram/tensor/workers';
import { type BabiSequence, babiGradients } from './babi.js';
import type { DncBabiGradients } from './babi-train.js';
import type { DncBabiShard } from './babi-worker.js';
import type { DncWorkerData } from './dnc-worker.js';
import { type DncModel, dncRecurrent } from './model.js';

export type { DncWorkerData } from './dnc-worker.js';
export type { DncBabiShard } from './babi-worker.js';

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

/** What {@link createDncBabiWorkers} returns: the gradients for `trainDncBabi`, and a way to stop the workers. */
export interface DncBabiWorkers extends DncBabiGradients, WorkerThreads {}

/**
 * Workers for training a DNC on bAbI on every core: each batch's stories are split among the threads (at most
 * `batch` are used); pass the result as `gradients` to `trainDncBabi`, and `close()` it when training ends. N
 * threads give one thread's result up to the order of floating-point sums.
 * @param model - the DNC being trained
 * @param threads - threads in all, this one included
 * @param batch - stories per batch (the recipe's)
 * @example
 * ```ts
 * const workers = await createDncBabiWorkers(model, availableParallelism(), 2);
 * try {
 *   await trainDncBabi(model, stories, { recipe: { ...DNC_BABI_RECIPE, batch: 2 }, gradients: workers });
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export async function createDncBabiWorkers(model: DncModel, threads: number, batch: number): Promise<DncBabiWorkers> {
  const init: DncWorkerData = { config: model.config };
  const script = workerScript(import.meta.url, 'babi-worker.js');
  const workers = await startGradientWorkers({ script, params: parameterList(model.params), init, threads, most: batch });
  const used = workers.threads;
  return {
    threads: used,
    async compute(trained: DncModel, stories: readonly BabiSequence[]) {
      if (trained.params !== model.params) throw new EngramError('createDncBabiWorkers: these workers were started for another model');
      if (stories.length !== batch) throw new EngramError(`createDncBabiWorkers: started for batches of ${batch}, given ${stories.length}`);
      const shards: DncBabiShard[] = splitEvenly(batch, used).map(([from, to]) => ({ stories: stories.slice(from, to), batch }));
      const results = await workers.run(shards, (mine) => {
        const { loss, wrong, questions } = babiGradients(model, mine.stories, mine.batch);
        return { loss, wrong, questions };
      });
      return results.reduce((a, r) => ({ loss: a.loss + r.loss, wrong: a.wrong + r.wrong, questions: a.questions + r.questions }), {
        loss: 0,
        wrong: 0,
        questions: 0,
      });
    },
    close: () => workers.close(),
  };
}
