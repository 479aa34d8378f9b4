import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngramError } from '@engram/tensor';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type LmCorpus, MAX_TEXT_VOCABULARY, corpusFromTexts, loadPtbCorpus, loadTextCorpus, vocabularyOfText } from './corpus.js';
import { LmVocabulary, MAX_WORD_LENGTH, UNKNOWN_WORD } from './vocabulary.js';

const folders: string[] = [];
const scratch = () => {
  const f = mkdtempSync(join(tmpdir(), 'engram-lm-corpus-'));
  folders.push(f);
  return f;
};
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

function plainFolder(train: string, valid: string, test: string): string {
  const dir = scratch();
  writeFileSync(join(dir, 'train.txt'), train);
  writeFileSync(join(dir, 'valid.txt'), valid);
  writeFileSync(join(dir, 'test.txt'), test);
  return dir;
}

const words = (text: string) => text.split(' ');

describe('the vocabulary of a training text', () => {
  it('keeps every word in order of first appearance, or the N most frequent with <unk> where the first dropped word was', () => {
    const tokens = words('b a b c a b d e d');
    expect(vocabularyOfText(tokens).words).toEqual(['b', 'a', 'c', 'd', 'e']);
    // Counts: b 3, a 2, d 2, c 1, e 1. Four words: b, a, d and <unk> (at c's first place).
    expect(vocabularyOfText(tokens, 4).words).toEqual(['b', 'a', UNKNOWN_WORD, 'd']);
    // Ties go to the word seen first: a and d both twice, a first.
    expect(vocabularyOfText(tokens, 3).words).toEqual(['b', 'a', UNKNOWN_WORD]);
    expect(vocabularyOfText(tokens, 5).words).toEqual(['b', 'a', 'c', 'd', 'e']);
    expect(vocabularyOfText(tokens, 50).words).toEqual(['b', 'a', 'c', 'd', 'e']);
    // A text that has <unk> already keeps it once, at its own place when that comes first.
    expect(vocabularyOfText(words('x <unk> x y z x'), 2).words).toEqual(['x', UNKNOWN_WORD]);
    expect(vocabularyOfText(words('<unk> <unk> <unk> x y'), 2).words).toEqual([UNKNOWN_WORD, 'x']);
  });

  it('refuses a size below 2 and a text with more distinct words than the default allows', () => {
    expect(() => vocabularyOfText(['a'], 1)).toThrow(/vocabulary size must be an integer of at least 2, got 1/);
    expect(() => vocabularyOfText(['a'], 2.5)).toThrow(/got 2.5/);
    const many = Array.from({ length: MAX_TEXT_VOCABULARY + 1 }, (_, i) => `w${i}`);
    expect(() => vocabularyOfText(many, undefined, 'big.txt')).toThrow(
      new EngramError(
        `big.txt: ${MAX_TEXT_VOCABULARY + 1} distinct words, more than ${MAX_TEXT_VOCABULARY}: choose a vocabulary size (vocabularySize; --vocabulary on the command line)`,
      ),
    );
    expect(vocabularyOfText(many, 10).size).toBe(10);
    // A word too long to keep is named by its place in the text, unless the size limit drops it anyway.
    const long = 'x'.repeat(MAX_WORD_LENGTH + 1);
    expect(() => vocabularyOfText(['a', 'b', long, 'a'], undefined, 'own.txt')).toThrow(
      new EngramError(`own.txt: token 3 is ${MAX_WORD_LENGTH + 1} characters long; a word may have at most ${MAX_WORD_LENGTH}`),
    );
    expect(vocabularyOfText(['a', 'b', long, 'c', 'a', 'b'], 3).words).toEqual(['a', 'b', UNKNOWN_WORD]);
  });

  it('keeps words at least as frequent as any it drops, and encodes the text with <unk> for the rest (fast-check, hostile words)', () => {
    const word = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', UNKNOWN_WORD), fc.stringMatching(/^[a-e]{1,2}$/));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 80 }), fc.integer({ min: 2, max: 12 }), (tokens, size) => {
        const counts = new Map<string, number>();
        for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
        const vocabulary = vocabularyOfText(tokens, size);
        if (counts.size <= size) expect(vocabulary.words).toEqual([...counts.keys()]);
        else {
          expect(vocabulary.size).toBe(size);
          expect(vocabulary.id(UNKNOWN_WORD)).toBeDefined();
          const kept = vocabulary.words.filter((w) => w !== UNKNOWN_WORD);
          const dropped = [...counts.keys()].filter((w) => w !== UNKNOWN_WORD && vocabulary.id(w) === undefined);
          for (const k of kept) for (const d of dropped) expect(counts.get(k) as number).toBeGreaterThanOrEqual(counts.get(d) as number);
          const encoded = vocabulary.encode(tokens);
          expect(encoded.unknown).toBe(dropped.reduce((n, d) => n + (counts.get(d) as number), 0));
          for (const [i, id] of encoded.ids.entries())
            expect(vocabulary.word(id)).toBe(vocabulary.id(tokens[i] as string) === undefined ? UNKNOWN_WORD : tokens[i]);
        }
        expect(Object.hasOwn(Object.prototype, 'a')).toBe(false);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});

describe('loadTextCorpus', () => {
  it('reads a folder of plain names: the ids, and validation or test words outside the vocabulary as counted <unk>', async () => {
    const dir = plainFolder('a b <unk> a\nb c\n', 'a z\nb\n', 'c y y\n');
    const corpus = await loadTextCorpus(dir);
    expect(corpus.naming?.name).toBe('plain');
    expect(corpus.vocabulary.words).toEqual(['a', 'b', UNKNOWN_WORD, '<eos>', 'c']);
    expect(Array.from(corpus.train)).toEqual([0, 1, 2, 0, 3, 1, 4, 3]);
    expect(Array.from(corpus.valid)).toEqual([0, 2, 3, 1, 3]);
    expect(Array.from(corpus.test)).toEqual([4, 2, 2, 3]);
    expect(corpus.unknown).toEqual({ train: 0, valid: 1, test: 2 });
  });

  it('reads three texts in memory as it reads them from a folder (fast-check), naming the text in errors', async () => {
    const line = fc.array(fc.constantFrom('a', 'b', 'c', '__proto__', '<unk>'), { maxLength: 6 }).map((ws) => ws.join(' '));
    const text = fc.array(line, { minLength: 1, maxLength: 5 }).map((ls) => `${ls.join('\n')}\n`);
    await fc.assert(
      fc.asyncProperty(text, text, text, fc.integer({ min: 2, max: 6 }), async (train, valid, test, size) => {
        // The same corpus, or the same error (the folder's names the file, the other the text).
        const outcome = async (read: () => Promise<LmCorpus>) => {
          try {
            const c = await read();
            return { words: c.vocabulary.words, train: Array.from(c.train), valid: Array.from(c.valid), test: Array.from(c.test), unknown: c.unknown };
          } catch (error) {
            const names: Record<string, string> = { train: 'training text', valid: 'validation text', test: 'test text' };
            return { error: (error as Error).message.replace(/^\S*\/(train|valid|test)\.txt/, (_, split: string) => names[split] as string) };
          }
        };
        const dir = plainFolder(train, valid, test);
        const fromFolder = await outcome(() => loadTextCorpus(dir, { vocabularySize: size }));
        expect(await outcome(async () => corpusFromTexts({ train, valid, test }, { vocabularySize: size }))).toEqual(fromFolder);
      }),
      { numRuns: 40 },
    );
    expect(() => corpusFromTexts({ train: 'a\n', valid: 'a\tb\n', test: 'a\n' })).toThrow(/validation text:1: unexpected tab/);
    expect(() => corpusFromTexts({ train: 'a\n', valid: 'a\n', test: 'z\n' })).toThrow(/^test text: 'z' is not in the vocabulary/);
  });

  it('with a vocabulary size, makes the rarer training words <unk> too', async () => {
    const corpus = await loadTextCorpus(plainFolder('a a a b b c\n', 'c b\n', 'a\n'), { vocabularySize: 3 });
    expect(corpus.vocabulary.words).toEqual(['a', 'b', UNKNOWN_WORD]);
    // <eos> (once) and c (once) tie below b; <eos> is dropped as well: every line end becomes <unk>.
    expect(corpus.unknown).toEqual({ train: 2, valid: 2, test: 1 });
  });

  it("reads with a model's vocabulary, and names the file of a word it lacks when it has no <unk>", async () => {
    const dir = plainFolder('a b\n', 'a q\n', 'b\n');
    const withUnknown = new LmVocabulary(['a', 'b', '<eos>', UNKNOWN_WORD]);
    expect((await loadTextCorpus(dir, { vocabulary: withUnknown })).unknown).toEqual({ train: 0, valid: 1, test: 0 });
    await expect(loadTextCorpus(dir)).rejects.toThrow(
      new RegExp(`${join(dir, 'valid.txt')}: 'q' is not in the vocabulary \\(which has no <unk>\\); choose a vocabulary size .*--vocabulary`),
    );
    await expect(loadTextCorpus(dir, { vocabulary: new LmVocabulary(['a', 'b', '<eos>']) })).rejects.toThrow(/\(which has no <unk>\)$/);
    expect((await loadTextCorpus(dir, { vocabularySize: 2 })).unknown.valid).toBe(2); // q and <eos>: only a is kept
  });

  const ptb = join(import.meta.dirname, '../../../../shared/data/ptb');
  it.skipIf(!existsSync(ptb))('reads Penn Treebank as before: 10,000 words, 929,589 training tokens, nothing unknown', async () => {
    const corpus = await loadPtbCorpus(ptb);
    expect(corpus.naming?.name).toBe('Penn Treebank');
    expect(corpus.vocabulary.size).toBe(10000);
    expect(corpus.vocabulary.words.slice(0, 3)).toEqual(['aer', 'banknote', 'berlitz']);
    expect([corpus.train.length, corpus.valid.length, corpus.test.length]).toEqual([929589, 73760, 82430]);
    expect(corpus.unknown).toEqual({ train: 0, valid: 0, test: 0 });
  });
});
