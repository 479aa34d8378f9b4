/**
 * Messages between the training page and its worker. The worker owns the model, the corpus and the tensor backend;
 * the page sends the text's words and the model's sizes, and draws what comes back (the model itself as a file's
 * bytes after each epoch, which the page reads to show its attention).
 */
import type { MemnetLmRecipe } from '@engram/memnet';

/**
 * The paper's procedure (§5) scaled to a page: batch 32 and η 0.05 for a small model on a small text, η ÷ 1.5 whenever
 * validation does not improve, until η < 1e-4 or 40 epochs, gradient norm ≤ 50.
 */
export const TRAINER_RECIPE: Readonly<MemnetLmRecipe> = Object.freeze({
  batch: 32,
  learningRate: 0.05,
  decay: 1.5,
  minLearningRate: 1e-4,
  maxGradNorm: 50,
  maxEpochs: 40,
});

/** The model's sizes the visitor chooses (the paper's names: K hops, N memories, d dimensions). */
export interface TrainerSizes {
  hops: number;
  memorySize: number;
  embeddingSize: number;
}

/** Page → worker. */
export type TrainerRequest =
  /** A fresh model on these words (the training text's words make the vocabulary, with `<unk>` for the rest). */
  | { type: 'start'; train: string[]; valid: string[]; sizes: TrainerSizes; seed: number }
  /** Train (true) or pause (false); a paused run continues exactly where it stopped. */
  | { type: 'run'; run: boolean };

/** What the worker reports once the corpus is read and the model made. */
export interface TrainerStarted {
  vocabulary: number;
  parameters: number;
  trainWords: number;
  validWords: number;
  /** Validation words outside the training text's words (read as `<unk>`). */
  unknownValid: number;
  /** The bigram count model's validation perplexity (one word back). */
  bigram: number;
  /** Steps in an epoch (one pass of the training text's length). */
  stepsPerEpoch: number;
}

/** What a stretch of training did (about every {@link PROGRESS_MS}). */
export interface TrainerProgress {
  step: number;
  /** The epoch under way, 0-based, and how far into it. */
  epoch: number;
  fraction: number;
  /** Training perplexity over the epoch so far. */
  perplexity: number;
  wordsPerSecond: number;
  learningRate: number;
}

/** Worker → page. */
export type TrainerReply =
  | { type: 'started'; started: TrainerStarted }
  | { type: 'progress'; progress: TrainerProgress }
  /** An epoch ended: its validation perplexity, the training seconds so far, and the model as an Engram MemN2N language-model file. */
  | { type: 'epoch'; epoch: number; validPerplexity: number; learningRate: number; seconds: number; bytes: ArrayBuffer }
  /** Training ended: η fell below its floor or the last epoch ran (`finished`), or a non-finite value (`failed`). */
  | { type: 'ended'; outcome: 'finished' | 'failed'; message: string }
  | { type: 'paused' }
  | { type: 'error'; message: string };

/** How often the worker reports progress (ms). */
export const PROGRESS_MS = 250;
