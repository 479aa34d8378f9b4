import { END_OF_SENTENCE } from '@engram/datasets';

/** Marks that end a sentence; Penn Treebank (Mikolov's text) has `<eos>` where they were. */
const SENTENCE_END = /^[.!?]+$/;

/**
 * Splits ordinary text the way Mikolov's Penn Treebank is written, so a model trained on it can read
 * it: lower case, words by spaces, `'s`-style endings split off, numbers as `N`, a sentence's final
 * `.`, `!` or `?` as `<eos>`, other punctuation dropped.
 *
 * @param text - the text to split into words (lower case, numbers as N)
 * @example
 * ```ts
 * ptbTokens("The fund's stake rose 3.5%. Analysts agreed!"); // ['the', 'fund', "'s", 'stake', 'rose', 'N', '<eos>', 'analysts', 'agreed', '<eos>']
 * ```
 */
export function ptbTokens(text: string): string[] {
  const tokens: string[] = [];
  for (const raw of text.toLowerCase().split(/\s+/)) {
    // Sentence-ending marks, then other punctuation at either end, come off the word.
    const match = /^(["'([]*)(.*?)([.!?]*)(["')\],;:%]*)([.!?]*)$/.exec(raw);
    if (match === null) continue;
    let word = (match[2] ?? '').replace(/[,;:"()[\]%]/g, '');
    const ends = `${match[3] ?? ''}${match[5] ?? ''}`;
    const clitic = /^(.+?)('s|'re|'ve|'ll|'d|n't)$/.exec(word);
    const parts: string[] = [];
    if (clitic) {
      word = clitic[1] as string;
      parts.push(word, clitic[2] as string);
    } else if (word.length > 0) parts.push(word);
    for (const part of parts) tokens.push(/\d/.test(part) && /^[\d.,\-/]+$/.test(part) ? 'N' : part);
    if (SENTENCE_END.test(ends)) tokens.push(END_OF_SENTENCE);
  }
  return tokens;
}
