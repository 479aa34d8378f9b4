/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON describing each tensor (`dtype`, `shape`, `data_offsets` into the data
 * section) plus optional string `__metadata__`, then the raw little-endian data.
 *
 * The reader trusts nothing: every length and offset is checked against the bytes actually present
 * before anything is allocated, and every problem is a {@link SafetensorsError} naming the source
 * and the tensor.
 */
import type { Backend } from './backend.js';
import { tensor } from './create.js';
import { EngramError } from './errors.js';
import { encodeFloat16, halfToFloat32 } from './half.js';
import { shapeSize } from './shape.js';
import type { Tensor } from './tensor.js';

/** Bytes of the little-endian u64 header length that opens a file. */
const LENGTH_PREFIX_BYTES = 8;
/** Largest header we accept (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;
/** Header JSON is padded with spaces so the data section starts 8-byte aligned. */
const HEADER_ALIGNMENT = 8;
const F32_BYTES = 4;
const METADATA_KEY = '__metadata__';
/** Dtypes defined by the format; Engram stores F32 (or F16, on request) and loads F32 and F16. */
const KNOWN_DTYPES = new Set(['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']);

/** A malformed or unsupported safetensors file. */
export class SafetensorsError extends EngramError {
  /** Always `SafetensorsError`. */
  override name = 'SafetensorsError';
}

/** What {@link loadSafetensors} returns. */
export interface SafetensorsContents {
  /** The tensors by name. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

/** Options for {@link saveSafetensors}. */
export interface SaveSafetensorsOptions {
  /** `F32` (default, exact) or `F16` (half the bytes; values rounded to the nearest half, ±65504 at most). */
  dtype?: 'F32' | 'F16';
}

/**
 * Serializes named tensors and string metadata. Names are written in sorted order.
 * @param tensors - the tensors, by name
 * @param metadata - strings stored in the header
 * @param options - `dtype`: F32 or F16
 * @example
 * ```ts
 * const bytes = saveSafetensors({ w: randomNormal([3, 2], new Random(1)) }, { note: 'a test' });
 * const { tensors, metadata } = loadSafetensors(bytes, { source: 'w.safetensors' });
 * console.log(tensors.w?.shape, metadata.note); // [3, 2] 'a test'
 * ```
 */
export function saveSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}, options: SaveSafetensorsOptions = {}): Uint8Array {
  const dtype = options.dtype ?? 'F32';
  const elementBytes = dtype === 'F16' ? 2 : F32_BYTES;
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = Object.create(null);
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY) throw new SafetensorsError(`saveSafetensors: '${METADATA_KEY}' is reserved and cannot name a tensor`);
    const t = tensors[name] as Tensor;
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.size * elementBytes] };
    offset += t.size * elementBytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padded - json.length));
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, LENGTH_PREFIX_BYTES);
  let position = LENGTH_PREFIX_BYTES + json.length;
  for (const name of names) {
    const data = (tensors[name] as Tensor).dataSync();
    if (dtype === 'F16') {
      const halves = encodeFloat16(data);
      for (let i = 0; i < halves.length; i++) view.setUint16(position + i * 2, halves[i] as number, true);
    } else for (let i = 0; i < data.length; i++) view.setFloat32(position + i * F32_BYTES, data[i] as number, true);
    position += data.length * elementBytes;
  }
  return out;
}

/** Options for {@link loadSafetensors}. */
export interface LoadSafetensorsOptions {
  /** Names the input in error messages (a file path, say). */
  source?: string;
  /** Backend for the loaded tensors. */
  backend?: Backend;
}

/**
 * The keys of the header's top-level object, in order, duplicates included (JSON.parse keeps only the
 * last of a duplicated key; the reference implementation rejects the file). `text` is valid JSON.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(text.slice(i, j + 1)) as string);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1 && c === '{') expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Parses a safetensors file; see the module comment for what is checked.
 * @param bytes - the file's contents
 * @param options - the source named in errors and size limits
 */
