import { type BabiExample, type Vocabulary, answerToken } from '@engram/datasets';
import { EngramError, type Random } from '@engram/tensor';
import { type MemnetConfig, defaultMemnetConfig } from './config.js';

/**
 * Position encoding as the paper writes it (Sukhbaatar et al. 2015, §4.1): the weight l_kj of word
 * j (1-based) of a J-word sentence in embedding dimension k (1-based) of d,
 * l_kj = (1 − j/J) − (k/d)(1 − 2j/J), J the sentence's own length. Used by `position-paper`.
 * @param position - j, the word's 1-based position in the sentence
 * @param sentenceLength - J, the number of words in the sentence
 * @param dimension - k, the 1-based embedding dimension
 * @param embeddingSize - d, the embedding width
 */
export function positionWeight(position: number, sentenceLength: number, dimension: number, embeddingSize: number): number {
  return 1 - position / sentenceLength - (dimension / embeddingSize) * (1 - (2 * position) / sentenceLength);
}

/**
 * Position encoding as the official Matlab/Lua code computes it (the default, `position`):
 * l_kj = 1 + 4(k − (d+1)/2)(j − (J+1)/2)/(dJ), with one J for all sentences (the longest sentence
 * of the data plus one). Near 1 everywhere, tilted by position; it does better on bAbI than the
 * paper's formula (docs/results/memnet.md).
 * @param position - j, the word's 1-based position in the sentence
 * @param sentenceLength - J, the longest sentence the model was sized for
 * @param dimension - k, the 1-based embedding dimension
 * @param embeddingSize - d, the embedding width
 */
export function officialPositionWeight(position: number, sentenceLength: number, dimension: number, embeddingSize: number): number {
  return 1 + (4 * (dimension - (embeddingSize + 1) / 2) * (position - (sentenceLength + 1) / 2)) / (embeddingSize * sentenceLength);
}

/** l_kj for a config's encoding (1 for bag-of-words). */
function wordWeight(config: MemnetConfig, position: number, length: number, dimension: number): number {
  const d = config.embeddingSize;
  if (config.encoding === 'position') return officialPositionWeight(position, config.sentenceLength, dimension, d);
  if (config.encoding === 'position-paper') return positionWeight(position, length, dimension, d);
  return 1;
}

/** Row of {@link MemnetBatch.weights} for padding (all zeros). */
export const PADDING_WEIGHT_ROW = 0;
/** Row of {@link MemnetBatch.weights} for time tokens and bag-of-words (all ones). */
export const UNIT_WEIGHT_ROW = 1;

/**
 * One bAbI batch as index arrays, ready for {@link memnetForward}. Memory slots hold the last
 * `slots` sentences of each story, oldest first. Word weights l_j are rows of a small table,
 * `weights`, picked per token by `memoryWeightRows` / `queryWeightRows` (padding picks the zero row).
 */
export interface MemnetBatch {
  /** B: examples in the batch. */
  size: number;
  /** M: memory slots (`memorySize` with `emptySlots: 'attend'`; else the longest kept story in the batch). */
  slots: number;
  /** L: tokens per memory slot (longest sentence, plus one for the time token when temporal). */
  memoryWords: number;
  /** Tokens per question (longest question in the batch). */
  queryWords: number;
  /** `[B, M, L]` token ids; the time token of a slot of age t is `vocabularySize + t`. */
  memoryTokens: Int32Array;
  /** `[B, M, L]`: each token's row of `weights`. */
  memoryWeightRows: Int32Array;
  /** `[weightRows, d]`: the distinct l_j vectors (row 0 zeros, row 1 ones, then one per position). */
  weights: Float32Array;
  /** Rows of `weights`. */
  weightRows: number;
  /** `[B, M]`: 1 for a slot that counts in the attention (every slot with `emptySlots: 'attend'`), 0 for a masked one. */
  mask: Float32Array;
  /** `[B, Lq]` question token ids. */
  queryTokens: Int32Array;
  /** `[B, Lq]`: each question token's row of `weights`. */
  queryWeightRows: Int32Array;
  /** `[B]`: the answer's vocabulary index, or −1 when an example has no answer (a question to ask). */
  answers: Int32Array;
  /** `[B]`: index in the example's story of the sentence in memory slot 0. */
  firstSentence: Int32Array;
  /** `[B]`: sentences of each example in memory. */
  sentences: Int32Array;
}

/** Options for {@link encodeBatch}. */
export interface EncodeOptions {
  /**
   * Random noise (§4.2 "RN"): the fraction of empty memories inserted at random into each story's
   * time line, so the temporal encoding cannot overfit exact ages. 0 (the default) for testing;
   * the paper trains with 0.1. Needs `rng`.
   */
  timeNoise?: number;
  /** Generator for the time noise. */
  rng?: Random;
}

