/**
 * The paper's training recipe, as the CLI and the pretrained models use it: the NTM of Graves et al.
 * (2014) §4 (LSTM 100, memory 128 × 20, one read and one write head), RMSProp with learning rate
 * 1e-4 and momentum 0.9, batch 1, gradients clipped to ±10. The worker trains with it; the speed
 * benchmark trains the same in Node.
 */
import { algorithmicTask } from '@engram/datasets';
import { type NtmModel, type TrainBatchOptions, createNtm, defaultNtmConfig } from '@engram/ntm';
import { type Optimizer, RMSProp, type Random, parameterList } from '@engram/tensor';
import type { DemoTask } from './protocol.js';

const LEARNING_RATE = 1e-4;
const RMSPROP = { momentum: 0.9, decay: 0.95 } as const;

/** What `trainBatch` is given at every step. */
export const TRAIN_OPTIONS: TrainBatchOptions = { clipValue: 10 };

/** A fresh NTM for `task` and its optimizer; the weights are drawn from `rng.fork()`. */
export function newNtm(task: DemoTask, rng: Random): { model: NtmModel; optimizer: Optimizer } {
  const generator = algorithmicTask(task);
  const model = createNtm(defaultNtmConfig(generator.inputWidth({}), generator.outputWidth({})), rng.fork());
  return { model, optimizer: new RMSProp(parameterList(model.params), LEARNING_RATE, RMSPROP) };
}