export function loadSafetensors(bytes: Uint8Array, options: LoadSafetensorsOptions = {}): SafetensorsContents {
  const source = options.source ?? 'safetensors data';
  const fail = (message: string): never => {
    throw new SafetensorsError(`${source}: ${message}`);
  };
  if (bytes.length < LENGTH_PREFIX_BYTES) fail(`truncated: ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (headerLength > BigInt(bytes.length - LENGTH_PREFIX_BYTES)) {
    fail(`header length ${headerLength} runs past the end of the file (${bytes.length - LENGTH_PREFIX_BYTES} bytes after the length)`);
  }
  const dataStart = LENGTH_PREFIX_BYTES + Number(headerLength);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(LENGTH_PREFIX_BYTES, dataStart));
    header = JSON.parse(text);
  } catch (error) {
    fail(`header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!isRecord(header)) return fail('header must be a JSON object');
  {
    const seen = new Set<string>();
    for (const key of topLevelKeys(new TextDecoder().decode(bytes.subarray(LENGTH_PREFIX_BYTES, dataStart)))) {
      if (seen.has(key)) fail(`the header names '${key}' twice`);
      seen.add(key);
    }
  }
  const dataLength = bytes.length - dataStart;
  // Maps without a prototype: a name such as `__proto__` read from the file stays an ordinary key.
  const metadata: Record<string, string> = Object.create(null);
  const rawMetadata = header[METADATA_KEY];
  if (rawMetadata !== undefined) {
    if (!isRecord(rawMetadata)) fail(`'${METADATA_KEY}' must be an object of strings`);
    for (const [key, value] of Object.entries(rawMetadata as Record<string, unknown>)) {
      if (typeof value !== 'string') fail(`metadata '${key}' must be a string, got ${typeof value}`);
      metadata[key] = value as string;
    }
  }
  const entries: { name: string; shape: number[]; begin: number; end: number; half: boolean }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    if (!isRecord(entry)) return fail(`tensor '${name}': entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !KNOWN_DTYPES.has(dtype)) fail(`tensor '${name}': unknown dtype ${JSON.stringify(dtype)}`);
    if (dtype !== 'F32' && dtype !== 'F16') fail(`tensor '${name}': dtype ${dtype} is not supported (Engram reads F32 and F16)`);
    const elementBytes = dtype === 'F16' ? 2 : F32_BYTES;
    if (!Array.isArray(shape) || !shape.every(isCount)) return fail(`tensor '${name}': shape must be an array of non-negative integers`);
    const size = shapeSize(shape as number[]);
    if (!Number.isSafeInteger(size * elementBytes)) fail(`tensor '${name}': shape [${shape.join(', ')}] is absurdly large`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      return fail(`tensor '${name}': data_offsets must be two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`tensor '${name}': data_offsets [${begin}, ${end}] are reversed`);
    if (end > dataLength) fail(`tensor '${name}': data_offsets [${begin}, ${end}] run past the ${dataLength} bytes of data`);
    if (end - begin !== size * elementBytes) {
      fail(`tensor '${name}': data_offsets span ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${size * elementBytes}`);
    }
    entries.push({ name, shape: shape as number[], begin, end, half: dtype === 'F16' });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1] as (typeof sorted)[number];
    const current = sorted[i] as (typeof sorted)[number];
    if (current.begin < previous.end) fail(`tensors '${previous.name}' and '${current.name}' have overlapping data_offsets`);
    if (current.begin > previous.end) fail(`${current.begin - previous.end} bytes between tensors '${previous.name}' and '${current.name}' belong to none`);
  }
  // As the reference implementation: the tensors cover the data section exactly, from its first byte to its last.
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first !== undefined && first.begin > 0) fail(`the first ${first.begin} bytes of data belong to no tensor`);
  const covered = last?.end ?? 0;
  if (covered !== dataLength) fail(`${dataLength - covered} trailing bytes after the last tensor`);
  const tensors: Record<string, Tensor> = Object.create(null);
  for (const { name, shape, begin, half } of entries) {
    const size = shapeSize(shape);
    const data = new Float32Array(size);
    const base = dataStart + begin;
    if (half) for (let i = 0; i < size; i++) data[i] = halfToFloat32(view.getUint16(base + i * 2, true));
    else for (let i = 0; i < size; i++) data[i] = view.getFloat32(base + i * F32_BYTES, true);
    tensors[name] = tensor(data, shape, options.backend ? { backend: options.backend } : {});
  }
  return { tensors, metadata };
}

/** Ends the name of a temporary file {@link writeFileAtomic} writes: `<file>.<random hex>.tmp`. */
export const ATOMIC_TEMPORARY_SUFFIX = /\.[0-9a-f]{16}\.tmp$/;

/**
 * Writes a file atomically: to a temporary file beside it with an unpredictable name, created
 * exclusively (so nothing planted there, a symbolic link included, is ever written through), then
 * renamed over the target — which replaces a link at `path` rather than following it. A crash never
 * leaves a half-written file. Node only.
 * @param path - where to write
 * @param bytes - the contents
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const { rename, open, unlink } = await import('node:fs/promises');
  const random = crypto.getRandomValues(new Uint8Array(8));
  const temporary = `${path}.${Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('')}.tmp`;
  const handle = await open(temporary, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}

/**
 * Saves tensors to a safetensors file, atomically. Node only.
 * @param path - where to write (atomically)
 * @param tensors - the tensors, by name
 * @param metadata - strings stored in the header
 */
export async function saveSafetensorsFile(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, saveSafetensors(tensors, metadata));
}

/** The largest file {@link readBinaryFile} (and so {@link loadSafetensorsFile}) reads: 2 GiB − 1, the most Node reads into one buffer. */
export const MAX_FILE_BYTES = 2 ** 31 - 1;

/**
 * Reads a model or data file of at most {@link MAX_FILE_BYTES}; a path that is not a regular file, or a larger one, is
 * an {@link EngramError} naming the path, raised before anything is read. Node only.
 * @param path - the file to read (links are followed)
 */
export async function readBinaryFile(path: string): Promise<Uint8Array> {
  const { readFile, stat } = await import('node:fs/promises');
  const info = await stat(path);
  if (!info.isFile()) throw new EngramError(`${path}: not a file`);
  if (info.size > MAX_FILE_BYTES) throw new EngramError(`${path}: ${info.size} bytes, more than the ${MAX_FILE_BYTES} one file may hold here`);
  return new Uint8Array(await readFile(path));
}

/**
 * Loads a safetensors file; errors name the path. Node only.
 * @param path - the file to read
 * @param options - size limits
 */
export async function loadSafetensorsFile(path: string, options: Omit<LoadSafetensorsOptions, 'source'> = {}): Promise<SafetensorsContents> {
  return loadSafetensors(await readBinaryFile(path), { ...options, source: path });
}
