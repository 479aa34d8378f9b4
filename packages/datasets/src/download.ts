import { EngramError } from '@engram/tensor';
import { BABI_GIT_BLOB_SHA1, BABI_SHA256, PTB_SHA256 } from './checksums.js';

/** The official bAbI v1.2 archive (Weston et al. 2015). */
export const BABI_URL = 'https://dl.fbaipublicfiles.com/babi/tasks_1-20_v1-2.tar.gz';
/** Mikolov's RNNLM examples archive, which holds the Penn Treebank LM text in `simple-examples/data/`. */
export const PTB_URL = 'https://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz';

/** How a data file is checked. */
export interface PinnedFile {
  /** Path inside the destination folder (`en/qa1_single-supporting-fact_train.txt`). */
  path: string;
  /** Expected SHA-256 (hex). */
  sha256?: string;
  /** Expected git blob SHA-1 (hex), used where the SHA-256 is not known. */
  gitBlobSha1?: string;
  /** A missing optional file is reported, not an error. */
  optional: boolean;
}

/** Options for {@link downloadBabi} and {@link downloadPtb}. */
export interface DownloadOptions {
  /** Destination folder (created); files already there with the right checksum are kept. */
  to: string;
  /**
   * Where to fetch from: an archive (`.tar.gz` / `.tgz`, the default is the official one) or a
   * folder (ending in `/`) holding the files under their paths. `http:`, `https:` and `file:` URLs.
   */
  url?: string;
  /** Progress messages. */
  onProgress?: (message: string) => void;
  /** The most bytes an archive may unpack to (default {@link MAX_UNPACKED_BYTES}). */
  maxUnpackedBytes?: number;
}

/** What a download did. */
export interface DownloadReport {
  /** The destination folder. */
  folder: string;
  /** Files written by this call. */
  written: string[];
  /** Files that were already present and verified. */
  cached: string[];
  /** Optional files that the source did not have. */
  missing: string[];
}

/**
 * Fetches a URL's bytes (`file:` read from disk), with an error that names the URL.
 * @param url - an http(s) or file URL
 */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  if (url.startsWith('file:')) {
    const { readFile } = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    try {
      return new Uint8Array(await readFile(fileURLToPath(url)));
    } catch (error) {
      throw new EngramError(`download: cannot read ${url} (${(error as Error).message})`);
    }
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new EngramError(`download: cannot fetch ${url} (${(error as Error).message})`);
  }
  if (!response.ok) throw new EngramError(`download: ${url} answered ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function digest(algorithm: 'sha256' | 'sha1', bytes: Uint8Array, prefix?: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const hash = createHash(algorithm);
  if (prefix !== undefined) hash.update(prefix);
  hash.update(bytes);
  return hash.digest('hex');
}

/**
 * Checks bytes against a pinned file's checksum; a mismatch is an error naming the file, both hashes and the source.
 * @param file - the file's pinned name, size and SHA-256
 * @param bytes - its contents
 * @param source - named in errors
 */
export async function verifyFile(file: PinnedFile, bytes: Uint8Array, source: string): Promise<void> {
  if (file.sha256 !== undefined) {
    const actual = await digest('sha256', bytes);
    if (actual !== file.sha256)
      throw new EngramError(
        `download: checksum mismatch for ${file.path} from ${source}: SHA-256 ${actual}, expected ${file.sha256} (a corrupt or different file)`,
      );
    return;
  }
  if (file.gitBlobSha1 !== undefined) {
    const actual = await digest('sha1', bytes, `blob ${bytes.length}\0`);
    if (actual !== file.gitBlobSha1)
      throw new EngramError(`download: checksum mismatch for ${file.path} from ${source}: git blob SHA-1 ${actual}, expected ${file.gitBlobSha1}`);
    return;
  }
  throw new EngramError(`download: no checksum pinned for ${file.path}`);
}

/** One regular file of a tar archive. */
export interface TarEntry {
  /** Its path in the archive. */
  path: string;
  /** Its contents. */
  data: Uint8Array;
}

const TAR_BLOCK = 512;

function tarString(block: Uint8Array, start: number, length: number): string {
  const bytes = block.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/**
 * Reads the regular files of a tar archive (ustar, GNU long names and pax `path` records).
 * Malformed archives get an error naming `source` and the byte offset.
 * @param bytes - the archive's contents (already decompressed)
 * @param source - named in errors
 */
export function readTar(bytes: Uint8Array, source = 'archive'): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + TAR_BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + TAR_BLOCK);
    if (header.every((b) => b === 0)) break;
    const sizeField = tarString(header, 124, 12).trim();
    const size = Number.parseInt(sizeField || '0', 8);
    if (!Number.isFinite(size) || size < 0) throw new EngramError(`${source}: bad tar header at byte ${offset} (size field '${sizeField}')`);
    const type = String.fromCharCode(header[156] ?? 0);
    const dataStart = offset + TAR_BLOCK;
    if (dataStart + size > bytes.length) throw new EngramError(`${source}: truncated tar archive (an entry at byte ${offset} runs past the end)`);
    const data = bytes.subarray(dataStart, dataStart + size);
    const prefix = tarString(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${tarString(header, 0, 100)}` : tarString(header, 0, 100));
    longName = undefined;
    if (type === 'L') longName = tarString(data, 0, data.length);
    else if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data));
      if (path) longName = path[1];
    } else if (type === '0' || type === '\0') entries.push({ path: name, data });
    offset = dataStart + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
  }
  return entries;
}

