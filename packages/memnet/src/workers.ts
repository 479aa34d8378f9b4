/**
 * `@engram/memnet/workers`: training on every core in Node (worker_threads). Kept out of the main entry
 * so that browsers never load Node's modules.
 *
 * @packageDocumentation
 */
export { MAX_LM_THREADS, type MemnetLmWorkers, createMemnetLmWorkers } from './lm-workers.js';
export type { MemnetLmWorkerData } from './lm-worker.js';