/**
 * The longest sentence or question of the examples, in words (the official code's max_words).
 * @param examples - the examples to scan (story sentences and questions)
 */
export function longestSentence(examples: readonly BabiExample[]): number {
  let longest = 0;
  for (const e of examples) {
    for (const s of e.story) longest = Math.max(longest, s.length);
    longest = Math.max(longest, e.question.length);
  }
  return longest;
}

/** The paper's memory size: the last 50 sentences. */
export const PAPER_MEMORY_SIZE = 50;

/**
 * The paper's model sized for a data set, as the official code sizes it: memory of min(50, the
 * longest training story) sentences, J of the position encoding = the longest sentence or question
 * (training and test) plus one, and the vocabulary's size. `overrides` change anything else.
 * @param vocabulary - the vocabulary of the training (and test) examples
 * @param train - the training examples (their longest story sets the memory size)
 * @param test - the test examples (their sentences count towards the longest sentence)
 * @param overrides - any field to change
 */
export function memnetConfigFor(
  vocabulary: Vocabulary,
  train: readonly BabiExample[],
  test: readonly BabiExample[] = [],
  overrides: Partial<MemnetConfig> = {},
): MemnetConfig {
  let longestStory = 1;
  for (const e of train) longestStory = Math.max(longestStory, e.story.length);
  return defaultMemnetConfig(vocabulary.size, {
    memorySize: Math.min(PAPER_MEMORY_SIZE, longestStory),
    sentenceLength: Math.max(longestSentence(train), longestSentence(test)) + 1,
    ...overrides,
  });
}

/**
 * Words of an example not in the vocabulary (story, question and answer), in order of appearance.
 * @param example - the example to check
 * @param vocabulary - the model's vocabulary
 */
export function unknownWords(example: BabiExample, vocabulary: Vocabulary): string[] {
  const unknown = new Set<string>();
  const check = (w: string): void => {
    if (vocabulary.indexOf(w) === undefined) unknown.add(w);
  };
  for (const s of example.story) for (const w of s) check(w);
  for (const w of example.question) check(w);
  if (example.answer.length > 0) check(answerToken(example));
  return [...unknown];
}

/**
 * Ages (0 = the most recent sentence) for a story of `count` sentences, capped at `memorySize − 1`.
 * With noise, `blank` ∈ [0, ⌈count·noise⌉] empty memories are placed at random among the sentences
 * (the official code's randomize_time), which spreads the ages out.
 * @param count - the number of sentences in the story
 * @param memorySize - the memory's size (ages are capped at memorySize − 1)
 * @param noise - the fraction of empty memories to insert at random (0: none)
 * @param rng - the seeded random source for the noise
 */
export function sentenceAges(count: number, memorySize: number, noise: number, rng?: Random): Int32Array {
  const ages = new Int32Array(count);
  agesInto(ages, count, memorySize, noise, rng);
  return ages;
}

/** Scratch for {@link agesInto}'s permutation (grown as needed): encodeBatch calls it once per example. */
let positionScratch = new Int32Array(64);

/**
 * {@link sentenceAges} written into `ages` (at least `count` long) without allocating: the same draws from `rng`
 * (one `int`, then a permutation of count + blank into a scratch array) and the same ages.
 */
function agesInto(ages: Int32Array, count: number, memorySize: number, noise: number, rng?: Random): void {
  if (!(noise > 0 && rng !== undefined)) {
    for (let i = 0; i < count; i++) ages[i] = Math.min(count - 1 - i, memorySize - 1);
    return;
  }
  const blank = rng.int(0, Math.ceil(count * noise));
  const n = count + blank;
  if (positionScratch.length < n) positionScratch = new Int32Array(2 * n);
  const order = positionScratch;
  rng.permutationInto(order, n);
  // The first `count` positions of the permutation, ascending (insertion sort: a story keeps at most memorySize).
  for (let i = 1; i < count; i++) {
    const v = order[i] as number;
    let k = i - 1;
    while (k >= 0 && (order[k] as number) > v) {
      order[k + 1] = order[k] as number;
      k--;
    }
    order[k + 1] = v;
  }
  // The newest sentence takes the smallest sampled position.
  for (let i = 0; i < count; i++) ages[i] = Math.min(order[count - 1 - i] as number, memorySize - 1);
}

/**
 * The weight table of a config for the sentence lengths of one batch: row 0 zeros, row 1 ones, then,
 * for `position`, row 2 + (j − 1) for word j (up to the longest sentence); for `position-paper`, one
 * block of J rows per distinct length J present, row `start(J)` + (j − 1) for word j. Its size is
 * linear in the batch's words (a table for every length up to the longest would be quadratic:
 * one 8,000-word sentence would need 32 million rows). Cached per (config, lengths).
 */
