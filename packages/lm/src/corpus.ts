import { loadPtb } from '@engram/datasets';
import { LmVocabulary } from './vocabulary.js';

/** Penn Treebank as a language model reads it: the vocabulary and each split's word ids (0 … V − 1). */
export interface LmCorpus {
  /** The 10,000 words of Mikolov's PTB (`<eos>` and `<unk>` included), in order of first appearance in the training text. */
  vocabulary: LmVocabulary;
  /** The training text's ids (929k words plus one `<eos>` per sentence). */
  train: Int32Array;
  /** The validation text's ids. */
  valid: Int32Array;
  /** The test text's ids. */
  test: Int32Array;
}

/**
 * Reads Mikolov's Penn Treebank split from a folder holding `ptb.{train,valid,test}.txt` (as
 * `engram download ptb` writes it). Node only.
 *
 * @param folder - the folder holding ptb.train.txt, ptb.valid.txt and ptb.test.txt
 * @example
 * ```ts
 * const { vocabulary, train, valid } = await loadPtbCorpus('data/ptb');
 * ```
 */
export async function loadPtbCorpus(folder: string): Promise<LmCorpus> {
  const [train, valid, test] = await Promise.all((['train', 'valid', 'test'] as const).map((split) => loadPtb(folder, split)));
  // @engram/datasets keeps id 0 for padding; a language model has none, so every id moves down one.
  const shift = (ids: Int32Array) => ids.map((id) => id - 1);
  const words = (train?.vocabulary.words ?? []).slice(1);
  return {
    vocabulary: new LmVocabulary(words, 'PTB vocabulary'),
    train: shift(train?.ids ?? new Int32Array()),
    valid: shift(valid?.ids ?? new Int32Array()),
    test: shift(test?.ids ?? new Int32Array()),
  };
}
