import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngramError, Random } from '@engram/tensor';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildDatastore,
  buildIvfIndex,
  createLm,
  datastoreFromBytes,
  datastoreToBytes,
  exactNeighbours,
  ivfNeighbours,
  knnPerplexities,
  knnProbabilities,
  knnRecall,
  loadDatastore,
  makeDatastore,
  neighbourRecall,
  runText,
  saveDatastore,
} from './index.js';

const folders: string[] = [];
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

function randomStore(count: number, width: number, seed: number) {
  const rng = new Random(seed);
  const keys = Float32Array.from({ length: count * width }, () => rng.normal());
  const values = Int32Array.from({ length: count }, () => rng.int(0, 9));
  return makeDatastore(
    keys,
    values,
    width,
    'test',
    Int32Array.from({ length: count }, (_, i) => i),
  );
}

/** Brute force: every distance in float64, sorted (ties by index). */
function bruteForce(keys: Float32Array, width: number, query: Float32Array, k: number): number[] {
  const count = keys.length / width;
  const d = Array.from({ length: count }, (_, i) => {
    let s = 0;
    for (let j = 0; j < width; j++) s += ((query[j] as number) - (keys[i * width + j] as number)) ** 2;
    return { i, s };
  });
  return d
    .sort((a, b) => a.s - b.s || a.i - b.i)
    .slice(0, k)
    .map((e) => e.i);
}

describe('kNN search', () => {
  it('returns exactly the neighbours a brute-force reference returns, nearest first, with their distances', () => {
    const store = randomStore(20_000, 12, 1); // more than one key block
    const queries = randomStore(37, 12, 2).keys;
    const found = exactNeighbours(store, queries, 10);
    for (let q = 0; q < 37; q++) {
      const query = queries.subarray(q * 12, (q + 1) * 12);
      expect(Array.from(found.indices.subarray(q * 10, (q + 1) * 10))).toEqual(bruteForce(store.keys, 12, query, 10));
      const nearest = found.indices[q * 10] as number;
      let d = 0;
      for (let j = 0; j < 12; j++) d += ((query[j] as number) - (store.keys[nearest * 12 + j] as number)) ** 2;
      expect(found.distances[q * 10]).toBeCloseTo(d, 3);
    }
    expect(() => exactNeighbours(store, queries, 0)).toThrow(EngramError);
    expect(() => exactNeighbours(store, queries.subarray(0, 5), 3)).toThrow(/whole number/);
  });

  it('finds the exact neighbours through an IVF index that probes every cell, and most of them with a few cells', () => {
    const store = randomStore(3000, 8, 3);
    const queries = randomStore(50, 8, 4).keys;
    const { store: ordered, index } = buildIvfIndex(store, new Random(1), { lists: 30 });
    expect(index.offsets[30]).toBe(3000);
    const exact = exactNeighbours(ordered, queries, 16);
    expect(neighbourRecall(exact, ivfNeighbours(ordered, index, queries, 16, 30))).toBe(1);
    const few = neighbourRecall(exact, ivfNeighbours(ordered, index, queries, 16, 5));
    expect(few).toBeGreaterThan(0.5);
    expect(few).toBeLessThanOrEqual(1);
    // The reordering keeps every (key, value) pair.
    const pairs = (s: typeof store) =>
      new Set(Array.from({ length: s.count }, (_, i) => `${Array.from(s.keys.subarray(i * 8, i * 8 + 8)).join()}:${s.values[i]}`));
    expect(pairs(ordered)).toEqual(pairs(store));
  });

  it('gives p_kNN(w) ∝ Σ [v_i = w] exp(−d_i) (a hand-worked example), and λ = 0 gives the model alone', () => {
    // Keys on a line at 0, 1, 2 with values 4, 5, 4; the query at 0: d = 0, 1, 4 → weights ∝ 1, e⁻¹, e⁻⁴.
    const store = makeDatastore(Float32Array.from([0, 1, 2]), Int32Array.from([4, 5, 4]), 1, 'x', Int32Array.from([0, 1, 2]));
    const neighbours = exactNeighbours(store, Float32Array.from([0]), 3);
    const z = 1 + Math.exp(-1) + Math.exp(-4);
    const [p4] = knnProbabilities(store, neighbours, Int32Array.from([4]));
    const [p5] = knnProbabilities(store, neighbours, Int32Array.from([5]));
    expect(p4).toBeCloseTo((1 + Math.exp(-4)) / z, 6);
    expect(p5).toBeCloseTo(Math.exp(-1) / z, 6);
    // The inspection: the same neighbours as training contexts, with their weights, nearest first.
    const recall = knnRecall(store, neighbours);
    expect(recall.map((r) => [r.position, r.next])).toEqual([
      [0, 4],
      [1, 5],
      [2, 4],
    ]);
    expect(recall[0]?.weight).toBeCloseTo(1 / z, 6);
  });

  it('lowers the perplexity of text seen in the datastore, built from a model run', () => {
    const model = createLm({ vocabularySize: 10, embeddingSize: 16, hiddenSize: 16, layers: 1, dropout: 0, tied: false, initScale: 1 }, new Random(5));
    const rng = new Random(7);
    const text = Int32Array.from({ length: 400 }, () => rng.int(0, 9));
    const store = buildDatastore(model, text);
    expect(store.count).toBe(399);
    const run = runText(model, text);
    const p = knnProbabilities(store, exactNeighbours(store, run.hidden, 4), run.targets);
    const [alone, withKnn] = knnPerplexities(run, p, [0, 0.5]);
    expect(withKnn?.perplexity).toBeLessThan((alone?.perplexity ?? 0) * 0.7);
  });
});