class WeightTable {
  readonly rows: number;
  readonly data: Float32Array;
  /** For `position-paper`: the first row of each length's block. */
  private readonly starts = new Map<number, number>();
  constructor(
    private readonly config: MemnetConfig,
    lengths: readonly number[],
  ) {
    const d = config.embeddingSize;
    const longest = Math.max(1, ...lengths);
    let rows = 2;
    if (config.encoding === 'position') rows += longest;
    else if (config.encoding === 'position-paper')
      for (const length of lengths) {
        this.starts.set(length, rows);
        rows += length;
      }
    this.rows = rows;
    this.data = new Float32Array(this.rows * d);
    this.data.fill(1, UNIT_WEIGHT_ROW * d, (UNIT_WEIGHT_ROW + 1) * d);
    const fill = (j: number, length: number): void => {
      const row = this.row(j, length);
      for (let k = 1; k <= d; k++) this.data[row * d + k - 1] = wordWeight(this.config, j, length, k);
    };
    if (config.encoding === 'position') for (let j = 1; j <= longest; j++) fill(j, longest);
    else if (config.encoding === 'position-paper') for (const length of lengths) for (let j = 1; j <= length; j++) fill(j, length);
  }
  /** The row for word j (1-based) of a sentence of `length` words. */
  row(j: number, length: number): number {
    if (this.config.encoding === 'position') return 2 + (j - 1);
    if (this.config.encoding === 'position-paper') return (this.starts.get(length) as number) + (j - 1);
    return UNIT_WEIGHT_ROW;
  }
  /**
   * Writes the rows of a sentence's `length` words into `out` from `at`: consecutive rows from word 1's (bag-of-words:
   * the unit row for every word).
   * @param out - the batch's row array
   * @param at - where the sentence's first word goes
   * @param length - the sentence's words
   */
  rowsInto(out: Int32Array, at: number, length: number): void {
    if (this.config.encoding !== 'position' && this.config.encoding !== 'position-paper') {
      out.fill(UNIT_WEIGHT_ROW, at, at + length);
      return;
    }
    const start = this.row(1, length);
    for (let j = 0; j < length; j++) out[at + j] = start + j;
  }
}

/** Weight tables per config, and word ids per (vocabulary, example): epochs re-encode the same examples. */
const weightTables = new WeakMap<MemnetConfig, Map<string, WeightTable>>();
const idCaches = new WeakMap<Vocabulary, WeakMap<BabiExample, ExampleIds>>();

/** An example's word ids, looked up once per vocabulary. */
interface ExampleIds {
  /** Every story sentence's ids, one after another. */
  story: Int32Array;
  /** Where sentence i starts in `story` (one more entry than sentences: the last is the end). */
  starts: Int32Array;
  /** The question's ids. */
  question: Int32Array;
  /** The answer's id, or −1 without an answer. */
  answer: number;
}

/** The id {@link exampleIds} records for a word the vocabulary lacks (encodeBatch names it if the batch uses it). */
const UNKNOWN = -1;

/**
 * The word ids of an example, from the vocabulary's cache or looked up once (and then cached); a word the vocabulary
 * lacks is {@link UNKNOWN} (a sentence older than the memory may hold one: only the sentences a batch keeps count).
 * @param example - the example
 * @param vocabulary - the model's vocabulary
 */
function exampleIds(example: BabiExample, vocabulary: Vocabulary): ExampleIds {
  let cache = idCaches.get(vocabulary);
  if (cache === undefined) {
    cache = new WeakMap();
    idCaches.set(vocabulary, cache);
  }
  const cached = cache.get(example);
  if (cached !== undefined) return cached;
  const lookUp = (w: string): number => vocabulary.indexOf(w) ?? UNKNOWN;
  const starts = new Int32Array(example.story.length + 1);
  for (let i = 0; i < example.story.length; i++) starts[i + 1] = (starts[i] as number) + (example.story[i] as string[]).length;
  const story = new Int32Array(starts[example.story.length] as number);
  example.story.forEach((sentence, i) => {
    sentence.forEach((w, j) => {
      story[(starts[i] as number) + j] = lookUp(w);
    });
  });
  const question = Int32Array.from(example.question, lookUp);
  const answer = example.answer.length === 0 ? UNKNOWN : lookUp(answerToken(example));
  const ids: ExampleIds = { story, starts, question, answer };
  cache.set(example, ids);
  return ids;
}

/** encodeBatch's error for a word the vocabulary lacks, where the batch uses it. */
function unknownWord(example: number, where: string, word: string): EngramError {
  return new EngramError(`encodeBatch: unknown word '${word}' in example ${example}, ${where} (not in the model's vocabulary)`);
}

/**
 * Turns bAbI examples into a {@link MemnetBatch}: the last `memorySize` sentences of each story
 * as memory, the question, and the answer index. Unknown words are an error naming the word.
 * @param examples - the bAbI examples to encode
 * @param vocabulary - the model's vocabulary
 * @param config - the model's config (memory size, encoding, time)
 * @param options - random time noise and its seeded random source
 */
