import { EngramError } from '@engram/tensor';
import { readDataFile } from './files.js';

/**
 * One bAbI question with the story before it (Weston et al. 2015, "Towards AI-Complete Question
 * Answering"). Sentences and the question are lower-cased word tokens; `supportingFacts` index into
 * `story` (the sentences a perfect reader needs).
 */
export interface BabiExample {
  /** The story's sentences up to the question, oldest first (earlier questions left out). */
  story: string[][];
  /** The question's tokens (without the question mark). */
  question: string[];
  /** The answer's words: one, or several in tasks 8 and 19 (`football,apple`, `n,w`). */
  answer: string[];
  /** Indices into `story` of the supporting facts. */
  supportingFacts: number[];
  /** Which story of its file the question belongs to (0-based; set by {@link parseBabi}): the questions of one story share it. */
  episode?: number;
}

/** The file's 1-based line numbers restart at 1 with each story; one line is one sentence or question. */
// `s`: a carriage return or a Unicode line separator inside a line is part of its text.
const LINE = /^(\d+) (.*)$/s;

/**
 * The usual bAbI tokenisation: lower case, words split on anything that is not a letter, digit or
 * apostrophe, sentence punctuation dropped.
 * @param text - the text to split into lower-case words
 */
export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9']+/)
    .filter((t) => t.length > 0);
}

/**
 * Parses a bAbI task file (the official format: an id that restarts at 1 with each story, then a
 * sentence; or a question, a tab, the answer, a tab, the supporting-fact ids). Malformed input gets
 * an {@link EngramError} naming `source` and the line number.
 * @param text - the file's contents
 * @param source - named in errors
 */
export function parseBabi(text: string, source = 'bAbI data'): BabiExample[] {
  const examples: BabiExample[] = [];
  let sentences: string[][] = [];
  // Line id → index into `sentences` (questions get no index).
  let indexOfId = new Map<number, number>();
  let previousId = 0;
  let episode = -1;
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const lineNumber = i + 1;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const fail = (message: string): never => {
      throw new EngramError(`${source}:${lineNumber}: ${message}`);
    };
    const match = LINE.exec(line);
    if (!match) throw fail(`expected "<id> <sentence>", got ${JSON.stringify(line.slice(0, 60))}`);
    const id = Number(match[1]);
    const body = match[2] as string;
    if (id === 1) {
      sentences = [];
      indexOfId = new Map();
      episode++;
    } else if (id !== previousId + 1) {
      fail(`line id ${id} does not follow ${previousId} (ids restart at 1 with each story)`);
    }
    previousId = id;
    const fields = body.split('\t');
    if (fields.length === 1) {
      const tokens = tokenize(body);
      if (tokens.length === 0) fail('empty sentence');
      indexOfId.set(id, sentences.length);
      sentences.push(tokens);
      continue;
    }
    if (fields.length !== 3) fail(`a question line needs "question<TAB>answer<TAB>supporting ids", got ${fields.length} tab-separated fields`);
    const [question, answer, support] = fields as [string, string, string];
    const answerWords = answer
      .split(',')
      .map((w) => w.trim().toLowerCase())
      .filter((w) => w.length > 0);
    if (answerWords.length === 0) fail('empty answer');
    const ids = support
      .trim()
      .split(/\s+/)
      .filter((s) => s.length > 0);
    if (ids.length === 0) fail('a question line needs the ids of its supporting facts');
    const supportingFacts = ids.map((s) => {
      // Plain decimal integers only: 0x1, +1 and 1e0 are not ids.
      if (!/^\d{1,9}$/.test(s)) return fail(`supporting fact ${JSON.stringify(s)} is not a line id`);
      const factId = Number(s);
      const index = indexOfId.get(factId);
      if (!Number.isInteger(factId) || index === undefined) return fail(`supporting fact ${JSON.stringify(s)} is not an earlier sentence of this story`);
      return index;
    });
    const questionTokens = tokenize(question);
    if (questionTokens.length === 0) fail('empty question');
    examples.push({ story: sentences.map((s) => s.slice()), question: questionTokens, answer: answerWords, supportingFacts, episode });
  }
  if (examples.length === 0) throw new EngramError(`${source}: no question in the file`);
  return examples;
}

/** A sentence of a {@link BabiEpisode}. */
export interface BabiSentenceLine {
  /** What the line is. */
  kind: 'sentence';
  /** Its words. */
  words: string[];
}

/** A question of a {@link BabiEpisode}, with its answer. */
export interface BabiQuestionLine {
  /** What the line is. */
  kind: 'question';
  /** The question's words (without the question mark). */
  words: string[];
  /** The answer's words. */
  answer: string[];
}

/** One line of a {@link BabiEpisode}: a sentence, or a question with its answer words. */
export type BabiEpisodeLine = BabiSentenceLine | BabiQuestionLine;

/** A whole bAbI story in file order, its questions where they were asked (what the DNC reads, Graves et al. 2016). */
export interface BabiEpisode {
  /** The sentences and questions, in order. */
  lines: BabiEpisodeLine[];
}

/**
 * The stories of parsed bAbI examples, each with its questions in place: consecutive examples of one story
 * (the same `episode`, or, without it, each story extending the one before) become one episode, the
 * sentences new since the previous question followed by the question.
 * @param examples - examples in file order (as {@link parseBabi} returns them)
 */
