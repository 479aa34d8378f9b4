/**
 * A worker thread of {@link createDncWorkers}: a replica of the DNC that computes the loss and gradients of
 * some of each batch's sequences (the weights come from the main thread before every batch). Node only.
 */
import { shardGradients } from '@engram/ntm';
import type { SequenceShard } from '@engram/ntm/workers';
import { Random, parameterList } from '@engram/tensor';
import { serveGradients } from '@engram/tensor/workers';
import type { DncConfig } from './config.js';
import { createDnc, dncRecurrent } from './model.js';

/** What the main thread hands each DNC worker at start. */
export interface DncWorkerData {
  /** The model's architecture. */
  config: DncConfig;
}

serveGradients((init: DncWorkerData) => {
  const model = createDnc(init.config, new Random(0));
  const recurrent = dncRecurrent(model);
  return { params: parameterList(model.params), compute: (shard: SequenceShard) => shardGradients(recurrent, shard.batch, shard.sequences) };
});
