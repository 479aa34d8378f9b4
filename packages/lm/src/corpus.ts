import { type TextCorpusNaming, type TextSplit, parsePtb, readTextCorpus } from '@engram/datasets';
import { EngramError } from '@engram/tensor';
import { LmVocabulary, MAX_WORD_LENGTH, UNKNOWN_WORD } from './vocabulary.js';

/** A text as a language model reads it: the vocabulary and each split's word ids (0 … V − 1). */
export interface LmCorpus {
  /**
   * The words (`<eos>` included; on Penn Treebank the 10,000 of Mikolov's split, `<unk>` among them), in order of first
   * appearance in the training text.
   */
  vocabulary: LmVocabulary;
  /** The training text's ids (on Penn Treebank 929k words, one `<eos>` per sentence included). */
  train: Int32Array;
  /** The validation text's ids. */
  valid: Int32Array;
  /** The test text's ids. */
  test: Int32Array;
  /** How many words of each split were outside the vocabulary and became `<unk>` (0 everywhere on Penn Treebank). */
  unknown: Record<TextSplit, number>;
  /** How the folder names its files (absent for a corpus not read from a folder). */
  naming?: TextCorpusNaming;
}

/** The most distinct words a vocabulary built without a size limit may have: above it, choose a size. */
export const MAX_TEXT_VOCABULARY = 100_000;

/** Options of {@link loadTextCorpus}. */
export interface LoadTextCorpusOptions {
  /**
   * Keep the training text's N most frequent words (ties to the word seen first) and make every other word `<unk>`,
   * which is one of the N; without it, every word of the training text (at most {@link MAX_TEXT_VOCABULARY}).
   */
  vocabularySize?: number;
  /**
   * Read every split with this vocabulary (a trained model's) instead of building one from the training text; words
   * outside it become `<unk>` if it has that word, and are an error naming the file otherwise.
   */
  vocabulary?: LmVocabulary;
}

/**
 * The vocabulary of a training text: its words in order of first appearance, all of them or, with `size`, the `size`
 * most frequent (ties to the word seen first), `<unk>` among them standing for the rest.
 * @param tokens - the training text's words
 * @param size - how many words to keep (at least 2), or undefined for every word
 * @param source - named in errors
 */
export function vocabularyOfText(tokens: readonly string[], size?: number, source = 'training text'): LmVocabulary {
  if (size !== undefined && !(Number.isInteger(size) && size >= 2)) throw new EngramError(`vocabulary size must be an integer of at least 2, got ${size}`);
  // First appearance order and counts, in a Map (a word such as __proto__ is only a key).
  const counts = new Map<string, number>();
  for (const word of tokens) counts.set(word, (counts.get(word) ?? 0) + 1);
  let words: string[];
  if (size === undefined) {
    if (counts.size > MAX_TEXT_VOCABULARY)
      throw new EngramError(
        `${source}: ${counts.size} distinct words, more than ${MAX_TEXT_VOCABULARY}: choose a vocabulary size (vocabularySize; --vocabulary on the command line)`,
      );
    words = [...counts.keys()];
  } else if (counts.size <= size) words = [...counts.keys()];
  else {
    // The size − 1 most frequent words other than <unk> stay (a stable sort keeps first appearance among equals).
    const order = [...counts.keys()];
    const kept = new Set(
      order
        .filter((word) => word !== UNKNOWN_WORD)
        .sort((a, b) => (counts.get(b) as number) - (counts.get(a) as number))
        .slice(0, size - 1),
    );
    // <unk> takes the place where the text first has a word it stands for (or its own first place).
    const unknownAt = order.find((word) => !kept.has(word)) as string;
    words = order.filter((word) => kept.has(word) || word === unknownAt).map((word) => (kept.has(word) ? word : UNKNOWN_WORD));
  }
  const long = words.find((word) => word.length > MAX_WORD_LENGTH);
  if (long !== undefined)
    throw new EngramError(`${source}: token ${tokens.indexOf(long) + 1} is ${long.length} characters long; a word may have at most ${MAX_WORD_LENGTH}`);
  return new LmVocabulary(words, source);
}

