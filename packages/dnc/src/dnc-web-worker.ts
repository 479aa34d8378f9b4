/**
 * A Web Worker of {@link createDncWebWorkers}: a replica of the DNC that computes the loss and gradients of some of
 * each batch's sequences (the weights come from the page with every batch). Runs as a module worker.
 */
import { shardGradients } from '@engram/ntm';
import type { SequenceShard } from '@engram/ntm/web-workers';
import { Random, parameterList } from '@engram/tensor';
import { serveWebGradients } from '@engram/tensor/web-workers';
import type { DncWorkerData } from './dnc-worker.js';
import { createDnc, dncRecurrent } from './model.js';

serveWebGradients((init: DncWorkerData) => {
  const model = createDnc(init.config, new Random(0));
  const recurrent = dncRecurrent(model);
  return { params: parameterList(model.params), compute: (shard: SequenceShard) => shardGradients(recurrent, shard.batch, shard.sequences) };
});
