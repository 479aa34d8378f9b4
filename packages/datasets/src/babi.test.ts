import { existsSync } from 'node:fs';
import { EngramError } from '@engram/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { BABI_TASKS, Vocabulary, babiEpisodes, loadBabiTask, parseBabi } from './index.js';

/** The local copy of the official release (shared/ beside the repository); tests never download. */
const BABI = new URL('../../../../shared/data/babi/', import.meta.url).pathname;

describe('bAbI reader', () => {
  it('parses stories, questions, answers and supporting facts', () => {
    const examples = parseBabi(
      [
        '1 Mary moved to the bathroom.',
        '2 John went to the hallway.',
        '3 Where is Mary? \tbathroom\t1',
        '4 Daniel went back to the hallway.',
        '5 Where is Daniel? \thallway\t4',
        '1 Sandra took the apple.',
        '2 What is Sandra carrying?\tapple,milk\t1',
      ].join('\n'),
    );
    expect(examples).toHaveLength(3);
    expect(examples[0]).toEqual({
      story: [
        ['mary', 'moved', 'to', 'the', 'bathroom'],
        ['john', 'went', 'to', 'the', 'hallway'],
      ],
      question: ['where', 'is', 'mary'],
      answer: ['bathroom'],
      supportingFacts: [0],
      episode: 0,
    });
    // Questions are not sentences of the story: fact 4 is the third sentence.
    expect(examples[1]?.story).toHaveLength(3);
    expect(examples[1]?.supportingFacts).toEqual([2]);
    // A new story starts at id 1; multi-word answers split on commas.
    expect(examples[2]?.story).toEqual([['sandra', 'took', 'the', 'apple']]);
    expect(examples[2]?.answer).toEqual(['apple', 'milk']);

    // Whole stories with their questions in place, as the DNC reads them.
    const episodes = babiEpisodes(examples);
    expect(episodes.map((e) => e.lines.map((l) => (l.kind === 'question' ? `?${l.words.join(' ')}=${l.answer.join(',')}` : l.words.join(' '))))).toEqual([
      ['mary moved to the bathroom', 'john went to the hallway', '?where is mary=bathroom', 'daniel went back to the hallway', '?where is daniel=hallway'],
      ['sandra took the apple', '?what is sandra carrying=apple,milk'],
    ]);
    // Without episode numbers (examples built by hand), a story that does not extend the last starts a new episode.
    const bare = examples.map(({ episode: _, ...e }) => e);
    expect(babiEpisodes(bare)).toEqual(episodes);
  });

  it('groups every question of a real task into its story, in order, and keeps each story whole', () => {
    const text = (file: string) => `${BABI}en/${file}`;
    if (!existsSync(text('qa1_single-supporting-fact_test.txt'))) return;
    for (const task of [1, 8, 19]) {
      const examples = parseBabi(readFileSync(text(`${BABI_TASKS[task - 1]}_test.txt`), 'utf8'));
      const episodes = babiEpisodes(examples);
      expect(episodes.flatMap((e) => e.lines.filter((l) => l.kind === 'question')).length).toBe(examples.length);
      expect(episodes.length).toBe(new Set(examples.map((e) => e.episode)).size);
      // The last question of each story sees the story's every sentence.
      let k = 0;
      for (const episode of episodes) {
        const questions = episode.lines.filter((l) => l.kind === 'question').length;
        k += questions;
        expect(episode.lines.filter((l) => l.kind === 'sentence').length).toBe(examples[k - 1]?.story.length);
      }
    }
  });

  it.each([
    ['no id', 'Mary moved.', /data\.txt:1: expected "<id> <sentence>"/],
    ['ids out of order', '1 Mary moved.\n3 John went.', /data\.txt:2: line id 3 does not follow 1/],
    ['a supporting fact that is not a sentence', '1 Mary moved.\n2 Where is Mary?\tkitchen\t5', /data\.txt:2: supporting fact "5" is not an earlier sentence/],
    ['too few fields', '1 Mary moved.\n2 Where is Mary?\tkitchen', /data\.txt:2: a question line needs/],
  ])('names the file and line of %s', (_, text, message) => {
    expect(() => parseBabi(text, 'data.txt')).toThrow(EngramError);
    expect(() => parseBabi(text, 'data.txt')).toThrow(message);
  });

  it('is strict where the format is: no question, no supporting facts, ids that are not plain integers', () => {
    expect(() => parseBabi('1 Mary went to the garden.\n', 'f')).toThrow(/f: no question in the file/);
    expect(() => parseBabi('1 Mary went home.\n2 Where is Mary?\thome\t\n', 'f')).toThrow(/f:2: a question line needs the ids of its supporting facts/);
    for (const id of ['0x1', '+1', '1e0', '1.0'])
      expect(() => parseBabi(`1 Mary went home.\n2 Where is Mary?\thome\t${id}\n`, 'f')).toThrow(/is not a line id/);
    // A carriage return or a Unicode line separator inside a line is text (and not a word).
    const [example] = parseBabi('1 Mary went\r to the\u2028garden.\n2 Where is Mary?\tgarden\t1\n', 'f');
    expect(example?.story).toEqual([['mary', 'went', 'to', 'the', 'garden']]);
  });

  it('fuzz: arbitrary text parses or fails with an EngramError naming the line', () => {
    const line = fc.oneof(
      fc.string(),
      fc.tuple(fc.nat(6), fc.string()).map(([id, s]) => `${id} ${s}`),
      fc.tuple(fc.nat(6), fc.string(), fc.string(), fc.string()).map(([id, q, a, f]) => `${id} ${q}\t${a}\t${f}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        try {
          parseBabi(lines.join('\n'), 'fuzz.txt');
        } catch (error) {
          // Each error names the file and the line (or, for a file with no question, the file).
          if (!(error instanceof EngramError) || !/^fuzz\.txt(:\d+: |: no question in the file$)/.test(error.message)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('builds a vocabulary with padding at 0', () => {
    const vocabulary = Vocabulary.fromExamples(parseBabi('1 Mary moved.\n2 Where is Mary?\tkitchen\t1'));
    expect(vocabulary.words).toEqual(['<pad>', 'is', 'kitchen', 'mary', 'moved', 'where']);
    expect(vocabulary.indexOf('mary')).toBe(3);
    expect(vocabulary.indexOf('dragon')).toBeUndefined();
  });

  it('reads all 20 tasks of the local 1k release, train and test', async () => {
    expect(existsSync(BABI), `the bAbI data must be at ${BABI}`).toBe(true);
    for (let task = 1; task <= 20; task++) {
      for (const split of ['train', 'test'] as const) {
        const examples = await loadBabiTask(`${BABI}en`, task, split);
        // The 1k release has 1,000 questions per file.
        expect(examples, `${BABI_TASKS[task - 1]} ${split}`).toHaveLength(1000);
        for (const e of examples) for (const f of e.supportingFacts) expect(f).toBeLessThan(e.story.length);
      }
    }
    const lists = await loadBabiTask(`${BABI}en`, 8, 'train');
    expect(lists.some((e) => e.answer.length > 1)).toBe(true);
  });

  it('names a missing file', async () => {
    await expect(loadBabiTask(`${BABI}en-10k`, 3, 'train')).rejects.toThrow(/cannot read .*qa3_three-supporting-facts_train\.txt/);
  });
});
