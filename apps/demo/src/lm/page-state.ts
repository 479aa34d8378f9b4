/** What the long-text page shows, exposed as `window.engramLm` (for the curious and the browser test). */
export interface LmPageState {
  /** The model is loaded and the first text read. */
  loaded: boolean;
  /** Words in the text read. */
  words: number;
  /** Words outside the vocabulary (read as `<unk>`). */
  unknown: string[];
  /** Perplexity of the text under the model alone. */
  modelPerplexity: number | null;
  /** Perplexity with the cache. */
  cachePerplexity: number | null;
  /** The position shown (it predicts word `selected + 1`). */
  selected: number | null;
  /** The cache's weights over earlier positions at the shown position. */
  recalled: { position: number; weight: number }[];
  /** Errors shown to the visitor. */
  errors: string[];
}