/**
 * Reads a language-modelling text from a folder: Mikolov's Penn Treebank (`ptb.train.txt`, as `engram download ptb`
 * writes it), `train.txt` / `valid.txt` / `test.txt`, or WikiText's `wiki.train.tokens` (the first naming the folder
 * has; one sentence or paragraph per line, tokens separated by spaces, `<eos>` added at each line end). The vocabulary
 * comes from the training text (or is given), and a validation or test word outside it becomes `<unk>`, counted in
 * `unknown`. Node only.
 * @param folder - the folder holding the three texts
 * @param options - a vocabulary size, or the vocabulary to read with
 * @example
 * ```ts
 * const corpus = await loadTextCorpus('data/wikitext-2');
 * console.log(corpus.vocabulary.size, corpus.train.length, corpus.unknown.test);
 * ```
 */
export async function loadTextCorpus(folder: string, options: LoadTextCorpusOptions = {}): Promise<LmCorpus> {
  const files = await readTextCorpus(folder);
  return { ...encodeCorpus(files.tokens, files.paths, options), naming: files.naming };
}

/**
 * A corpus from three texts held in memory (in a browser, say), each read as {@link loadTextCorpus} reads a file: one
 * sentence or paragraph per line, words separated by spaces, `<eos>` at each line end; the vocabulary from the training
 * text (or given), and validation or test words outside it as counted `<unk>`.
 * @param texts - the training, validation and test texts
 * @param options - a vocabulary size, or the vocabulary to read with
 * @example
 * ```ts
 * const corpus = corpusFromTexts({ train: 'the cat sat\nthe dog sat\n', valid: 'the cat\n', test: 'a dog\n' }, { vocabularySize: 4 });
 * ```
 */
export function corpusFromTexts(texts: Readonly<Record<TextSplit, string>>, options: LoadTextCorpusOptions = {}): LmCorpus {
  const names = { train: 'training text', valid: 'validation text', test: 'test text' };
  const tokens = { train: parsePtb(texts.train, names.train), valid: parsePtb(texts.valid, names.valid), test: parsePtb(texts.test, names.test) };
  return encodeCorpus(tokens, names, options);
}

/** The ids of three tokenised texts over the vocabulary of the first (or the one given); `sources` name them in errors. */
function encodeCorpus(tokens: Record<TextSplit, string[]>, sources: Record<TextSplit, string>, options: LoadTextCorpusOptions): LmCorpus {
  const vocabulary = options.vocabulary ?? vocabularyOfText(tokens.train, options.vocabularySize, sources.train);
  const encode = (split: TextSplit) => {
    try {
      return vocabulary.encode(tokens[split]);
    } catch (error) {
      // Built from the text without a size, the vocabulary has <unk> only if the text does: a size gives it one.
      const hint =
        options.vocabulary === undefined
          ? '; choose a vocabulary size (vocabularySize; --vocabulary on the command line) and <unk> stands for the words left out'
          : '';
      throw new EngramError(`${sources[split]}: ${(error as Error).message}${hint}`);
    }
  };
  const train = encode('train');
  const valid = encode('valid');
  const test = encode('test');
  return {
    vocabulary,
    train: train.ids,
    valid: valid.ids,
    test: test.ids,
    unknown: { train: train.unknown, valid: valid.unknown, test: test.unknown },
  };
}

/**
 * Reads Mikolov's Penn Treebank split from a folder holding `ptb.{train,valid,test}.txt` (as `engram download ptb`
 * writes it): {@link loadTextCorpus} with the training text's whole vocabulary (its 10,000 words). Node only.
 * @param folder - the folder holding ptb.train.txt, ptb.valid.txt and ptb.test.txt
 * @example
 * ```ts
 * const { vocabulary, train, valid } = await loadPtbCorpus('data/ptb');
 * ```
 */
export async function loadPtbCorpus(folder: string): Promise<LmCorpus> {
  return loadTextCorpus(folder);
}