export function encodeBatch(examples: readonly BabiExample[], vocabulary: Vocabulary, config: MemnetConfig, options: EncodeOptions = {}): MemnetBatch {
  if (examples.length === 0) throw new EngramError('encodeBatch: no examples');
  if (vocabulary.size !== config.vocabularySize)
    throw new EngramError(`encodeBatch: the vocabulary has ${vocabulary.size} words, the model expects ${config.vocabularySize}`);
  let tables = weightTables.get(config);
  if (tables === undefined) {
    tables = new Map();
    weightTables.set(config, tables);
  }
  const time = config.temporal ? 1 : 0;
  const size = examples.length;
  let slots = 1;
  let longestSentence = 1;
  let queryWords = 1;
  // `position-paper` needs a table block per distinct length; the other encodings only the longest.
  const perLength = config.encoding === 'position-paper';
  const lengths = new Set<number>();
  for (const e of examples) {
    const first = Math.max(0, e.story.length - config.memorySize);
    slots = Math.max(slots, e.story.length - first);
    for (let i = first; i < e.story.length; i++) {
      const length = (e.story[i] as string[]).length;
      longestSentence = Math.max(longestSentence, length);
      if (perLength) lengths.add(length);
    }
    queryWords = Math.max(queryWords, e.question.length);
    if (perLength) lengths.add(e.question.length);
  }
  // With `attend`, every example has the full memory: its empty slots take part in the softmax.
  if (config.emptySlots === 'attend') slots = config.memorySize;
  const memoryWords = longestSentence + time;
  const tableLengths = perLength ? [...lengths].filter((l) => l > 0).sort((a, b) => a - b) : [Math.max(longestSentence, queryWords)];
  const key = tableLengths.join(',');
  let table = tables.get(key);
  if (table === undefined) {
    if (tables.size >= 256) tables.clear(); // shuffled batches of `position-paper` give many length sets
    table = new WeightTable(config, tableLengths);
    tables.set(key, table);
  }
  const weights = table;
  const memoryTokens = new Int32Array(size * slots * memoryWords);
  const memoryWeightRows = new Int32Array(size * slots * memoryWords);
  const mask = new Float32Array(size * slots);
  const queryTokens = new Int32Array(size * queryWords);
  const queryWeightRows = new Int32Array(size * queryWords);
  const answers = new Int32Array(size);
  const firstSentence = new Int32Array(size);
  const sentences = new Int32Array(size);
  const ages = new Int32Array(slots);
  for (let b = 0; b < size; b++) {
    const example = examples[b] as BabiExample;
    const ids = exampleIds(example, vocabulary);
    const first = Math.max(0, example.story.length - config.memorySize);
    const kept = example.story.length - first;
    firstSentence[b] = first;
    sentences[b] = kept;
    // Slots that count in the attention: all of them with `attend`, else the real sentences.
    mask.fill(1, b * slots, b * slots + (config.emptySlots === 'attend' ? slots : kept));
    agesInto(ages, kept, config.memorySize, options.timeNoise ?? 0, options.rng);
    for (let i = 0; i < kept; i++) {
      const from = ids.starts[first + i] as number;
      const length = (ids.starts[first + i + 1] as number) - from;
      const base = (b * slots + i) * memoryWords;
      for (let j = 0; j < length; j++) {
        const id = ids.story[from + j] as number;
        if (id === UNKNOWN) throw unknownWord(b, `sentence ${first + i + 1}`, (example.story[first + i] as string[])[j] as string);
        memoryTokens[base + j] = id;
      }
      weights.rowsInto(memoryWeightRows, base, length);
      if (time === 1) {
        const timeSlot = base + memoryWords - 1;
        memoryTokens[timeSlot] = config.vocabularySize + (ages[i] as number);
        memoryWeightRows[timeSlot] = UNIT_WEIGHT_ROW;
      }
    }
    const unknownInQuestion = ids.question.indexOf(UNKNOWN);
    if (unknownInQuestion >= 0) throw unknownWord(b, 'question', example.question[unknownInQuestion] as string);
    queryTokens.set(ids.question, b * queryWords);
    weights.rowsInto(queryWeightRows, b * queryWords, ids.question.length);
    if (example.answer.length > 0 && ids.answer === UNKNOWN) throw unknownWord(b, 'answer', answerToken(example));
    answers[b] = ids.answer;
  }
  return {
    size,
    slots,
    memoryWords,
    queryWords,
    memoryTokens,
    memoryWeightRows,
    weights: weights.data,
    weightRows: weights.rows,
    mask,
    queryTokens,
    queryWeightRows,
    answers,
    firstSentence,
    sentences,
  };
}
