/**
 * A worker thread of {@link createLmWorkers}: a replica of the language model that computes the loss,
 * gradients and next state of a shard of each window's streams (the weights come from the main thread
 * before every window). Node only (worker_threads).
 */
import { Random, parameterList } from '@engram/tensor';
import { serveGradients } from '@engram/tensor/workers';
import type { LmConfig } from './config.js';
import { createLm } from './model.js';
import { type LmShard, type LmShardResult, shardGradients } from './train.js';

/** What the main thread hands each worker at start. */
export interface LmWorkerData {
  /** The model's architecture. */
  config: LmConfig;
}

serveGradients((init: LmWorkerData) => {
  const model = createLm(init.config, new Random(0));
  return { params: parameterList(model.params), compute: (shard: LmShard): LmShardResult => shardGradients(model, shard) };
});
