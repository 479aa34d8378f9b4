/**
 * Data parallelism for the MemN2N language model on every core (Node's worker_threads): each step's
 * positions are split into one shard per thread; this thread computes the first, each worker a replica
 * the others; the workers' gradients come back through shared memory and are summed here in a fixed
 * order, then one optimizer step runs. N threads give one thread's result up to the order of
 * floating-point sums. Imported from `@engram/memnet/workers` (Node only).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EngramError, type Tensor, parameterList, tensor } from '@engram/tensor';
import { type MemnetLmGradients, memnetLmLoss } from './language-model.js';
import type { MemnetLmWorkerData } from './lm-worker.js';
import type { MemnetModel } from './model.js';

/** The most threads {@link createMemnetLmWorkers} starts. */
export const MAX_LM_THREADS = 64;

/** What {@link createMemnetLmWorkers} returns: the gradients for `trainMemnetLm`, and a way to stop the workers. */
export interface MemnetLmWorkers extends MemnetLmGradients {
  /** Threads in use, this one included. */
  readonly threads: number;
  /** Stops the workers. */
  close(): Promise<void>;
}

/** The worker script: beside this module in dist/, or dist/ when this module runs from its source (tests). */
function workerScript(): URL {
  const beside = new URL('./lm-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../dist/lm-worker.js', import.meta.url);
}

/**
 * Starts `threads − 1` worker threads, each with a replica of `model` and the training text in shared memory.
 * Pass the result as `gradients` to `trainMemnetLm`, and `close()` it when training ends.
 * @param model - the model being trained (its weights are sent to the workers before every step)
 * @param text - the training text's word ids
 * @param threads - threads in all, this one included (1: no workers)
 * @example
 * ```ts
 * const workers = await createMemnetLmWorkers(model, corpus.train, availableParallelism());
 * try {
 *   await trainMemnetLm(model, { train: corpus.train, valid: corpus.valid }, { gradients: workers });
 * } finally {
 *   await workers.close();
 * }
 * ```
 */
export async function createMemnetLmWorkers(model: MemnetModel, text: Int32Array, threads: number): Promise<MemnetLmWorkers> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_LM_THREADS)
    throw new EngramError(`threads must be an integer in 1..${MAX_LM_THREADS}, got ${threads}`);
  const params = parameterList(model.params);
  const total = params.reduce((n, p) => n + p.size, 0);
  const sharedText = new SharedArrayBuffer(text.length * 4);
  new Int32Array(sharedText).set(text);
  const sharedParams = new SharedArrayBuffer(total * 4);
  const sharedGrads = new SharedArrayBuffer(Math.max(1, threads - 1) * total * 4);
  const control = new SharedArrayBuffer(8);
  const weights = new Float32Array(sharedParams);
  const grads = new Float32Array(sharedGrads);
  const counter = new Int32Array(control);
  const workers = Array.from({ length: threads - 1 }, (_, i) => {
    const data: MemnetLmWorkerData = { config: model.config, text: sharedText, params: sharedParams, grads: sharedGrads, gradOffset: i * total, control };
    return new Worker(workerScript(), { workerData: data });
  });
  const failures: Error[] = [];
  for (const worker of workers) worker.on('error', (error) => failures.push(error));
  const reply = (worker: Worker): Promise<number> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: { nats: number }) => {
        worker.off('error', onError);
        resolve(message.nats);
      };
      const onError = (error: Error) => {
        worker.off('message', onMessage);
        reject(error);
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
    });

  return {
    threads,
    async compute(trained: MemnetModel, ids: Int32Array, positions: Int32Array): Promise<number> {
      if (trained !== model || ids.length !== text.length) throw new EngramError('createMemnetLmWorkers: these workers were started for another model or text');
      if (failures.length > 0) throw failures[0];
      // Equal consecutive parts, this thread's first: a fixed split, so the same seed gives the same sums in the same order.
      const shards = Array.from({ length: threads }, (_, i) =>
        positions.subarray(Math.floor((i * positions.length) / threads), Math.floor(((i + 1) * positions.length) / threads)),
      );
      let offset = 0;
      for (const p of params) {
        weights.set(p.dataSync(), offset);
        offset += p.size;
      }
      Atomics.add(counter, 0, 1);
      const replies = workers.map((worker, i) => {
        const answer = reply(worker);
        worker.postMessage({ positions: (shards[i + 1] as Int32Array).slice() });
        return answer;
      });
      // This thread's shard, into the parameters' own gradients.
      const loss = memnetLmLoss(model, ids, shards[0] as Int32Array);
      let nats = loss.item();
      loss.backward();
      const theirs = await Promise.all(replies);
      Atomics.load(counter, 1);
      for (const n of theirs) nats += n;
      // The workers' gradients, summed in worker order.
      offset = 0;
      for (const p of params) {
        const sum = p.grad === null ? new Float32Array(p.size) : new Float32Array(p.grad.dataSync());
        for (let w = 0; w < workers.length; w++) {
          const base = w * total + offset;
          for (let i = 0; i < p.size; i++) sum[i] = (sum[i] as number) + (grads[base + i] as number);
        }
        p.grad = tensor(sum, p.shape) as Tensor;
        offset += p.size;
      }
      return nats;
    },
    async close(): Promise<void> {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
