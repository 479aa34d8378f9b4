/**
 * `@engram/lm/workers`: training the LSTM language model on every core in Node (worker_threads). Kept out of
 * the main entry so that browsers never load Node's modules.
 *
 * @packageDocumentation
 */
export { type LmWorkers, createLmWorkers } from './lm-workers.js';
export type { LmWorkerData } from './lm-worker.js';
