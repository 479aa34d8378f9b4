import type { TrainerProgress, TrainerStarted } from './protocol.js';

/** What the training page shows, exposed as `window.engramTrainLm` (for the curious and the browser test). */
export interface TrainPageState {
  /** The corpus and model of the current run, once the worker has made them. */
  started: TrainerStarted | null;
  /** Whether training is running. */
  training: boolean;
  /** The last progress report. */
  progress: TrainerProgress | null;
  /** Each finished epoch's held-out perplexity, and the seconds spent training (in the worker's loop) up to its end. */
  epochs: { epoch: number; validPerplexity: number; seconds: number }[];
  /** Why training ended (η below its floor, the last epoch, a non-finite value); null while it can go on. */
  ended: string | null;
  /** Held-out words shown as chips. */
  words: number;
  /** The position shown (it predicts held-out word `selected + 1`). */
  selected: number | null;
  /** The model's most likely words there. */
  top: string[];
  /** Each hop's attention over the words in memory there (oldest first). */
  hops: number[][];
  /** The last model downloaded: its file name and size. */
  exported: { name: string; bytes: number } | null;
  /** Errors shown to the visitor. */
  errors: string[];
}
