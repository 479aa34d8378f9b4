import { EngramError } from '@engram/tensor';

/** The unknown-word token of Mikolov's Penn Treebank, which text outside the vocabulary maps to. */
export const UNKNOWN_WORD = '<unk>';
/** The longest word a vocabulary may hold (bounds what a hostile file makes us keep). */
export const MAX_WORD_LENGTH = 200;

/** Word ids of a text, and how many of its words were unknown. */
export interface EncodedText {
  /** One id per token. */
  ids: Int32Array;
  /** Tokens that became {@link UNKNOWN_WORD}. */
  unknown: number;
}

/** A language model's words: ids 0 … V − 1, in a Map (no object keys a word could pollute). */
export class LmVocabulary {
  /** Words by id. */
  readonly words: readonly string[];
  private readonly ids: Map<string, number>;

  /**
   * @param words the words in id order; each must be unique and non-empty
   * @param source names the words in errors
   */
  constructor(words: readonly string[], source = 'vocabulary') {
    if (words.length === 0) throw new EngramError(`${source}: no words`);
    this.ids = new Map();
    words.forEach((word, id) => {
      if (typeof word !== 'string' || word.length === 0 || word.length > MAX_WORD_LENGTH)
        throw new EngramError(`${source}: word ${id} must be a string of 1–${MAX_WORD_LENGTH} characters`);
      if (this.ids.has(word)) throw new EngramError(`${source}: '${word}' appears twice`);
      this.ids.set(word, id);
    });
    this.words = [...words];
  }

  /**
   * A vocabulary from parsed JSON, checked: a list of unique non-empty strings.
   * @param value - the untrusted value read from a model file's metadata
   * @param source - named in errors
   */
  static fromJson(value: unknown, source = 'vocabulary'): LmVocabulary {
    if (!Array.isArray(value)) throw new EngramError(`${source}: must be a list of words`);
    return new LmVocabulary(value as string[], source);
  }

  /** V. */
  get size(): number {
    return this.words.length;
  }

  /**
   * The id of `word`, or undefined.
   * @param word - the word to look up
   */
  id(word: string): number | undefined {
    return this.ids.get(word);
  }

  /**
   * The word with id `id`.
   * @param id - the word's id (0 ≤ id < size)
   */
  word(id: number): string {
    const w = this.words[id];
    if (w === undefined) throw new EngramError(`vocabulary: no word with id ${id}`);
    return w;
  }

  /**
   * Ids for `tokens`; words outside the vocabulary become {@link UNKNOWN_WORD} (if the vocabulary has it,
   * else an error naming the word), and are counted.
   * @param tokens - the words of a text; unknown ones become `<unk>` and are counted
   */
  encode(tokens: readonly string[]): EncodedText {
    const unk = this.ids.get(UNKNOWN_WORD);
    let unknown = 0;
    const ids = Int32Array.from(tokens, (token) => {
      const id = this.ids.get(token);
      if (id !== undefined) return id;
      if (unk === undefined) throw new EngramError(`'${token}' is not in the vocabulary (which has no ${UNKNOWN_WORD})`);
      unknown++;
      return unk;
    });
    return { ids, unknown };
  }
}
