/**
 * A worker thread of {@link createNtmWorkers}: a replica of the NTM that computes the loss and gradients of
 * some of each batch's sequences (the weights come from the main thread before every batch). Node only.
 */
import { Random, parameterList } from '@engram/tensor';
import { serveGradients } from '@engram/tensor/workers';
import { createNtm } from './model.js';
import type { NtmWorkerData, SequenceShard } from './sequence-workers.js';
import { shardGradients } from './train.js';

serveGradients((init: NtmWorkerData) => {
  const model = createNtm(init.config, new Random(0));
  return { params: parameterList(model.params), compute: (shard: SequenceShard) => shardGradients(model, shard.batch, shard.sequences) };
});
