/**
 * `@engram/tensor/workers`: data-parallel training on every core in Node (worker_threads), for any model
 * built from @engram/tensor. Kept out of the main entry so that browsers never load Node's modules.
 *
 * @packageDocumentation
 */
export {
  type GradientReplica,
  type GradientWorkers,
  type GradientWorkersOptions,
  type WorkerThreads,
  MAX_THREADS,
  PARALLEL_SUM_MIN_FLOATS,
  type SharedStep,
  serveGradients,
  splitEvenly,
  startGradientWorkers,
  webWorkerOnThread,
  workerScript,
} from './gradient-workers.js';
