/**
 * A worker thread of {@link createMemnetLmWorkers}: a replica of the model that computes the loss and
 * gradients of a shard of each step's positions (the weights come from the main thread before every step).
 * Node only (worker_threads).
 */
import { Random, parameterList } from '@engram/tensor';
import { serveGradients } from '@engram/tensor/workers';
import type { MemnetConfig } from './config.js';
import { memnetLmLossAndGradients } from './language-model.js';
import { createMemnet } from './model.js';

/** What the main thread hands each worker at start. */
export interface MemnetLmWorkerData {
  /** The model's architecture. */
  config: MemnetConfig;
  /** The training text's word ids (shared, read only). */
  text: SharedArrayBuffer;
}

serveGradients((init: MemnetLmWorkerData) => {
  const model = createMemnet(init.config, new Random(0));
  const text = new Int32Array(init.text);
  return {
    params: parameterList(model.params),
    compute(positions: Int32Array): number {
      return memnetLmLossAndGradients(model, text, positions);
    },
  };
});
