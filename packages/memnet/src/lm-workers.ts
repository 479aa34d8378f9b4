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
import { EngramError, type Tensor, crossEntropy, parameterList, tensor } from '@engram/tensor';
import { type MemnetLmGradients, encodeTextPositions } from './language-model.js';
import type { MemnetLmWorkerData } from './lm-worker.js';
import { type MemnetModel, memnetForward } from './model.js';

/** Options of {@link createMemnetLmWorkers}. */
export interface MemnetLmWorkerOptions {
  /**
   * The fraction of each step's positions this thread computes (the rest is split equally among the workers). This
   * thread also copies the weights out, sums the gradients and runs the update, so it takes less than an equal part
   * by default ({@link DEFAULT_MAIN_SHARE}).
   */
  mainShare?: number;
}

/**
 * This thread's default share of a step with `threads` threads: 0.8 of an equal part. Measured on the 2-core machine
 * (paper-sized model, batch 128, idle): shares 0.5, 0.4, 0.3 and 0.2 gave 815, 885, 863 and 847 words/s, one thread
 * 776.
 * @param threads - threads in all, this one included
 */
export const DEFAULT_MAIN_SHARE = (threads: number): number => (threads === 1 ? 1 : 0.8 / threads);

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
 * @param options - this thread's share of each step (default {@link DEFAULT_MAIN_SHARE})
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
export async function createMemnetLmWorkers(
  model: MemnetModel,
  text: Int32Array,
  threads: number,
  options: MemnetLmWorkerOptions = {},
): Promise<MemnetLmWorkers> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_LM_THREADS)
    throw new EngramError(`threads must be an integer in 1..${MAX_LM_THREADS}, got ${threads}`);
  const mainShare = options.mainShare ?? DEFAULT_MAIN_SHARE(threads);
  if (!(mainShare > 0 && mainShare <= 1)) throw new EngramError(`mainShare must be in (0, 1], got ${mainShare}`);
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
      const batch = encodeTextPositions(ids, shards[0] as Int32Array, model.config);
      const loss = crossEntropy(memnetForward(model, batch).logits, batch.answers, 'sum');
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
