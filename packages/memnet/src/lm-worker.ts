/**
 * A worker thread of {@link createMemnetLmWorkers}: holds a replica of the model, and for each message
 * (a shard of a step's positions) loads the current weights from shared memory, runs the forward and
 * backward pass, writes its gradients into its slice of shared memory and replies with its loss.
 * Node only (worker_threads).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Random, parameterList } from '@engram/tensor';
import type { MemnetConfig } from './config.js';
import { memnetLmLoss } from './language-model.js';
import { createMemnet } from './model.js';

/** What the main thread hands each worker at start. */
export interface MemnetLmWorkerData {
  /** The model's architecture. */
  config: MemnetConfig;
  /** The training text's word ids (shared, read only). */
  text: SharedArrayBuffer;
  /** The weights, flat in `parameterList` order (shared; the main thread writes them before each step). */
  params: SharedArrayBuffer;
  /** This worker's gradients, flat in the same order (shared; this worker writes them). */
  grads: SharedArrayBuffer;
  /** Offset in floats of this worker's slice of `grads`. */
  gradOffset: number;
  /** A counter written with Atomics by the main thread after the weights, and read here before them. */
  control: SharedArrayBuffer;
}

const data = workerData as MemnetLmWorkerData;
const model = createMemnet(data.config, new Random(0));
const params = parameterList(model.params);
const text = new Int32Array(data.text);
const weights = new Float32Array(data.params);
const grads = new Float32Array(data.grads);
const control = new Int32Array(data.control);

parentPort?.on('message', (message: { positions: Int32Array }) => {
  Atomics.load(control, 0);
  let offset = 0;
  for (const p of params) {
    // A fresh copy each step: kernels may cache an operand by its array, so a changed array must be a new one.
    p.assign(weights.slice(offset, offset + p.size));
    p.grad = null;
    offset += p.size;
  }
  const loss = memnetLmLoss(model, text, message.positions);
  const nats = loss.item();
  loss.backward();
  offset = data.gradOffset;
  for (const p of params) {
    if (p.grad === null) grads.fill(0, offset, offset + p.size);
    else grads.set(p.grad.dataSync(), offset);
    offset += p.size;
  }
  Atomics.add(control, 1, 1);
  parentPort?.postMessage({ nats });
});
