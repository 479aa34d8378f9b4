import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngramError } from '@engram/tensor';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_DATA_FILE_BYTES, TEXT_CORPUS_NAMINGS, readTextCorpus, textCorpusNaming } from './index.js';

const folders: string[] = [];
const scratch = () => {
  const f = mkdtempSync(join(tmpdir(), 'engram-text-corpus-'));
  folders.push(f);
  return f;
};
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** A folder with the three texts under one naming. */
function corpusFolder(files: Readonly<Record<'train' | 'valid' | 'test', string>>, texts = { train: 'a b\nc\n', valid: 'b a\n', test: 'c\n' }): string {
  const dir = scratch();
  for (const split of ['train', 'valid', 'test'] as const) writeFileSync(join(dir, files[split]), texts[split]);
  return dir;
}

describe('text corpora in a folder', () => {
  it('reads each naming of the table, an end-of-sentence token after every line', async () => {
    for (const naming of TEXT_CORPUS_NAMINGS) {
      const corpus = await readTextCorpus(corpusFolder(naming.files));
      expect(corpus.naming).toBe(naming);
      expect(corpus.tokens).toEqual({ train: ['a', 'b', '<eos>', 'c', '<eos>'], valid: ['b', 'a', '<eos>'], test: ['c', '<eos>'] });
      expect(corpus.paths.valid.endsWith(naming.files.valid)).toBe(true);
    }
  });

  it('takes the first naming of the table that a folder has, and names every file it looked for when none', async () => {
    const dir = corpusFolder(TEXT_CORPUS_NAMINGS[1]?.files as Record<'train' | 'valid' | 'test', string>);
    for (const split of ['train', 'valid', 'test'] as const) writeFileSync(join(dir, `ptb.${split}.txt`), 'x\n');
    expect((await textCorpusNaming(dir)).name).toBe('Penn Treebank');
    expect((await readTextCorpus(dir)).tokens.train).toEqual(['x', '<eos>']);
    const empty = scratch();
    await expect(readTextCorpus(empty)).rejects.toThrow(new EngramError(`${empty}: no training text (looked for ptb.train.txt, train.txt, wiki.train.tokens)`));
  });

  it('names a missing split, a folder or a FIFO where a text should be, and a file too large, before reading it', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'train.txt'), 'a\n');
    writeFileSync(join(dir, 'test.txt'), 'a\n');
    await expect(readTextCorpus(dir)).rejects.toThrow(/readTextCorpus: cannot read .*valid\.txt \(ENOENT/);
    mkdirSync(join(dir, 'valid.txt'));
    await expect(readTextCorpus(dir)).rejects.toThrow(/valid\.txt is not a regular file/);
    rmSync(join(dir, 'valid.txt'), { recursive: true });
    if (process.platform === 'linux') {
      // Opening a FIFO would wait for a writer: it is refused first.
      execFileSync('mkfifo', [join(dir, 'valid.txt')]);
      await expect(readTextCorpus(dir)).rejects.toThrow(/valid\.txt is not a regular file/);
      rmSync(join(dir, 'valid.txt'));
    }
    writeFileSync(join(dir, 'valid.txt'), '');
    // A sparse file: its size is checked, its bytes are never read.
    truncateSync(join(dir, 'valid.txt'), MAX_DATA_FILE_BYTES + 1);
    await expect(readTextCorpus(dir)).rejects.toThrow(new RegExp(`valid\\.txt is ${MAX_DATA_FILE_BYTES + 1} bytes; at most ${MAX_DATA_FILE_BYTES}`));
  });

  it('accepts Windows line ends and names a tab with its file and line', async () => {
    const plain = TEXT_CORPUS_NAMINGS[1]?.files as Record<'train' | 'valid' | 'test', string>;
    const crlf = await readTextCorpus(corpusFolder(plain, { train: 'a b\r\nc\r\n', valid: 'a\r\n', test: 'b' }));
    expect(crlf.tokens.train).toEqual(['a', 'b', '<eos>', 'c', '<eos>']);
    expect(crlf.tokens.test).toEqual(['b', '<eos>']);
    await expect(readTextCorpus(corpusFolder(plain, { train: 'a\n', valid: 'a\nb\tc\n', test: 'a\n' }))).rejects.toThrow(/valid\.txt:2: unexpected tab/);
  });

  it('returns tokens or throws an EngramError whatever the files hold (fast-check)', async () => {
    const plain = TEXT_CORPUS_NAMINGS[1]?.files as Record<'train' | 'valid' | 'test', string>;
    const text = fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('__proto__ constructor\n', 'toString\r\n', '\u0000\n', ' \n\n'));
    await fc.assert(
      fc.asyncProperty(text, text, text, async (train, valid, test) => {
        try {
          const corpus = await readTextCorpus(corpusFolder(plain, { train, valid, test }));
          for (const tokens of Object.values(corpus.tokens)) for (const token of tokens) expect(token).not.toMatch(/[ \r\n\t]/);
        } catch (error) {
          expect(error).toBeInstanceOf(EngramError);
        }
      }),
      { numRuns: 60 },
    );
  });
});
