import { EngramError } from '@engram/tensor';

/** The shape of a word-level LSTM language model. */
export interface LmConfig {
  /** V: words in the vocabulary (PTB: 10,000, `<eos>` included). */
  vocabularySize: number;
  /** E: the width of a word embedding. When `tied`, it must equal `hiddenSize`. */
  embeddingSize: number;
  /** H: LSTM units per layer. */
  hiddenSize: number;
  /** Stacked LSTM layers. */
  layers: number;
  /** Dropout probability on the non-recurrent connections (Zaremba et al. 2014); 0 disables. */
  dropout: number;
  /** Share the input embedding and the output softmax weights (Press & Wolf 2017). */
  tied: boolean;
  /** Every weight starts uniform in ±this (Zaremba: 0.1 small, 0.05 medium). */
  initScale: number;
}

/** Upper bounds of a config's sizes. */
export interface LmLimits {
  /** Most words. */
  vocabularySize: number;
  /** Widest embedding. */
  embeddingSize: number;
  /** Widest LSTM layer. */
  hiddenSize: number;
  /** Most layers. */
  layers: number;
  /** Most parameters in all. */
  parameters: number;
}

/** The largest vocabulary, width and depth a config may ask for (bounds what a hostile file can make us allocate). */
export const LM_LIMITS: Readonly<LmLimits> = Object.freeze({
  vocabularySize: 1_000_000,
  embeddingSize: 8192,
  hiddenSize: 8192,
  layers: 16,
  parameters: 500_000_000,
});

const isPositiveInteger = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;

/**
 * Checks every field of a config (from a file, a flag or code), naming the field that is wrong.
 *
 * @param config - the untrusted value (from a file's metadata)
 * @param source - named in errors
 * @throws EngramError naming the first bad field
 */
export function validateLmConfig(config: unknown, source = 'LM config'): asserts config is LmConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new EngramError(`${source}: must be an object`);
  const c = config as Record<string, unknown>;
  const known = ['vocabularySize', 'embeddingSize', 'hiddenSize', 'layers', 'dropout', 'tied', 'initScale'];
  for (const key of Object.keys(c)) if (!known.includes(key)) throw new EngramError(`${source}: unknown field '${key}'`);
  for (const key of ['vocabularySize', 'embeddingSize', 'hiddenSize', 'layers'] as const) {
    if (!isPositiveInteger(c[key], LM_LIMITS[key]))
      throw new EngramError(`${source}: '${key}' must be an integer in 1..${LM_LIMITS[key]}, got ${String(c[key])}`);
  }
  if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout < 1))
    throw new EngramError(`${source}: 'dropout' must be a number in [0, 1), got ${String(c.dropout)}`);
  if (typeof c.tied !== 'boolean') throw new EngramError(`${source}: 'tied' must be true or false, got ${String(c.tied)}`);
  if (typeof c.initScale !== 'number' || !(c.initScale > 0 && c.initScale <= 1))
    throw new EngramError(`${source}: 'initScale' must be a number in (0, 1], got ${String(c.initScale)}`);
  const v = c.vocabularySize as number;
  const e = c.embeddingSize as number;
  const h = c.hiddenSize as number;
  const l = c.layers as number;
  if (c.tied && e !== h) throw new EngramError(`${source}: 'tied' needs 'embeddingSize' (${e}) equal to 'hiddenSize' (${h})`);
  const parameters = v * e + (c.tied ? 0 : h * v) + v + (e + h) * 4 * h + 4 * h + (l - 1) * (2 * h * 4 * h + 4 * h);
  if (parameters > LM_LIMITS.parameters) throw new EngramError(`${source}: ${parameters} parameters is more than the limit of ${LM_LIMITS.parameters}`);
}
