/**
 * `@engram/tensor/web-workers`: data-parallel training on every core in the browser (Web Workers), for any model
 * built from @engram/tensor; the counterpart of `@engram/tensor/workers` (Node's worker_threads). It loads no Node
 * module, and needs no SharedArrayBuffer (so no cross-origin isolation).
 *
 * @packageDocumentation
 */
export { type GradientReplica, type GradientWorkers, MAX_THREADS, type WorkerThreads, splitEvenly } from './worker-pool.js';
export {
  type WebGradientWorkersOptions,
  type WebWorkerLike,
  type WebWorkerScope,
  serveWebGradients,
  startWebGradientWorkers,
} from './web-gradient-workers.js';
