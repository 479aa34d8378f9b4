/**
 * What data parallelism for the sequence models shares in Node (`./sequence-workers.ts`, worker_threads) and in the
 * browser (`./web-sequence-workers.ts`, Web Workers): the shards a batch splits into and how their results add up.
 * Loads no Node module.
 */
import { type SequenceBatch, sliceSequences } from '@engram/datasets';
import { EngramError } from '@engram/tensor';
// The node-free entry: the same pool interfaces and split as `@engram/tensor/workers`.
import { type GradientWorkers, type WorkerThreads, splitEvenly } from '@engram/tensor/web-workers';
import type { NtmConfig } from './config.js';
import type { SequenceModel } from './recurrent.js';
import { type SequenceGradients, type SequenceShardResult, shardGradients } from './train.js';

/** What `createSequenceWorkers` and `createNtmWebWorkers` return: the gradients for `trainNtm`, and a way to stop the workers. */
export interface SequenceWorkers extends SequenceGradients, WorkerThreads {}

/** The shard a worker receives: some of the batch's sequences and the whole batch's size. */
export interface SequenceShard {
  /** The sequences (`sliceSequences`). */
  batch: SequenceBatch;
  /** The whole batch's size (the loss is divided by it). */
  sequences: number;
}

/** What the main thread hands each NTM worker at start. */
export interface NtmWorkerData {
  /** The model's architecture. */
  config: NtmConfig;
}

/**
 * A batch's gradients from a started pool of gradient workers: the batch's sequences split into equal consecutive
 * groups, this thread's first (a fixed split, so the same seed gives the same sums in the same order), each group's
 * loss and gradients from {@link shardGradients}.
 * @param workers - the pool, started for `model`'s parameters
 * @param model - the model being trained
 * @param batch - sequences per batch (the recipe's)
 */
export function sequenceWorkersOver(workers: GradientWorkers, model: SequenceModel, batch: number): SequenceWorkers {
  const used = workers.threads;
  return {
    threads: used,
    async compute(trained: SequenceModel, sequences: SequenceBatch) {
      if (trained.params !== model.params) throw new EngramError('sequence workers: these workers were started for another model');
      if (sequences.batch !== batch) throw new EngramError(`sequence workers: started for batches of ${batch}, given ${sequences.batch}`);
      const shards: SequenceShard[] = splitEvenly(batch, used).map(([from, to]) => ({ batch: sliceSequences(sequences, from, to), sequences: batch }));
      const results = await workers.run(shards, (mine): SequenceShardResult => shardGradients(model, mine.batch, mine.sequences));
      let loss = 0;
      let wrong = 0;
      for (const r of results) {
        loss += r.loss;
        wrong += r.wrongBits;
      }
      return { loss, errorBits: wrong / batch };
    },
    close: () => workers.close(),
  };
}
