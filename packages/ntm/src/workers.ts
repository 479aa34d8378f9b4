/**
 * `@engram/ntm/workers`: training the NTM (and, through `createSequenceWorkers`, any sequence model) on every
 * core in Node (worker_threads). Kept out of the main entry so that browsers never load Node's modules.
 *
 * @packageDocumentation
 */
export {
  type NtmWorkerData,
  type SequenceShard,
  type SequenceWorkers,
  createNtmWorkers,
  createSequenceWorkers,
} from './sequence-workers.js';