export function babiEpisodes(examples: readonly BabiExample[]): BabiEpisode[] {
  const episodes: BabiEpisode[] = [];
  let current: BabiEpisode | null = null;
  let previous: BabiExample | null = null;
  const extends_ = (e: BabiExample, p: BabiExample): boolean =>
    e.episode !== undefined && p.episode !== undefined
      ? e.episode === p.episode
      : e.story.length >= p.story.length && p.story.every((s, i) => s.length === e.story[i]?.length && s.every((w, j) => w === e.story[i]?.[j]));
  for (const e of examples) {
    if (current === null || previous === null || !extends_(e, previous)) {
      current = { lines: [] };
      episodes.push(current);
      previous = null;
    }
    for (const words of e.story.slice(previous?.story.length ?? 0)) current.lines.push({ kind: 'sentence', words: words.slice() });
    current.lines.push({ kind: 'question', words: e.question.slice(), answer: e.answer.slice() });
    previous = e;
  }
  return episodes;
}

/**
 * The answer as one class label: the answer words joined by commas (`football,apple` in task 8,
 * `n,w` in task 19), as the official MemN2N code treats them; a one-word answer is that word.
 * @param example - the example whose answer words are joined
 */
export function answerToken(example: Pick<BabiExample, 'answer'>): string {
  return example.answer.join(',');
}

/** A word ↔ index map. Index 0 is reserved for padding (`PAD`). */
export class Vocabulary {
  /** The padding token at index 0. */
  static readonly PAD = '<pad>';
  /** Words by index. */
  readonly words: string[] = [Vocabulary.PAD];
  private readonly indices = new Map<string, number>([[Vocabulary.PAD, 0]]);

  /**
   * A vocabulary of every word in the examples' stories, questions and answers, plus each
   * multi-word {@link answerToken}, sorted.
   * @param examples - the examples whose stories, questions and answers give the words
   */
  static fromExamples(examples: readonly BabiExample[]): Vocabulary {
    const words = new Set<string>();
    for (const e of examples) {
      for (const s of e.story) for (const w of s) words.add(w);
      for (const w of e.question) words.add(w);
      for (const w of e.answer) words.add(w);
      words.add(answerToken(e));
    }
    const vocabulary = new Vocabulary();
    for (const w of [...words].sort()) vocabulary.add(w);
    return vocabulary;
  }

  /**
   * A vocabulary with exactly these words after the padding token, in this order (as saved with a model).
   * @param words - the words in index order (index 0 must be the padding word)
   */
  static fromWords(words: readonly string[]): Vocabulary {
    const vocabulary = new Vocabulary();
    for (const w of words) {
      if (w === Vocabulary.PAD) continue;
      if (vocabulary.indexOf(w) !== undefined) throw new EngramError(`Vocabulary.fromWords: '${w}' appears twice`);
      vocabulary.add(w);
    }
    return vocabulary;
  }

  /**
   * Adds a word (if new) and returns its index.
   * @param word - the word to add (kept once)
   */
  add(word: string): number {
    const known = this.indices.get(word);
    if (known !== undefined) return known;
    this.words.push(word);
    this.indices.set(word, this.words.length - 1);
    return this.words.length - 1;
  }

  /**
   * The index of a word, or undefined when it is not in the vocabulary.
   * @param word - the word to look up
   */
  indexOf(word: string): number | undefined {
    return this.indices.get(word);
  }

  /** Number of entries, padding included. */
  get size(): number {
    return this.words.length;
  }
}

/** The 20 tasks' file-name stems in the official release (`qa1_single-supporting-fact`, ...). */
export const BABI_TASKS = [
  'qa1_single-supporting-fact',
  'qa2_two-supporting-facts',
  'qa3_three-supporting-facts',
  'qa4_two-arg-relations',
  'qa5_three-arg-relations',
  'qa6_yes-no-questions',
  'qa7_counting',
  'qa8_lists-sets',
  'qa9_simple-negation',
  'qa10_indefinite-knowledge',
  'qa11_basic-coreference',
  'qa12_conjunction',
  'qa13_compound-coreference',
  'qa14_time-reasoning',
  'qa15_basic-deduction',
  'qa16_basic-induction',
  'qa17_positional-reasoning',
  'qa18_size-reasoning',
  'qa19_path-finding',
  'qa20_agents-motivations',
] as const;

/**
 * Reads task `task` (1..20) of an unpacked bAbI release folder (`en` or `en-10k`) from disk.
 * Node only. Errors name the file and line.
 * @param folder - the folder holding the qaN_*_train.txt and _test.txt files
 * @param task - the task number, 1..20
 * @param split - train or test
 * @example
 * ```ts
 * await downloadBabi({ to: 'data/babi' });
 * const train = await loadBabiTask('data/babi/en', 1, 'train');
 * console.log(train.length, train[0]?.question, train[0]?.answer); // 1000 [ 'where', 'is', 'mary' ] …
 * ```
 */
export async function loadBabiTask(folder: string, task: number, split: 'train' | 'test'): Promise<BabiExample[]> {
  const stem = BABI_TASKS[task - 1];
  if (stem === undefined) throw new EngramError(`loadBabiTask: task must be 1..20, got ${task}`);
  const { path, text } = await readDataFile('loadBabiTask', folder, `${stem}_${split}.txt`);
  return parseBabi(text, path);
}
