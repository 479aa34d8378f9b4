import { EngramError } from '@engram/tensor';
import type { LmConfig } from './config.js';

/** A training recipe: the model's shape and how to train it. */
export interface LmRecipe {
  /** The model, less the vocabulary size (which the corpus gives). */
  model: Omit<LmConfig, 'vocabularySize'>;
  /** Parallel streams the corpus is laid out in (Zaremba: 20). */
  batch: number;
  /** Time steps of truncated back-propagation (Zaremba: 20 small, 35 medium). */
  unroll: number;
  /** Epochs over the training text. */
  epochs: number;
  /** SGD learning rate η at the start (Zaremba: 1). */
  learningRate: number;
  /** Epochs at the full rate; after them η is divided by `decay` each epoch. */
  decayAfter: number;
  /** η is divided by this each epoch after `decayAfter` (small: 2, medium: 1.2). */
  decay: number;
  /** Rescale the global gradient norm to at most this (Zaremba: 5). */
  maxGradNorm: number;
}

/**
 * The recipes of Zaremba, Sutskever & Vinyals 2014 ("Recurrent Neural Network Regularization"), §4.1,
 * by name. `small`: 2 × 200, unroll 20, batch 20, SGD η 1 halved each epoch after the 4th, 13
 * epochs, init ±0.1, gradient norm ≤ 5, no dropout. `medium`: 2 × 650, unroll 35, dropout 0.5, 39
 * epochs, η divided by 1.2 each epoch after the 6th, init ±0.05.
 */
export const LM_RECIPES: Readonly<Record<'small' | 'medium', Readonly<LmRecipe>>> = Object.freeze({
  small: Object.freeze({
    model: Object.freeze({ embeddingSize: 200, hiddenSize: 200, layers: 2, dropout: 0, tied: false, initScale: 0.1 }),
    batch: 20,
    unroll: 20,
    epochs: 13,
    learningRate: 1,
    decayAfter: 4,
    decay: 2,
    maxGradNorm: 5,
  }),
  medium: Object.freeze({
    model: Object.freeze({ embeddingSize: 650, hiddenSize: 650, layers: 2, dropout: 0.5, tied: false, initScale: 0.05 }),
    batch: 20,
    unroll: 35,
    epochs: 39,
    learningRate: 1,
    decayAfter: 6,
    decay: 1.2,
    maxGradNorm: 5,
  }),
});

/** A recipe's name. */
export type LmRecipeName = 'small' | 'medium';

/**
 * The recipe called `name`, or an error listing the names.
 * @param name - small or medium
 */
export function lmRecipe(name: string): LmRecipe {
  if (!Object.hasOwn(LM_RECIPES, name)) throw new EngramError(`unknown recipe '${name}' (recipes: ${Object.keys(LM_RECIPES).join(', ')})`);
  return LM_RECIPES[name as LmRecipeName];
}

/**
 * η for epoch `epoch` (0-based): `learningRate / decay^max(0, epoch + 1 − decayAfter)`.
 * @param recipe - the training recipe
 * @param epoch - the 0-based epoch
 */
export function learningRateAt(recipe: LmRecipe, epoch: number): number {
  return recipe.learningRate / recipe.decay ** Math.max(0, epoch + 1 - recipe.decayAfter);
}
