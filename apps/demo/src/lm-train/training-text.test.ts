import { ptbTokens } from '@engram/lm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BIGRAM_WEIGHTS, STORY_CAST, VALID_FRACTION, bigramPerplexity, splitText, storyText, trainerCorpus } from './training-text.js';

describe('storyText', () => {
  it('is seeded, as long as asked, and each story is about one person, place and thing', () => {
    expect(storyText(4, 3000)).toBe(storyText(4, 3000));
    expect(storyText(4, 3000)).not.toBe(storyText(5, 3000));
    const lines = storyText(4, 3000).trim().split('\n');
    expect(lines.reduce((n, line) => n + line.split(' ').length + 1, 0)).toBeGreaterThanOrEqual(3000);
    for (const line of lines) {
      const words = new Set(line.split(' '));
      for (const kind of [STORY_CAST.names, STORY_CAST.places, STORY_CAST.things]) {
        expect(
          kind.filter((w) => words.has(w)),
          line,
        ).toHaveLength(1);
      }
      // Four to six sentences.
      const sentences = line.split(' . ').length;
      expect(sentences).toBeGreaterThanOrEqual(4);
      expect(sentences).toBeLessThanOrEqual(6);
    }
  });
});

describe('splitText', () => {
  it('holds out the last tenth, from a sentence start', () => {
    const text = storyText(1, 5000);
    const { train, valid } = splitText(text);
    expect([...train, ...valid]).toEqual(ptbTokens(text));
    expect(train[train.length - 1]).toBe('<eos>');
    expect(valid.length / (train.length + valid.length)).toBeGreaterThan(VALID_FRACTION * 0.5);
    expect(valid.length / (train.length + valid.length)).toBeLessThanOrEqual(VALID_FRACTION + 0.001);
  });

  it('reads a word too long for a vocabulary as <unk>, and counts it', () => {
    const url = `https://example.com/${'x'.repeat(300)}`;
    const { train, valid, long } = splitText(`see ${url} now. ${'the cat sat. '.repeat(20)}`);
    expect(long).toBe(1);
    expect([...train, ...valid].slice(0, 3)).toEqual(['see', '<unk>', 'now']);
    expect(() => trainerCorpus({ train, valid })).not.toThrow();
  });

  it('keeps every word of any text, in order, and never throws (fuzzed, hostile words included)', () => {
    const word = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', '<unk>', '<eos>', '.', '3.5', "can't"));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 300 }), fc.constantFrom(' ', '\n', '. ', '\r\n'), (words, separator) => {
        const text = words.join(separator);
        const { train, valid, long } = splitText(text);
        expect([...train, ...valid]).toEqual(ptbTokens(text));
        expect(long).toBe(0);
        // The worker's ids: every word has one, <unk> for held-out words outside the training words.
        if (train.length > 0) {
          const corpus = trainerCorpus({ train, valid });
          expect(corpus.train).toHaveLength(train.length);
          expect(corpus.valid).toHaveLength(valid.length);
          for (const id of [...corpus.train, ...corpus.valid]) expect(id).toBeLessThan(corpus.vocabulary.size);
          expect(corpus.unknownValid).toBe(valid.filter((w) => w !== '<unk>' && !train.includes(w)).length);
        }
        expect(valid.length).toBeLessThanOrEqual(Math.ceil((train.length + valid.length) * VALID_FRACTION));
      }),
      { numRuns: 300 },
    );
  });
});

describe('bigramPerplexity', () => {
  it('is the best interpolated bigram, by hand', () => {
    // Train 0 1 0 1: p(1 | 0) = 1, the add-one unigram 3/6 each; with λ = 0.99, p = 0.99 + 0.01 × 0.5.
    expect(BIGRAM_WEIGHTS[BIGRAM_WEIGHTS.length - 1]).toBe(0.99);
    expect(bigramPerplexity(Int32Array.from([0, 1, 0, 1]), Int32Array.from([0, 1]), 2)).toBeCloseTo(1 / 0.995, 10);
    // An unseen context: the unigram alone, 3/6 (a word never seen in training: 1/6).
    expect(bigramPerplexity(Int32Array.from([0, 1, 0, 1]), Int32Array.from([2, 0]), 3)).toBeCloseTo(7 / 3, 10);
    expect(() => bigramPerplexity(Int32Array.from([0]), Int32Array.from([0]), 1)).toThrow(/at least two words/);
  });

  it('is at most the vocabulary size on the training text itself', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 2, maxLength: 200 }), (ids) => {
        const text = Int32Array.from(ids);
        const p = bigramPerplexity(text, text, 6);
        expect(p).toBeGreaterThanOrEqual(1);
        expect(p).toBeLessThanOrEqual(6);
      }),
    );
  });
});
