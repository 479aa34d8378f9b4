/**
 * A Web Worker of {@link createNtmWebWorkers}: a replica of the NTM that computes the loss and gradients of some of
 * each batch's sequences (the weights come from the page with every batch). Runs as a module worker.
 */
import { Random, parameterList } from '@engram/tensor';
import { serveWebGradients } from '@engram/tensor/web-workers';
import { createNtm } from './model.js';
import type { NtmWorkerData, SequenceShard } from './sequence-shards.js';
import { shardGradients } from './train.js';

serveWebGradients((init: NtmWorkerData) => {
  const model = createNtm(init.config, new Random(0));
  return { params: parameterList(model.params), compute: (shard: SequenceShard) => shardGradients(model, shard.batch, shard.sequences) };
});
