/**
 * The texts the training page learns from, and the yardstick it is measured against: short generated stories in
 * which remembering matters (each story is about one person, place and thing, named again and again), the visitor's
 * own text split into training and validation words, and the validation perplexity of a bigram count model, which
 * sees one word back and no further.
 */
import { END_OF_SENTENCE } from '@engram/datasets';
import { type LmVocabulary, MAX_WORD_LENGTH, UNKNOWN_WORD, ptbTokens, vocabularyOfText } from '@engram/lm';
import { Random } from '@engram/tensor';

/** Who, where and what the stories are about: one of each per story. */
export const STORY_CAST = {
  names: 'anna ben clara david emma felix grace henry iris jack kate leo mia noah olga paul quinn rosa sam tara uma victor wendy xavier yara zoe'.split(' '),
  places: 'garden kitchen library market harbour station bakery museum park school'.split(' '),
  things: 'key letter lamp book coin map ring hat'.split(' '),
} as const;

/** The sentences a story is made of: N, P and T stand for its person, place and thing. */
const TEMPLATES = [
  'N walked to the P .',
  'N found a T at the P .',
  'N put the T in a bag .',
  'then N left the P .',
  'later N came back to the P with the T .',
  'N said the T was old .',
  'nobody else saw N at the P .',
  'N kept the T .',
] as const;

/** The stories the training page starts with (and its benchmark and browser test read): their seed and length. */
export const PAGE_STORIES = Object.freeze({ seed: 1, words: 20_000 });

/** Sentences per story: at least this many, and up to two more. */
const STORY_SENTENCES = 4;

/**
 * Generated stories, one per line (so each ends with `<eos>` when read), of at least `words` words in all. Each
 * story draws a person, a place and a thing and tells four to six sentences about them: a model that remembers the
 * story so far can name them; one that sees only the last word or two cannot.
 * @param seed - seeds every choice: the same seed gives the same text
 * @param words - how many words (counting each line's end) to write at least
 */
export function storyText(seed: number, words: number): string {
  const rng = new Random(seed);
  const pick = <T>(items: readonly T[]): T => items[rng.int(0, items.length - 1)] as T;
  const lines: string[] = [];
  let written = 0;
  while (written < words) {
    const [name, place, thing] = [pick(STORY_CAST.names), pick(STORY_CAST.places), pick(STORY_CAST.things)];
    const count = STORY_SENTENCES + rng.int(0, 2);
    const sentences = Array.from({ length: count }, () => pick(TEMPLATES).replace('N', name).replace('P', place).replace('T', thing));
    const line = sentences.join(' ');
    lines.push(line);
    written += line.split(' ').length + 1;
  }
  return `${lines.join('\n')}\n`;
}

/** A text's words split for training: the first part to learn from, the rest to measure on. */
export interface SplitText {
  /** Words to train on (`<eos>` at each sentence's or line's end). */
  train: string[];
  /** Words held out to measure perplexity on. */
  valid: string[];
  /** Words longer than `MAX_WORD_LENGTH` characters (a URL, a run of symbols), read as `<unk>`. */
  long: number;
}

/** The share of the text's words held out for validation. */
export const VALID_FRACTION = 0.1;

/**
 * Reads a text the way the page trains on it and splits it: Penn Treebank's tokenisation (lower case, punctuation
 * off the words, numbers as `N`, `<eos>` at each sentence end; a word longer than `MAX_WORD_LENGTH` characters becomes
 * `<unk>`, counted), then the last {@link VALID_FRACTION} of the words, from a sentence's start, are held out.
 * @param text - the visitor's text (or {@link storyText}'s)
 */
export function splitText(text: string): SplitText {
  let long = 0;
  const words = ptbTokens(text).map((word) => {
    if (word.length <= MAX_WORD_LENGTH) return word;
    long++;
    return UNKNOWN_WORD;
  });
  let cut = Math.floor(words.length * (1 - VALID_FRACTION));
  // Move the cut to just after a sentence end, if one comes soon enough, so validation starts with a sentence.
  const end = words.indexOf(END_OF_SENTENCE, Math.max(0, cut - 1));
  if (end !== -1 && end + 1 < words.length && end + 1 - cut < words.length * VALID_FRACTION * 0.5) cut = end + 1;
  return { train: words.slice(0, cut), valid: words.slice(cut), long };
}

/** A split text as the worker trains on it: word ids over the training words' vocabulary. */
export interface TrainerCorpus {
  /** Every training word, and `<unk>`. */
  vocabulary: LmVocabulary;
  train: Int32Array;
  valid: Int32Array;
  /** Held-out words outside the training words (read as `<unk>`). */
  unknownValid: number;
}

/**
 * The ids the worker trains on: the vocabulary is every training word plus `<unk>`, which stands for held-out words
 * the training words do not have.
 * @param text - the split text
 */
export function trainerCorpus(text: Pick<SplitText, 'train' | 'valid'>): TrainerCorpus {
  const vocabulary = vocabularyOfText(text.train.includes(UNKNOWN_WORD) ? text.train : [...text.train, UNKNOWN_WORD], undefined, 'your text');
  const valid = vocabulary.encode(text.valid);
  return { vocabulary, train: vocabulary.encode(text.train).ids, valid: valid.ids, unknownValid: valid.unknown };
}

/** The interpolation weights of the bigram's estimate tried (the best on validation is reported: a generous baseline). */
export const BIGRAM_WEIGHTS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.99] as const;

/**
 * The validation perplexity of a bigram count model of the training text: p(w | v) = λ·c(v w)/c(v) + (1 − λ)·p₁(w),
 * p₁ the add-one unigram (p₁ alone after a word v never seen in training), with the best λ of {@link BIGRAM_WEIGHTS}. It sees one word back: what a memory of the
 * words before must beat. Word ids must be below `vocabularySize`.
 * @param train - the training text's word ids
 * @param valid - the validation text's word ids (at least two)
 * @param vocabularySize - the number of word ids
 */
export function bigramPerplexity(train: Int32Array, valid: Int32Array, vocabularySize: number): number {
  if (valid.length < 2) throw new Error('bigramPerplexity: the validation text needs at least two words');
  const unigram = new Float64Array(vocabularySize).fill(1);
  const context = new Float64Array(vocabularySize);
  const pairs = new Map<number, number>();
  for (let i = 0; i < train.length; i++) {
    const w = train[i] as number;
    unigram[w] = (unigram[w] as number) + 1;
    if (i === 0) continue;
    const v = train[i - 1] as number;
    context[v] = (context[v] as number) + 1;
    pairs.set(v * vocabularySize + w, (pairs.get(v * vocabularySize + w) ?? 0) + 1);
  }
  const total = train.length + vocabularySize;
  let best = Number.POSITIVE_INFINITY;
  for (const lambda of BIGRAM_WEIGHTS) {
    let nats = 0;
    for (let i = 1; i < valid.length; i++) {
      const v = valid[i - 1] as number;
      const w = valid[i] as number;
      const seen = context[v] as number;
      const unigramP = (unigram[w] as number) / total;
      nats -= Math.log(seen > 0 ? lambda * ((pairs.get(v * vocabularySize + w) ?? 0) / seen) + (1 - lambda) * unigramP : unigramP);
    }
    best = Math.min(best, Math.exp(nats / (valid.length - 1)));
  }
  return best;
}
