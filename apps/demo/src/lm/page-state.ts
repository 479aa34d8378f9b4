/** The memory shown beside the LSTM: its neural cache, or the MemN2N language model. */
export type MemoryKind = 'cache' | 'memnet';

/** What the long-text page shows, exposed as `window.engramLm` (for the curious and the browser test). */
export interface LmPageState {
  /** The LSTM is loaded and the first text read. */
  loaded: boolean;
  /** The memory compared with the LSTM alone. */
  memory: MemoryKind;
  /** Words in the text read. */
  words: number;
  /** Words outside the vocabulary (read as `<unk>`). */
  unknown: string[];
  /** Perplexity of the text under the LSTM alone. */
  modelPerplexity: number | null;
  /** Perplexity with the cache. */
  cachePerplexity: number | null;
  /**
   * The MemN2N's perplexity over the words with a full memory (N words before them), the ones it is compared on;
   * null for the cache or a text too short.
   */
  memnetPerplexity: number | null;
  /** How many words that is. */
  fullMemoryWords: number;
  /** The position shown (it predicts word `selected + 1`). */
  selected: number | null;
  /** The memory's weights over earlier positions at the shown position: the cache's, or the chosen MemN2N hop's. */
  recalled: { position: number; weight: number }[];
  /** Each MemN2N hop's attention over the words in memory at the shown position (oldest first; empty for the cache). */
  hops: number[][];
  /** Errors shown to the visitor. */
  errors: string[];
}