/** The most bytes an archive may unpack to (bAbI's unpacks to about 200 MB): a gzip bomb stops here. */
export const MAX_UNPACKED_BYTES = 1024 * 1024 * 1024;

async function unpackArchive(bytes: Uint8Array, source: string, limit: number): Promise<TarEntry[]> {
  const { gunzipSync } = await import('node:zlib');
  let tar: Uint8Array;
  try {
    tar = bytes[0] === 0x1f && bytes[1] === 0x8b ? new Uint8Array(gunzipSync(bytes, { maxOutputLength: limit })) : bytes;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError)
      throw new EngramError(`download: ${source} unpacks to more than ${limit} bytes; refusing it`);
    throw new EngramError(`download: ${source} is not a valid gzip archive (${(error as Error).message})`);
  }
  return readTar(tar, source);
}

/**
 * Fetches pinned files from an archive or a folder URL, verifies every one against its checksum
 * before writing any, then writes each atomically (an unpredictable temporary file, created
 * exclusively, renamed into place) into `to`. Files already present and valid are kept. A checksum
 * mismatch is an error and nothing is written; a missing required file is an error listing it.
 * @param files - the files to fetch, each with its pinned size and SHA-256
 * @param url - where to fetch from: an archive, or a folder URL ending in /
 * @param options - the destination folder and progress reporting
 */
export async function downloadPinned(files: readonly PinnedFile[], url: string, options: DownloadOptions): Promise<DownloadReport> {
  const { mkdir, readFile } = await import('node:fs/promises');
  const { writeFileAtomic } = await import('@engram/tensor');
  const { dirname, join } = await import('node:path');
  const report: DownloadReport = { folder: options.to, written: [], cached: [], missing: [] };
  const needed: PinnedFile[] = [];
  for (const file of files) {
    try {
      await verifyFile(file, new Uint8Array(await readFile(join(options.to, file.path))), 'the cache');
      report.cached.push(file.path);
    } catch {
      needed.push(file);
    }
  }
  if (needed.length === 0) return report;
  // Everything is fetched and verified first; only then is anything written.
  const verified: { file: PinnedFile; bytes: Uint8Array }[] = [];
  const save = async (file: PinnedFile, bytes: Uint8Array, source: string): Promise<void> => {
    await verifyFile(file, bytes, source);
    verified.push({ file, bytes });
  };
  if (url.endsWith('/')) {
    for (const file of needed) {
      options.onProgress?.(`fetching ${url}${file.path}`);
      let bytes: Uint8Array;
      try {
        bytes = await fetchBytes(`${url}${file.path}`);
      } catch (error) {
        if (file.optional) {
          report.missing.push(file.path);
          continue;
        }
        throw error;
      }
      await save(file, bytes, `${url}${file.path}`);
    }
  } else {
    options.onProgress?.(`fetching ${url}`);
    const entries = await unpackArchive(await fetchBytes(url), url, options.maxUnpackedBytes ?? MAX_UNPACKED_BYTES);
    for (const file of needed) {
      // Archives nest the files under a top folder (tasks_1-20_v1-2/, ./simple-examples/data/).
      const entry = entries.find((e) => e.path === file.path || e.path.endsWith(`/${file.path}`));
      if (entry === undefined) {
        report.missing.push(file.path);
        continue;
      }
      await save(file, entry.data, `${url} (${entry.path})`);
    }
  }
  const required = report.missing.filter((path) => !files.find((f) => f.path === path)?.optional);
  if (required.length > 0) throw new EngramError(`download: ${url} lacks ${required.length} required file(s): ${required.join(', ')}`);
  for (const { file, bytes } of verified) {
    const target = join(options.to, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFileAtomic(target, bytes);
    report.written.push(file.path);
  }
  return report;
}

/** The pinned bAbI files: `en` (1k) required, `en-10k` optional (a copy may lack some). */
export function babiFiles(): PinnedFile[] {
  const files: PinnedFile[] = Object.entries(BABI_SHA256).map(([path, sha256]) => ({ path, sha256, optional: !path.startsWith('en/') }));
  for (const [path, gitBlobSha1] of Object.entries(BABI_GIT_BLOB_SHA1)) files.push({ path, gitBlobSha1, optional: true });
  return files;
}

/**
 * Downloads bAbI v1.2 into `to` (`to/en/…`, `to/en-10k/…`, `to/LICENSE.txt`), verified file by file
 * against pinned checksums, so that `loadBabiTask(join(to, 'en'), task, split)` works. Node only.
 * @param options - the destination folder, the source URL and progress reporting
 */
export function downloadBabi(options: DownloadOptions): Promise<DownloadReport> {
  return downloadPinned(babiFiles(), options.url ?? BABI_URL, options);
}

/**
 * Downloads the Penn Treebank LM text into `to` (`ptb.train.txt`, `ptb.valid.txt`, `ptb.test.txt`), verified. Node only.
 * @param options - the destination folder, the source URL and progress reporting
 */
export function downloadPtb(options: DownloadOptions): Promise<DownloadReport> {
  const files = Object.entries(PTB_SHA256).map(([path, sha256]) => ({ path, sha256, optional: false }));
  return downloadPinned(files, options.url ?? PTB_URL, options);
}