describe('datastore files', () => {
  it('round-trip exactly in float32 and to within half precision in float16, index included; half the bytes', () => {
    const store = randomStore(500, 6, 8);
    const { store: ordered, index } = buildIvfIndex(store, new Random(2), { lists: 7 });
    const f32 = datastoreToBytes(ordered, { index });
    const back = datastoreFromBytes(f32, 'f', 10);
    expect(back.store.keys).toEqual(ordered.keys);
    expect(back.store.values).toEqual(ordered.values);
    expect(back.index?.offsets).toEqual(index.offsets);
    expect(back.index?.centroids).toEqual(index.centroids);
    // Where each entry came from survives the reordering and the file.
    expect(back.store.positions).toEqual(ordered.positions);
    expect(new Set(back.store.positions)).toEqual(new Set(Array.from({ length: 500 }, (_, i) => i)));
    const f16 = datastoreToBytes(ordered, { dtype: 'f16' });
    expect(f16.length).toBeLessThan(f32.length * 0.75);
    const half = datastoreFromBytes(f16, 'f', 10);
    expect(half.index).toBeNull();
    let worst = 0;
    half.store.keys.forEach((v, i) => {
      const exact = ordered.keys[i] as number;
      worst = Math.max(worst, Math.abs(v - exact) - (Math.abs(exact) * 2 ** -11 + 2 ** -25));
    });
    expect(worst).toBeLessThanOrEqual(0);
  });

  it('rejects malformed and hostile bytes with one message, and a datastore of another model', async () => {
    const good = datastoreToBytes(randomStore(40, 4, 9), { index: buildIvfIndex(randomStore(40, 4, 9), new Random(1), { lists: 3 }).index });
    const header = (h: object) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(12 + json.length + 8);
      out.set(new TextEncoder().encode('ENGRAMKN'));
      new DataView(out.buffer).setUint32(8, json.length, true);
      out.set(json, 12);
      return out;
    };
    const base = { format: 'engram-knn/1', count: 1, width: 1, dtype: 'f32', fingerprint: 'x', lists: 0 };
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(5), /not an Engram kNN datastore/],
      [header({ ...base, format: 'other' }), /unknown format/],
      [header({ ...base, count: 1e12 }), /'count' must be/],
      [header({ ...base, width: 0 }), /'width' must be/],
      [header({ ...base, dtype: 'f64' }), /'dtype' must be/],
      [header({ ...base, lists: 5 }), /'lists' must be/],
      [header({ ...base, count: 2 }), /bytes, but 2 entries/],
    ];
    const badValue = header(base);
    new DataView(badValue.buffer).setInt32(badValue.length - 4, 99, true);
    cases.push([badValue, /value 0 \(99\) is not a word id below 10/]);
    const nanKey = header(base);
    new DataView(nanKey.buffer).setFloat32(nanKey.length - 8, Number.NaN, true);
    cases.push([nanKey, /a key is not finite/]);
    for (const [bytes, message] of cases) expect(() => datastoreFromBytes(bytes, 'f', 10)).toThrow(message);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: good.length }), (at, byte, cut) => {
        const bytes = good.slice(0, cut);
        if (at < bytes.length) bytes[at] = byte;
        try {
          datastoreFromBytes(bytes, 'f', 10);
        } catch (error) {
          expect(error).toBeInstanceOf(EngramError);
        }
      }),
      { numRuns: 300, seed: 3 },
    );
    const folder = mkdtempSync(join(tmpdir(), 'engram-knn-'));
    folders.push(folder);
    const path = join(folder, 'd.knn');
    const model = createLm({ vocabularySize: 10, embeddingSize: 4, hiddenSize: 4, layers: 1, dropout: 0, tied: false, initScale: 0.1 }, new Random(1));
    const other = createLm({ vocabularySize: 10, embeddingSize: 4, hiddenSize: 4, layers: 1, dropout: 0, tied: false, initScale: 0.1 }, new Random(2));
    await saveDatastore(
      path,
      buildDatastore(
        model,
        Int32Array.from({ length: 30 }, (_, i) => i % 10),
      ),
    );
    await expect(loadDatastore(path, model)).resolves.toBeTruthy();
    await expect(loadDatastore(path, other)).rejects.toThrow(/built by another model/);
    writeFileSync(path, 'junk');
    await expect(loadDatastore(path, model)).rejects.toThrow(EngramError);
  });
});

describe('building a datastore from parallel streams', () => {
  it('keeps every entry with the word that followed it where it came from, and stream 0 as one stream reads it', () => {
    const model = createLm({ vocabularySize: 10, embeddingSize: 8, hiddenSize: 8, layers: 1, dropout: 0, tied: false, initScale: 0.5 }, new Random(4));
    const rng = new Random(9);
    const text = Int32Array.from({ length: 403 }, () => rng.int(0, 9));
    const single = buildDatastore(model, text);
    const parallel = buildDatastore(model, text, { streams: 4 });
    expect(parallel.count).toBe(4 * 99);
    const positions = parallel.positions as Int32Array;
    for (let i = 0; i < parallel.count; i++) expect(parallel.values[i]).toBe(text[(positions[i] as number) + 1]);
    // Stream 0 starts where the text starts: its keys are the single stream's.
    for (let i = 0; i < 99; i++)
      for (let k = 0; k < 8; k++) expect(parallel.keys[i * 8 + k]).toBeCloseTo(single.keys[(positions[i] as number) * 8 + k] as number, 5);
  });
});
