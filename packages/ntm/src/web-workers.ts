/**
 * `@engram/ntm/web-workers`: training the NTM (and, through `createWebSequenceWorkers`, any sequence model) on every
 * core of a browser (Web Workers); the counterpart of `@engram/ntm/workers` (Node's worker_threads).
 *
 * @packageDocumentation
 */
export type { NtmWorkerData, SequenceShard, SequenceWorkers } from './sequence-shards.js';
export { type NtmWebWorkersOptions, createNtmWebWorkers, createWebSequenceWorkers } from './web-sequence-workers.js';
