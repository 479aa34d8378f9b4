import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { EngramError } from '@engram/tensor';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BABI_SHA256,
  END_OF_SENTENCE,
  MAX_UNPACKED_BYTES,
  type TarEntry,
  downloadBabi,
  downloadPtb,
  loadBabiTask,
  loadPtb,
  parsePtb,
  readTar,
} from './index.js';

const SHARED = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const BABI = join(SHARED, 'babi');
const PTB = join(SHARED, 'ptb');
const folders: string[] = [];
const scratch = (): string => {
  const folder = mkdtempSync(join(tmpdir(), 'engram-download-'));
  folders.push(folder);
  return folder;
};
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** A minimal ustar writer, to build archives like the official ones. */
function writeTar(entries: readonly TarEntry[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const encoder = new TextEncoder();
  for (const { path, data } of entries) {
    const header = new Uint8Array(512);
    const put = (text: string, at: number) => header.set(encoder.encode(text), at);
    put(path, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    put('00000000000\0', 136);
    put('        ', 148);
    header[156] = '0'.charCodeAt(0);
    put('ustar\0', 257);
    put('00', 263);
    const sum = header.reduce((a, b) => a + b, 0);
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of blocks) {
    out.set(b, offset);
    offset += b.length;
  }
  return out;
}

/** The 1k set as the official archive lays it out (tasks_1-20_v1-2/en/...), optionally edited. */
function babiArchive(edit: (path: string, data: Uint8Array) => Uint8Array | null = (_, d) => d): Uint8Array {
  const entries: TarEntry[] = [];
  for (const name of readdirSync(join(BABI, 'en')).sort()) {
    const data = edit(`en/${name}`, new Uint8Array(readFileSync(join(BABI, 'en', name))));
    if (data !== null) entries.push({ path: `tasks_1-20_v1-2/en/${name}`, data });
  }
  entries.push({ path: 'tasks_1-20_v1-2/LICENSE.txt', data: new Uint8Array(readFileSync(join(BABI, 'LICENSE.txt'))) });
  return gzipSync(writeTar(entries));
}

describe('download helpers, against the local copies (a loopback server and file URLs)', () => {
  let server: Server;
  let base = '';
  const archives = new Map<string, Uint8Array>();
  beforeAll(async () => {
    archives.set('/babi.tar.gz', babiArchive());
    archives.set(
      '/corrupt.tar.gz',
      babiArchive((path, data) =>
        path.startsWith('en/qa7_') && path.endsWith('_train.txt') ? Uint8Array.from(data, (b, i) => (i === 100 ? b ^ 1 : b)) : data,
      ),
    );
    archives.set(
      '/incomplete.tar.gz',
      babiArchive((path, data) => (path.startsWith('en/qa5_') ? null : data)),
    );
    server = createServer((request, response) => {
      const body = archives.get(request.url ?? '');
      response.writeHead(body ? 200 : 404);
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches the archive, verifies every file, unpacks it, and then serves it from the cache', async () => {
    const to = scratch();
    const report = await downloadBabi({ url: `${base}/babi.tar.gz`, to });
    expect(report.written).toHaveLength(41);
    expect(report.missing.every((p) => p.startsWith('en-10k/'))).toBe(true);
    expect(await loadBabiTask(join(to, 'en'), 8, 'test')).toHaveLength(1000);
    const again = await downloadBabi({ url: `${base}/babi.tar.gz`, to });
    expect(again.written).toHaveLength(0);
    expect(again.cached).toHaveLength(41);
  });

  it('refuses a file whose checksum differs, naming it and both hashes, and writes nothing at all', async () => {
    const to = scratch();
    const error = await downloadBabi({ url: `${base}/corrupt.tar.gz`, to }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngramError);
    expect((error as Error).message).toMatch(/checksum mismatch for en\/qa7_counting_train\.txt .*SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
    // qa1–qa6 come before qa7 in the archive, and were not written either.
    expect(existsSync(join(to, 'en'))).toBe(false);
  });

  it('refuses a gzip bomb before it fills memory', async () => {
    // 64 MiB of zeros in 64 KiB of gzip, against a 16 MiB limit (the default is MAX_UNPACKED_BYTES).
    archives.set('/bomb.tar.gz', gzipSync(new Uint8Array(64 * 2 ** 20)));
    expect(MAX_UNPACKED_BYTES).toBeGreaterThan(200 * 2 ** 20);
    await expect(downloadBabi({ url: `${base}/bomb.tar.gz`, to: scratch(), maxUnpackedBytes: 16 * 2 ** 20 })).rejects.toThrow(
      /unpacks to more than 16777216 bytes; refusing it/,
    );
    archives.delete('/bomb.tar.gz');
  });

  it('names required files the source lacks, and HTTP errors', async () => {
    await expect(downloadBabi({ url: `${base}/incomplete.tar.gz`, to: scratch() })).rejects.toThrow(
      /lacks 2 required file\(s\): en\/qa5_three-arg-relations_test\.txt, en\/qa5/,
    );
    await expect(downloadBabi({ url: `${base}/nothing-here.tar.gz`, to: scratch() })).rejects.toThrow(/answered 404/);
  });

  it('copies from a folder URL file by file (en-10k included; its missing qa3 train file is reported)', async () => {
    const to = scratch();
    const report = await downloadBabi({ url: `${pathToFileURL(BABI).href}/`, to });
    expect(report.written).toHaveLength(Object.keys(BABI_SHA256).length);
    expect(report.missing).toEqual(['en-10k/qa3_three-supporting-facts_train.txt']);
    expect(await loadBabiTask(join(to, 'en-10k'), 1, 'train')).toHaveLength(10000);
  });

  it('downloads and reads the Penn Treebank text', async () => {
    const to = scratch();
    const report = await downloadPtb({ url: `${pathToFileURL(PTB).href}/`, to });
    expect(report.written.sort()).toEqual(['ptb.test.txt', 'ptb.train.txt', 'ptb.valid.txt']);
    const valid = await loadPtb(to, 'valid');
    // README counts: 10,000 types with <eos> (+ padding), 73,760 validation tokens with <eos>.
    expect(valid.vocabulary.size).toBe(10001);
    expect(valid.ids.length).toBe(73760);
  });
});

describe('parsers never crash on arbitrary input (fast-check)', () => {
  it('readTar returns entries or throws an EngramError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        try {
          readTar(bytes, 'fuzz.tar');
        } catch (error) {
          expect(error).toBeInstanceOf(EngramError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('readTar reads back what a tar writer wrote', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9/._-]{0,60}$/), fc.uint8Array({ maxLength: 1500 })), { maxLength: 5 }), (files) => {
        const entries = files.map(([path, data]) => ({ path, data }));
        expect(readTar(writeTar(entries)).map((e) => [e.path, Array.from(e.data)])).toEqual(entries.map((e) => [e.path, Array.from(e.data)]));
      }),
    );
  });

  it('parsePtb adds <eos> per line and rejects control characters with the line number', () => {
    expect(parsePtb(' a b \n c \n')).toEqual(['a', 'b', END_OF_SENTENCE, 'c', END_OF_SENTENCE]);
    expect(() => parsePtb(' a\n b\tc\n', 'ptb.x.txt')).toThrow(/ptb\.x\.txt:2: unexpected tab/);
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parsePtb(text);
        } catch (error) {
          expect(error).toBeInstanceOf(EngramError);
        }
      }),
    );
  });
});
