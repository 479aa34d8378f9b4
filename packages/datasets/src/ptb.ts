import { EngramError } from '@engram/tensor';
import { Vocabulary } from './babi.js';
import { readDataFile } from './files.js';

/** The end-of-sentence token added at every line end, as language-modelling code does. */
export const END_OF_SENTENCE = '<eos>';

/**
 * Tokenises Penn Treebank LM text (one sentence per line, tokens separated by spaces): the tokens
 * of each line, then {@link END_OF_SENTENCE}. A line may end in `\r\n` (a Windows text); a tab or
 * another control character is an error naming `source` and the line, since the preprocessed files
 * contain neither.
 * @param text - the file's contents
 * @param source - named in errors
 */
export function parsePtb(text: string, source = 'PTB text'): string[] {
  const tokens: string[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((ended, i) => {
    const line = ended.endsWith('\r') ? ended.slice(0, -1) : ended;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
    if (/[\t\u0000-\u0008\u000b-\u001f]/.test(line)) throw new EngramError(`${source}:${i + 1}: unexpected tab or control character`);
    for (const word of line.split(' ')) if (word.length > 0) tokens.push(word);
    tokens.push(END_OF_SENTENCE);
  });
  return tokens;
}

/** A tokenised PTB split as word ids. */
export interface TextCorpus {
  /** The vocabulary (index 0 is padding; words in order of first appearance in the training text). */
  vocabulary: Vocabulary;
  /** Word ids of the split, in order. */
  ids: Int32Array;
}

/**
 * Word ids for `tokens` over `vocabulary`; an unknown word is an error naming `source` and the
 * token position (PTB's valid and test sets use only training words).
 * @param tokens - the words
 * @param vocabulary - the vocabulary to index them by
 * @param source - named in the error for an unknown word
 */
export function toIds(tokens: readonly string[], vocabulary: Vocabulary, source = 'text'): Int32Array {
  return Int32Array.from(tokens, (word, i) => {
    const id = vocabulary.indexOf(word);
    if (id === undefined) throw new EngramError(`${source}: token ${i} '${word}' is not in the vocabulary`);
    return id;
  });
}

/**
 * A vocabulary of the tokens in order of first appearance.
 * @param tokens - the training text's words
 */
export function vocabularyOf(tokens: readonly string[]): Vocabulary {
  const vocabulary = new Vocabulary();
  for (const word of tokens) vocabulary.add(word);
  return vocabulary;
}

/**
 * Reads `ptb.train.txt` and the requested split from a folder (as written by `downloadPtb`), builds
 * the vocabulary from the training text, and returns the split as ids. Node only.
 * @param folder - the folder holding ptb.train.txt, ptb.valid.txt and ptb.test.txt
 * @param split - the split to read besides the training text (which gives the vocabulary)
 */
export async function loadPtb(folder: string, split: 'train' | 'valid' | 'test'): Promise<TextCorpus> {
  const read = async (name: string): Promise<{ path: string; tokens: string[] }> => {
    const { path, text } = await readDataFile('loadPtb', folder, `ptb.${name}.txt`);
    return { path, tokens: parsePtb(text, path) };
  };
  const train = await read('train');
  const vocabulary = vocabularyOf(train.tokens);
  const wanted = split === 'train' ? train : await read(split);
  return { vocabulary, ids: toIds(wanted.tokens, vocabulary, wanted.path) };
}
