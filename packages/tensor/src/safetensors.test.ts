import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EngramError,
  MAX_FILE_BYTES,
  Random,
  SafetensorsError,
  loadSafetensors,
  loadSafetensorsFile,
  randomNormal,
  saveSafetensors,
  saveSafetensorsFile,
  tensor,
} from './index.js';

function header(json: string, data = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const validFile = (): Uint8Array =>
  saveSafetensors({ 'lstm.weight': randomNormal([3, 4], new Random(1)), bias: tensor([1, 2, 3]), scalar: tensor([7], []) }, { task: 'copy', step: '12' });

describe('safetensors', () => {
  it('round-trips tensors and metadata', () => {
    const { tensors, metadata } = loadSafetensors(validFile());
    expect(metadata).toEqual({ task: 'copy', step: '12' });
    expect(tensors['lstm.weight']?.toArray()).toEqual(randomNormal([3, 4], new Random(1)).toArray());
    expect(tensors.bias?.shape).toEqual([3]);
    expect(tensors.scalar?.shape).toEqual([]);
    expect(tensors.scalar?.item()).toBe(7);
  });

  it('aligns the data section to 8 bytes and reads files written by the reference layout', () => {
    const bytes = validFile();
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(length % 8).toBe(0);
    // A hand-written file in the reference layout (as the Python safetensors library writes it).
    const data = new Uint8Array(8);
    new DataView(data.buffer).setFloat32(0, 1.5, true);
    new DataView(data.buffer).setFloat32(4, -2, true);
    const file = header('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}', data);
    expect(Array.from(loadSafetensors(file).tensors.x?.toArray() ?? [])).toEqual([1.5, -2]);
  });

  it.each([
    ['truncated prefix', new Uint8Array(5), /truncated/],
    ['header past the end', header('{}').subarray(0, 9), /runs past the end/],
    [
      'absurd header size',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 2n ** 62n, true);
        return b;
      })(),
      /exceeds the 100000000-byte limit/,
    ],
    ['not JSON', header('{nope'), /not valid UTF-8 JSON/],
    ['not an object', header('[1,2]'), /must be a JSON object/],
    ['unknown dtype', header('{"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor 'x': unknown dtype "F33"/],
    ['unsupported dtype', header('{"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}', new Uint8Array(4)), /dtype BF16 is not supported/],
    ['offsets past the data', header('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', new Uint8Array(4)), /run past the 4 bytes of data/],
    ['offsets not matching the shape', header('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', new Uint8Array(8)), /span 4 bytes but shape \[2\]/],
    [
      'overlapping tensors',
      header('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', new Uint8Array(12)),
      /'a' and 'b' have overlapping data_offsets/,
    ],
    ['negative shape', header('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}'), /shape must be an array of non-negative integers/],
    ['huge shape', header('{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}'), /absurdly large/],
    ['metadata not strings', header('{"__metadata__":{"a":1}}'), /metadata 'a' must be a string/],
  ])('rejects %s', (_, bytes, message) => {
    expect(() => loadSafetensors(bytes as Uint8Array, { source: 'model.safetensors' })).toThrow(SafetensorsError);
    expect(() => loadSafetensors(bytes as Uint8Array, { source: 'model.safetensors' })).toThrow(/^model\.safetensors: /);
    expect(() => loadSafetensors(bytes as Uint8Array)).toThrow(message);
  });

  it('fuzz: random bytes give a SafetensorsError or a valid result, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        try {
          loadSafetensors(bytes);
        } catch (error) {
          if (!(error instanceof SafetensorsError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: mutated valid files give a SafetensorsError or a valid result, never a crash', () => {
    const valid = validFile();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(valid.length),
        (edits, cut) => {
          const bytes = valid.slice(0, Math.max(cut, 1));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          try {
            const { tensors } = loadSafetensors(bytes);
            for (const t of Object.values(tensors)) expect(t.size).toBeLessThanOrEqual(bytes.length);
          } catch (error) {
            if (!(error instanceof SafetensorsError)) throw error;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('fuzz: mutated header JSON values give a SafetensorsError, never a crash', () => {
    const values = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.array(fc.integer({ min: -5, max: 1e12 }), { maxLength: 3 }));
    fc.assert(
      fc.property(values, values, values, (dtype, shape, offsets) => {
        const json = JSON.stringify({ x: { dtype, shape, data_offsets: offsets } });
        try {
          loadSafetensors(header(json, new Uint8Array(16)));
        } catch (error) {
          if (!(error instanceof SafetensorsError)) throw error;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('writes files atomically and names the file in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engram-st-'));
    const path = join(dir, 'weights.safetensors');
    await saveSafetensorsFile(path, { w: tensor([1, 2]) }, { note: 'x' });
    expect(readdirSync(dir)).toEqual(['weights.safetensors']);
    expect((await loadSafetensorsFile(path)).metadata.note).toBe('x');
    expect(readFileSync(path).length).toBeGreaterThan(8);
    const broken = join(dir, 'broken.safetensors');
    await saveSafetensorsFile(broken, { w: tensor([1, 2]) });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(broken, readFileSync(broken).subarray(0, 20));
    await expect(loadSafetensorsFile(broken)).rejects.toThrow(new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
    // A folder, and a file too large to read (sparse: nothing is written), each named before anything is read.
    await expect(loadSafetensorsFile(dir)).rejects.toThrow(/: not a file$/);
    const huge = join(dir, 'huge.safetensors');
    const { truncateSync } = await import('node:fs');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_FILE_BYTES + 1);
    await expect(loadSafetensorsFile(huge)).rejects.toThrow(EngramError);
    await expect(loadSafetensorsFile(huge)).rejects.toThrow(/huge.safetensors: 2147483648 bytes, more than the 2147483647 one file/);
  });
});

describe('model files trust no name', () => {
  it('keep names such as __proto__ as plain keys, and reject them where a model would use them as paths', async () => {
    const { checkpointOptimizer, metadataJson, tensorsWithPrefix } = await import('./index.js');
    const t = tensor([1, 2]);
    const bytes = saveSafetensors({ ['__proto__']: t, 'optimizer.__proto__.0': t, 'params.constructor.x': t }, { ['__proto__']: 'x', training: '{' });
    const { tensors, metadata } = loadSafetensors(bytes, { source: 'f' });
    expect(Object.keys(tensors).sort()).toEqual(['__proto__', 'optimizer.__proto__.0', 'params.constructor.x']);
    expect(Object.keys(metadata)).toContain('__proto__');
    expect(() => tensorsWithPrefix('f', tensors, 'params.')).toThrow(/tensor name '__proto__' is not allowed/);
    expect(() => checkpointOptimizer('f', tensors, metadata)).toThrow(/is not allowed/);
    expect(() => metadataJson('f', metadata, 'training')).toThrow(/'training' metadata is not valid JSON/);
    expect(() => metadataJson('f', metadata, 'config')).toThrow(/'config' metadata is missing/);
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>)[0]).toBeUndefined();
  });
});

describe('float16 files', () => {
  it('store half the bytes and read back each value rounded to the nearest half (subnormals included)', () => {
    const rng = new Random(4);
    const values = Float32Array.from({ length: 2000 }, () => rng.uniform(-1, 1) * 10 ** rng.uniform(-8, 4));
    const t = tensor(values, [2000]);
    const full = saveSafetensors({ t });
    const half = saveSafetensors({ t }, {}, { dtype: 'F16' });
    expect(half.length).toBeLessThan(full.length * 0.6);
    const back = loadSafetensors(half).tensors.t?.toArray() as Float32Array;
    values.forEach((v, i) => {
      // Relative error ≤ 2⁻¹¹ for normal halves; absolute ≤ 2⁻²⁵ below the normal range.
      expect(Math.abs((back[i] as number) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    });
    expect(loadSafetensors(saveSafetensors({ t: tensor([70000, -1e9, 0.5]) }, {}, { dtype: 'F16' })).tensors.t?.toArray()).toEqual(
      Float32Array.from([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5]),
    );
  });
});

describe('safetensors as the reference implementation reads it', () => {
  it('rejects trailing bytes, gaps and data before the first tensor', () => {
    const file = (json: string, data: number) => {
      const header = new TextEncoder().encode(json);
      const out = new Uint8Array(8 + header.length + data);
      new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
      out.set(header, 8);
      return out;
    };
    expect(() => loadSafetensors(file('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 8))).toThrow(/4 trailing bytes after the last tensor/);
    expect(() =>
      loadSafetensors(file('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', 12)),
    ).toThrow(/4 bytes between tensors 'x' and 'y' belong to none/);
    expect(() => loadSafetensors(file('{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8))).toThrow(/the first 4 bytes of data belong to no tensor/);
    expect(() => loadSafetensors(file('{}', 4))).toThrow(/4 trailing bytes/);
    expect(() =>
      loadSafetensors(file('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)),
    ).toThrow(/the header names 'x' twice/);
    // A key inside a tensor's entry, or a name with an escaped quote, is not a top-level duplicate.
    expect(Object.keys(loadSafetensors(file('{"a\\"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"a\\"b":"x"}}', 4)).tensors)).toEqual([
      'a"b',
    ]);
    expect(loadSafetensors(file('{}', 0)).tensors).toEqual({});
  });
});
