import { EngramError } from '@engram/tensor';
import { readDataFile } from './files.js';
import { parsePtb } from './ptb.js';

/** The three splits of a language-modelling text. */
export type TextSplit = 'train' | 'valid' | 'test';

/** How a folder may name its three text files. */
export interface TextCorpusNaming {
  /** The naming's name, as errors and reports give it. */
  readonly name: string;
  /** Each split's file name. */
  readonly files: Readonly<Record<TextSplit, string>>;
}

/**
 * The namings a text folder may use, tried in this order; the first whose training file exists is the folder's:
 * Mikolov's Penn Treebank (as `engram download ptb` writes it), plain names, and WikiText's (Merity et al. 2017).
 */
export const TEXT_CORPUS_NAMINGS: readonly TextCorpusNaming[] = [
  { name: 'Penn Treebank', files: { train: 'ptb.train.txt', valid: 'ptb.valid.txt', test: 'ptb.test.txt' } },
  { name: 'plain', files: { train: 'train.txt', valid: 'valid.txt', test: 'test.txt' } },
  { name: 'WikiText', files: { train: 'wiki.train.tokens', valid: 'wiki.valid.tokens', test: 'wiki.test.tokens' } },
];

/** A folder's three texts, tokenised by {@link parsePtb}. */
export interface TextCorpusFiles {
  /** The naming the folder uses. */
  naming: TextCorpusNaming;
  /** Each split's path, for messages. */
  paths: Record<TextSplit, string>;
  /** Each split's tokens, an end-of-sentence token after every line. */
  tokens: Record<TextSplit, string[]>;
}

/**
 * The naming of {@link TEXT_CORPUS_NAMINGS} that `folder` uses: the first whose training file exists, else an error
 * naming the folder and every name looked for. Node only.
 * @param folder - the folder holding the texts
 */
export async function textCorpusNaming(folder: string): Promise<TextCorpusNaming> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const naming = TEXT_CORPUS_NAMINGS.find((n) => existsSync(join(folder, n.files.train)));
  if (naming === undefined) throw new EngramError(`${folder}: no training text (looked for ${TEXT_CORPUS_NAMINGS.map((n) => n.files.train).join(', ')})`);
  return naming;
}

/**
 * Reads and tokenises a folder's training, validation and test texts (one sentence or paragraph per line, tokens
 * separated by spaces, as Penn Treebank and WikiText are), named by the first naming of {@link TEXT_CORPUS_NAMINGS}
 * the folder uses. Every file is size-checked before it is read; a missing split is an error naming its path. Node only.
 * @param folder - the folder holding the texts
 * @example
 * ```ts
 * const { naming, tokens } = await readTextCorpus('data/wikitext-2');
 * console.log(naming.name, tokens.train.length);
 * ```
 */
export async function readTextCorpus(folder: string): Promise<TextCorpusFiles> {
  const naming = await textCorpusNaming(folder);
  const splits: readonly TextSplit[] = ['train', 'valid', 'test'];
  const read = await Promise.all(
    splits.map(async (split) => {
      const { path, text } = await readDataFile('readTextCorpus', folder, naming.files[split]);
      return { path, tokens: parsePtb(text, path) };
    }),
  );
  const [train, valid, test] = read as [(typeof read)[0], (typeof read)[0], (typeof read)[0]];
  return {
    naming,
    paths: { train: train.path, valid: valid.path, test: test.path },
    tokens: { train: train.tokens, valid: valid.tokens, test: test.tokens },
  };
}
