/**
 * A worker thread of {@link createDncBabiWorkers}: a replica of the DNC that computes the loss and gradients of
 * some of each batch's bAbI stories (the weights come from the main thread before every batch). Node only.
 */
import { Random, parameterList } from '@engram/tensor';
import { serveGradients } from '@engram/tensor/workers';
import { type BabiSequence, babiGradients } from './babi.js';
import type { DncWorkerData } from './dnc-worker.js';
import { createDnc } from './model.js';

/** What a bAbI worker receives each step: its stories and the whole batch's size. */
export interface DncBabiShard {
  /** The stories. */
  stories: BabiSequence[];
  /** The whole batch's size (the loss is divided by it). */
  batch: number;
}

serveGradients((init: DncWorkerData) => {
  const model = createDnc(init.config, new Random(0));
  return {
    params: parameterList(model.params),
    compute(shard: DncBabiShard) {
      const { loss, wrong, questions } = babiGradients(model, shard.stories, shard.batch);
      return { loss, wrong, questions };
    },
  };
});
