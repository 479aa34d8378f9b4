import { EngramError } from '@engram/tensor';

/**
 * How the embeddings of the K hops share weights (Sukhbaatar et al. 2015, §2.2).
 * - `adjacent`: A^{k+1} = C^k, W^T = C^K, B = A^1 — K + 1 embedding matrices in all.
 * - `layerwise` (RNN-like): A^1 = … = A^K, C^1 = … = C^K, a separate B and W, and a linear map
 *   H between hops: u^{k+1} = H u^k + o^k.
 */
export type WeightTying = 'adjacent' | 'layerwise';

/**
 * How a sentence's word embeddings become one memory vector (§4.1): m_i = Σ_j l_j ⊙ A x_ij.
 * - `position` (the default): the official code's position encoding,
 *   l_kj = 1 + 4(k − (d+1)/2)(j − (J+1)/2)/(dJ), J = {@link MemnetConfig.sentenceLength} for every
 *   sentence (see `officialPositionWeight`).
 * - `position-paper`: the paper's text, l_kj = (1 − j/J) − (k/d)(1 − 2j/J), J the sentence's own
 *   length (see `positionWeight`). On bAbI 1k per-task it does worse (docs/results/memnet.md).
 * - `bag-of-words`: l_kj = 1.
 */
export type SentenceEncoding = 'bag-of-words' | 'position' | 'position-paper';

/**
 * What happens to memory slots a story leaves empty.
 * - `attend` (the official code): the memory always has `memorySize` slots; an empty one holds the
 *   zero vector, so its score uᵀ0 = 0 takes part in the softmax. It works as a place for attention
 *   to go when no sentence matches, which yes/no questions (bAbI tasks 6, 9, 10) need: on task 6,
 *   8.0% test error against 19.6% with `mask` (docs/results/memnet.md).
 * - `mask`: empty slots get weight 0 and batches are padded only to their longest story.
 */
export type EmptySlots = 'attend' | 'mask';

/** Everything that defines a MemN2N's architecture. Serialised as JSON beside the weights. */
export interface MemnetConfig {
  /** V: word vocabulary size, padding (index 0) included. Answers are words of the same vocabulary. */
  vocabularySize: number;
  /** d: embedding width (paper: 20 per task, 50 joint). */
  embeddingSize: number;
  /** K: number of hops (paper: 3). */
  hops: number;
  /**
   * Memory size: the most recent sentences kept (paper: 50; the official code uses the smaller of
   * 50 and the longest story of the training data).
   */
  memorySize: number;
  /**
   * Memory slots that a short story leaves empty (see {@link EmptySlots}); `attend` by default, as
   * in the official code.
   */
  emptySlots: EmptySlots;
  /** Weight tying across hops. */
  tying: WeightTying;
  /** Sentence representation. */
  encoding: SentenceEncoding;
  /**
   * J of the official position encoding: the longest sentence (or question) of the data, plus one
   * for the time word, as in the official code. bAbI's longest is 11 words, hence the default 12.
   */
  sentenceLength: number;
  /** Temporal encoding (§4.1): a learned vector per memory age, T_A(i) and T_C(i), added to m_i and c_i. */
  temporal: boolean;
  /** Standard deviation of the Gaussian initialisation (paper: 0.1). */
  initScale: number;
  /**
   * For a model without questions (the language model, §5): every unit of the first query u¹ is this
   * constant (the paper: 0.1), and there is no question embedding B. Needs layer-wise tying. Absent:
   * u¹ embeds the question.
   */
  query?: number;
  /**
   * After each hop, units from this index on go through a ReLU and the first `linearUnits` stay
   * linear (the language model, §5: "ReLU operations to half of the units in each layer"). Absent:
   * every unit stays linear.
   */
  linearUnits?: number;
}

/**
 * The paper's bAbI model: 3 hops, embedding 20, memory 50, adjacent tying, PE, temporal encoding.
 * @param vocabularySize - how many words the model knows (padding included)
 * @param overrides - any field to change from the paper's settings
 */
export function defaultMemnetConfig(vocabularySize: number, overrides: Partial<MemnetConfig> = {}): MemnetConfig {
  const config: MemnetConfig = {
    vocabularySize,
    embeddingSize: 20,
    hops: 3,
    memorySize: 50,
    emptySlots: 'attend',
    tying: 'adjacent',
    encoding: 'position',
    sentenceLength: 12,
    temporal: true,
    initScale: 0.1,
    ...overrides,
  };
  validateMemnetConfig(config);
  return config;
}

/** Upper bounds of a MemN2N config's sizes (they bound what a file can make us allocate). */
export interface MemnetLimits {
  /** Most words. */
  vocabularySize: number;
  /** Widest embedding d. */
  embeddingSize: number;
  /** Most hops K. */
  hops: number;
  /** Most memory slots. */
  memorySize: number;
  /** Longest sentence J. */
  sentenceLength: number;
  /** Most cells of one embedding table (V · d). */
  tableCells: number;
}

/** The bounds {@link validateMemnetConfig} enforces. */
export const MEMNET_LIMITS: Readonly<MemnetLimits> = Object.freeze({
  vocabularySize: 1_000_000,
  embeddingSize: 4096,
  hops: 64,
  memorySize: 100_000,
  sentenceLength: 10_000,
  tableCells: 50_000_000,
});

/**
 * Checks a config (from code or a JSON file) and names the first bad field.
 * @param config - the config to check
 */
export function validateMemnetConfig(config: MemnetConfig): void {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new EngramError('MemN2N config: must be an object');
  const bounded = (name: 'vocabularySize' | 'embeddingSize' | 'hops' | 'memorySize' | 'sentenceLength'): void => {
    const value = config[name];
    const max = MEMNET_LIMITS[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
      throw new EngramError(`MemN2N config: ${name} must be an integer in 1..${max}, got ${JSON.stringify(value)}`);
  };
  bounded('vocabularySize');
  bounded('embeddingSize');
  bounded('hops');
  bounded('memorySize');
  bounded('sentenceLength');
  if (config.vocabularySize * config.embeddingSize > MEMNET_LIMITS.tableCells)
    throw new EngramError(`MemN2N config: vocabularySize × embeddingSize must be at most ${MEMNET_LIMITS.tableCells}`);
  if (config.emptySlots !== 'attend' && config.emptySlots !== 'mask')
    throw new EngramError(`MemN2N config: emptySlots must be 'attend' or 'mask', got ${JSON.stringify(config.emptySlots)}`);
  if (config.tying !== 'adjacent' && config.tying !== 'layerwise')
    throw new EngramError(`MemN2N config: tying must be 'adjacent' or 'layerwise', got ${JSON.stringify(config.tying)}`);
  if (!['bag-of-words', 'position', 'position-paper'].includes(config.encoding))
    throw new EngramError(`MemN2N config: encoding must be 'position', 'position-paper' or 'bag-of-words', got ${JSON.stringify(config.encoding)}`);
  if (typeof config.temporal !== 'boolean') throw new EngramError(`MemN2N config: temporal must be true or false, got ${JSON.stringify(config.temporal)}`);
  if (!(typeof config.initScale === 'number' && config.initScale > 0 && Number.isFinite(config.initScale)))
    throw new EngramError(`MemN2N config: initScale must be a positive number, got ${JSON.stringify(config.initScale)}`);
  if (config.query !== undefined) {
    if (typeof config.query !== 'number' || !Number.isFinite(config.query))
      throw new EngramError(`MemN2N config: query must be a finite number, got ${JSON.stringify(config.query)}`);
    if (config.tying !== 'layerwise')
      throw new EngramError(`MemN2N config: query (a constant first query) needs tying 'layerwise', got ${JSON.stringify(config.tying)}`);
  }
  if (
    config.linearUnits !== undefined &&
    (typeof config.linearUnits !== 'number' || !Number.isInteger(config.linearUnits) || config.linearUnits < 0 || config.linearUnits > config.embeddingSize)
  )
    throw new EngramError(`MemN2N config: linearUnits must be an integer in 0..${config.embeddingSize}, got ${JSON.stringify(config.linearUnits)}`);
}
