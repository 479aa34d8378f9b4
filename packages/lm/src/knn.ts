import { EngramError, type Random, float32ToHalf as toHalf, halfToFloat32 as fromHalf, matmulRaw, noGrad, tensor } from '@engram/tensor';
import { type TextRun, interpolate } from './cache.js';
import { type LmModel, flatParameters, readText } from './model.js';

/**
 * The kNN-LM datastore (Khandelwal et al. 2020, "Generalization through Memorization"): for every
 * position t of a text, the key f(c_t) = the top LSTM layer's h_t and the value w_{t+1}, the word that
 * followed.
 */
export interface Datastore {
  /** Entries. */
  count: number;
  /** d, the key width (the model's H). */
  width: number;
  /** Keys, `count × width` row-major. */
  keys: Float32Array;
  /** ‖k_i‖² of every key (computed, not stored). */
  norms: Float32Array;
  /** Values: the word id that followed each key. */
  values: Int32Array;
  /** Where each entry came from: its position in the text the datastore was built from (null when not kept). */
  positions: Int32Array | null;
  /** The fingerprint of the model whose states the keys are (see {@link modelFingerprint}). */
  fingerprint: string;
}

/**
 * A fingerprint of a model's config and weights (FNV-1a over every parameter's bits), stored with a datastore.
 * @param model - the language model
 */
export function modelFingerprint(model: LmModel): string {
  let hash = 0x811c9dc5;
  const mix = (byte: number) => {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  };
  for (const ch of JSON.stringify(model.config)) mix(ch.charCodeAt(0) & 0xff);
  for (const t of flatParameters(model)) {
    const bytes = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
    // Every 7th byte keeps it fast on 20 MB of weights while still catching any retraining.
    for (let i = 0; i < bytes.length; i += 7) mix(bytes[i] as number);
  }
  return hash.toString(16).padStart(8, '0');
}

function squaredNorms(keys: Float32Array, count: number, width: number): Float32Array {
  const norms = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let k = 0; k < width; k++) s += (keys[i * width + k] as number) ** 2;
    norms[i] = s;
  }
  return norms;
}

/**
 * A datastore from keys and values (checked); `positions` (default: 0, 1, 2, …) say where each entry came from.
 * @param keys - the context vectors, `entries × width` row-major
 * @param values - the next word of each entry
 * @param width - the width of each vector
 * @param fingerprint - the fingerprint of the model that made the keys
 * @param positions - each entry's position in the training text, or null
 */
export function makeDatastore(keys: Float32Array, values: Int32Array, width: number, fingerprint: string, positions: Int32Array | null = null): Datastore {
  const count = values.length;
  if (!Number.isInteger(width) || width < 1 || keys.length !== count * width)
    throw new EngramError(`datastore: ${keys.length} key values for ${count} entries of width ${width}`);
  if (positions !== null && positions.length !== count) throw new EngramError(`datastore: ${positions.length} positions for ${count} entries`);
  return { count, width, keys, norms: squaredNorms(keys, count, width), values, fingerprint, positions };
}

/** Options of {@link buildDatastore}. */
export interface BuildDatastoreOptions {
  /**
   * Read the text as this many parallel streams (default 1: one stream, every position with its whole
   * prefix as context). More streams batch the work (about 20% faster at 20 here); each stream then starts
   * from the zero state, so the first words of each have a shorter context.
   */
  streams?: number;
  /** After each window: positions done of total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Builds the datastore of a text (the training text, for kNN-LM): one pass of the LSTM over it (no softmax
 * layer: only h_t is kept), keeping every position's h_t, the next word, and where it came from.
 * @param model - the language model
 * @param ids - the training text as word ids
 * @param options - how many parallel streams to read it in, the unroll, and progress reporting
 * @example
 * ```ts
 * const { model } = await loadLm('runs/lm-small/model.safetensors');
 * const corpus = await loadPtbCorpus('data/ptb');
 * const indexed = buildIvfIndex(buildDatastore(model, corpus.train, { streams: 20 }), new Random(1)); // entries reordered by cell
 * await saveDatastore('runs/lm-small/datastore.bin', indexed.store, { dtype: 'f16', index: indexed.index });
 * ```
 */
export function buildDatastore(model: LmModel, ids: Int32Array, options: BuildDatastoreOptions = {}): Datastore {
  const streamCount = options.streams ?? 1;
  const perStream = Math.floor(ids.length / streamCount) - 1;
  const count = perStream * streamCount;
  const width = model.config.hiddenSize;
  const keys = new Float32Array(count * width);
  const values = new Int32Array(count);
  const positions = new Int32Array(count);
  readText(model, ids, { streams: streamCount, unroll: 50, logits: false }, ({ window, start, hidden }) => {
    const h = hidden.dataSync();
    for (let t = 0; t < window.steps; t++) {
      for (let b = 0; b < streamCount; b++) {
        // Entry order: stream by stream, so each stream's positions stay together.
        const entry = b * perStream + start + t;
        keys.set(h.subarray((t * streamCount + b) * width, (t * streamCount + b + 1) * width), entry * width);
        values[entry] = window.targets[t * streamCount + b] as number;
        positions[entry] = b * (perStream + 1) + start + t;
      }
    }
    options.onProgress?.((start + window.steps) * streamCount, count);
  });
  return makeDatastore(keys, values, width, modelFingerprint(model), positions);
}

/** The k nearest keys of each query: indices and squared L2 distances, nearest first, `queries × k`. */
export interface Neighbours {
  /** k. */
  k: number;
  /** Entry indices, `queries × k`. */
  indices: Int32Array;
  /** Squared L2 distances ‖q − k_i‖², `queries × k`. */
  distances: Float32Array;
}

/** A max-heap of the k smallest distances seen so far, in two flat arrays. */
class TopK {
  readonly distances: Float32Array;
  readonly indices: Int32Array;
  size = 0;
  constructor(readonly k: number) {
    this.distances = new Float32Array(k);
    this.indices = new Int32Array(k);
  }
  /** The largest kept distance (∞ until full). */
  get bound(): number {
    return this.size < this.k ? Number.POSITIVE_INFINITY : (this.distances[0] as number);
  }
  push(distance: number, index: number): void {
    const d = this.distances;
    const ix = this.indices;
    let i: number;
    if (this.size < this.k) {
      i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if ((d[parent] as number) >= distance) break;
        d[i] = d[parent] as number;
        ix[i] = ix[parent] as number;
        i = parent;
      }
    } else {
      if (distance >= (d[0] as number)) return;
      i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= this.k) break;
        const right = left + 1;
        const child = right < this.k && (d[right] as number) > (d[left] as number) ? right : left;
        if ((d[child] as number) <= distance) break;
        d[i] = d[child] as number;
        ix[i] = ix[child] as number;
        i = child;
      }
    }
    d[i] = distance;
    ix[i] = index;
  }
  /**
   * Offers `count` keys whose dot products with the query are `dots[dotsAt …]`: key j (entry `first + j`)
   * is at ‖k‖² − 2 q·k, the distance less ‖q‖² (the same for every key of this query).
   */
  scan(dots: Float32Array, dotsAt: number, norms: Float32Array, first: number, count: number): void {
    let bound = this.bound;
    for (let j = 0; j < count; j++) {
      const d = (norms[first + j] as number) - 2 * (dots[dotsAt + j] as number);
      if (d < bound) {
        this.push(d, first + j);
        bound = this.bound;
      }
    }
  }
  /** Writes the kept entries nearest first as squared distances from `query` (adding back its ‖q‖²). */
  finish(query: Float32Array, distances: Float32Array, indices: Int32Array, at: number): void {
    let qq = 0;
    for (const v of query) qq += v * v;
    this.drain(distances, indices, at);
    for (let j = 0; j < this.k; j++) distances[at + j] = Math.max(0, (distances[at + j] as number) + qq);
  }
  /** Writes the kept entries nearest first. */
  private drain(distances: Float32Array, indices: Int32Array, at: number): void {
    const order = Array.from({ length: this.size }, (_, i) => i).sort((a, b) => (this.distances[a] as number) - (this.distances[b] as number));
    order.forEach((j, r) => {
      distances[at + r] = this.distances[j] as number;
      indices[at + r] = this.indices[j] as number;
    });
    for (let r = order.length; r < this.k; r++) {
      distances[at + r] = Number.POSITIVE_INFINITY;
      indices[at + r] = -1;
    }
  }
}

/** How many queries and keys {@link exactNeighbours} multiplies at once. */
const QUERY_BLOCK = 128;
const KEY_BLOCK = 16384;

function checkQueries(store: Datastore, queries: Float32Array, k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > store.count)
    throw new EngramError(`kNN: k must be an integer in 1..${store.count} (the datastore's size), got ${k}`);
  const q = queries.length / store.width;
  if (!Number.isInteger(q)) throw new EngramError(`kNN: ${queries.length} query values are not a whole number of ${store.width}-wide queries`);
  return q;
}

/**
 * Exact k-nearest-neighbour search by squared L2 distance over the whole datastore:
 * ‖q − k_i‖² = ‖q‖² − 2 q·k_i + ‖k_i‖², the dot products of a block of queries with a block of keys as
 * one matrix product (the WebAssembly SIMD matmul), the k best kept in a heap per query.
 *
 * @param queries `queries × width` row-major
 * @param store - the datastore to search
 * @param k - how many neighbours per query
 * @param options - progress reporting
 */
export function exactNeighbours(
  store: Datastore,
  queries: Float32Array,
  k: number,
  options: { onProgress?: (done: number, total: number) => void } = {},
): Neighbours {
  const count = checkQueries(store, queries, k);
  const { width, keys, norms } = store;
  const indices = new Int32Array(count * k);
  const distances = new Float32Array(count * k);
  noGrad(() => {
    for (let q0 = 0; q0 < count; q0 += QUERY_BLOCK) {
      const rows = Math.min(QUERY_BLOCK, count - q0);
      const block = queries.subarray(q0 * width, (q0 + rows) * width);
      const heaps = Array.from({ length: rows }, () => new TopK(k));
      const queryTensor = tensor(block, [rows, width]);
      for (let k0 = 0; k0 < store.count; k0 += KEY_BLOCK) {
        const cols = Math.min(KEY_BLOCK, store.count - k0);
        const dots = matmulRaw(queryTensor, tensor(keys.subarray(k0 * width, (k0 + cols) * width), [cols, width]), false, true).dataSync();
        heaps.forEach((heap, r) => {
          heap.scan(dots, r * cols, norms, k0, cols);
        });
      }
      heaps.forEach((heap, r) => {
        heap.finish(block.subarray(r * width, (r + 1) * width), distances, indices, (q0 + r) * k);
      });
      options.onProgress?.(q0 + rows, count);
    }
  });
  return { k, indices, distances };
}

/**
 * An inverted-file index (IVF): the keys clustered by k-means into `lists` cells, the datastore stored in
 * cell order so each cell's keys are one contiguous block; a query scans only its `probes` nearest cells.
 * Approximate: {@link neighbourRecall} says how much it misses against {@link exactNeighbours}.
 */
export interface IvfIndex {
  /** Cells. */
  lists: number;
  /** Cell centres, `lists × width`. */
  centroids: Float32Array;
  /** Cell c holds entries `offsets[c] … offsets[c + 1])` of the (reordered) datastore. */
  offsets: Int32Array;
}

/** A datastore in cell order and its index. */
export interface IndexedDatastore {
  /** The entries, reordered so that every cell is contiguous. */
  store: Datastore;
  /** The cells. */
  index: IvfIndex;
}

/** Nearest centroid of each of `count` rows (squared L2): exact 1-nearest-neighbour search over the centroids. */
function assign(rows: Float32Array, count: number, width: number, centroids: Float32Array, lists: number): Int32Array {
  return exactNeighbours(centroidStore(centroids, lists, width), rows.subarray(0, count * width), 1).indices;
}

/** The centroids as a datastore, to search them like keys. */
function centroidStore(centroids: Float32Array, lists: number, width: number): Datastore {
  return makeDatastore(centroids, new Int32Array(lists), width, '');
}

/**
 * Builds an IVF index: k-means (Lloyd's, `iterations` rounds, seeded) on a random sample of the keys,
 * then every key assigned to its nearest centre and the datastore reordered cell by cell.
 *
 * @param options `lists` (default √count), `sample` (default max(40 · lists, 10,000)), `iterations` (default 10)
 * @param store - the datastore to index
 * @param rng - the seeded random source for the k-means sample and initial centroids
 * @param options - the number of cells (default √entries), the k-means sample size and iterations
 */
export function buildIvfIndex(store: Datastore, rng: Random, options: { lists?: number; sample?: number; iterations?: number } = {}): IndexedDatastore {
  const lists = options.lists ?? Math.max(1, Math.round(Math.sqrt(store.count)));
  const { width } = store;
  if (!Number.isInteger(lists) || lists < 1 || lists > store.count) throw new EngramError(`buildIvfIndex: lists must be in 1..${store.count}, got ${lists}`);
  const sampleSize = Math.min(store.count, options.sample ?? Math.max(lists * 40, 10_000));
  const order = rng.permutation(store.count).subarray(0, sampleSize);
  const sample = new Float32Array(sampleSize * width);
  order.forEach((i, r) => {
    sample.set(store.keys.subarray(i * width, (i + 1) * width), r * width);
  });
  const centroids = new Float32Array(lists * width);
  for (let c = 0; c < lists; c++) centroids.set(sample.subarray(c * width, (c + 1) * width), c * width);
  for (let it = 0; it < (options.iterations ?? 10); it++) {
    const owner = assign(sample, sampleSize, width, centroids, lists);
    const sums = new Float64Array(lists * width);
    const sizes = new Int32Array(lists);
    for (let r = 0; r < sampleSize; r++) {
      const c = owner[r] as number;
      sizes[c] = (sizes[c] as number) + 1;
      for (let j = 0; j < width; j++) sums[c * width + j] = (sums[c * width + j] as number) + (sample[r * width + j] as number);
    }
    for (let c = 0; c < lists; c++) {
      if (sizes[c] === 0) {
        // An empty cell takes a random sample point, so no centre is wasted.
        const r = rng.int(0, sampleSize - 1);
        centroids.set(sample.subarray(r * width, (r + 1) * width), c * width);
      } else for (let j = 0; j < width; j++) centroids[c * width + j] = (sums[c * width + j] as number) / (sizes[c] as number);
    }
  }
  const owner = assign(store.keys, store.count, width, centroids, lists);
  const offsets = new Int32Array(lists + 1);
  for (const c of owner) offsets[c + 1] = (offsets[c + 1] as number) + 1;
  for (let c = 0; c < lists; c++) offsets[c + 1] = (offsets[c + 1] as number) + (offsets[c] as number);
  const next = offsets.slice(0, lists);
  const keys = new Float32Array(store.keys.length);
  const values = new Int32Array(store.count);
  const positions = store.positions ? new Int32Array(store.count) : null;
  owner.forEach((c, i) => {
    const at = next[c] as number;
    next[c] = at + 1;
    keys.set(store.keys.subarray(i * width, (i + 1) * width), at * width);
    values[at] = store.values[i] as number;
    if (positions) positions[at] = store.positions?.[i] as number;
  });
  return { store: makeDatastore(keys, values, width, store.fingerprint, positions), index: { lists, centroids, offsets } };
}

/** Queries {@link ivfNeighbours} groups by cell at once. */
const IVF_QUERY_BLOCK = 4096;

/**
 * Approximate search through an IVF index: each query's `probes` nearest cells, searched exactly. The
 * queries of a block are grouped by cell, so each cell's keys meet all the queries probing it in one matrix
 * product.
 *
 * @param store the datastore in the index's cell order (as {@link buildIvfIndex} returns it)
 * @param store - the datastore to search
 * @param index - its IVF index (`buildIvfIndex`)
 * @param queries - the query vectors, `count × width` row-major
 * @param k - how many neighbours per query
 * @param probes - how many cells to scan per query (more: higher recall, slower)
 */
export function ivfNeighbours(store: Datastore, index: IvfIndex, queries: Float32Array, k: number, probes: number): Neighbours {
  const count = checkQueries(store, queries, k);
  if ((index.offsets[index.lists] as number) !== store.count)
    throw new EngramError(`ivfNeighbours: the index covers ${index.offsets[index.lists]} entries, the datastore has ${store.count}`);
  const { width, keys, norms } = store;
  const indices = new Int32Array(count * k);
  const distances = new Float32Array(count * k);
  const p = Math.min(probes, index.lists);
  const cells = exactNeighbours(centroidStore(index.centroids, index.lists, width), queries, p);
  noGrad(() => {
    for (let q0 = 0; q0 < count; q0 += IVF_QUERY_BLOCK) {
      const rows = Math.min(IVF_QUERY_BLOCK, count - q0);
      const heaps = Array.from({ length: rows }, () => new TopK(k));
      const byCell = new Map<number, number[]>();
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < p; j++) {
          const c = cells.indices[(q0 + r) * p + j] as number;
          const list = byCell.get(c);
          if (list) list.push(r);
          else byCell.set(c, [r]);
        }
      }
      for (const [c, members] of byCell) {
        const from = index.offsets[c] as number;
        const size = (index.offsets[c + 1] as number) - from;
        if (size === 0) continue;
        const block = new Float32Array(members.length * width);
        members.forEach((r, i) => {
          block.set(queries.subarray((q0 + r) * width, (q0 + r + 1) * width), i * width);
        });
        const dots = matmulRaw(
          tensor(block, [members.length, width]),
          tensor(keys.subarray(from * width, (from + size) * width), [size, width]),
          false,
          true,
        ).dataSync();
        members.forEach((r, i) => {
          (heaps[r] as TopK).scan(dots, i * size, norms, from, size);
        });
      }
      heaps.forEach((heap, r) => {
        heap.finish(queries.subarray((q0 + r) * width, (q0 + r + 1) * width), distances, indices, (q0 + r) * k);
      });
    }
  });
  return { k, indices, distances };
}

/**
 * Recall@k of approximate neighbours against exact ones (both over the same datastore): the fraction of the exact k found.
 * @param exact - the exact neighbours
 * @param approximate - the approximate neighbours of the same queries
 */
export function neighbourRecall(exact: Neighbours, approximate: Neighbours): number {
  const queries = exact.indices.length / exact.k;
  let found = 0;
  for (let q = 0; q < queries; q++) {
    const truth = new Set(exact.indices.subarray(q * exact.k, (q + 1) * exact.k));
    for (const i of approximate.indices.subarray(q * approximate.k, (q + 1) * approximate.k)) if (truth.has(i)) found++;
  }
  return found / (queries * exact.k);
}

/**
 * p_kNN(w) for each query's target word (Khandelwal et al. eq. 2): Σ_{i ∈ kNN} [v_i = w] exp(−d_i / T) over
 * Σ_{i ∈ kNN} exp(−d_i / T).
 *
 * @param targets the word each query should predict
 * @param temperature T (default 1, the paper's)
 * @param store - the datastore
 * @param neighbours - each query's neighbours and squared distances
 */
export function knnProbabilities(store: Datastore, neighbours: Neighbours, targets: Int32Array, temperature = 1): Float64Array {
  const { k } = neighbours;
  const out = new Float64Array(targets.length);
  for (let q = 0; q < targets.length; q++) {
    let min = Number.POSITIVE_INFINITY;
    for (let j = 0; j < k; j++) min = Math.min(min, neighbours.distances[q * k + j] as number);
    let total = 0;
    let hit = 0;
    for (let j = 0; j < k; j++) {
      const index = neighbours.indices[q * k + j] as number;
      if (index < 0) continue;
      const e = Math.exp(-((neighbours.distances[q * k + j] as number) - min) / temperature);
      total += e;
      if (store.values[index] === targets[q]) hit += e;
    }
    out[q] = total > 0 ? hit / total : 0;
  }
  return out;
}

/** The perplexity at one interpolation weight. */
export interface LambdaPerplexity {
  /** λ. */
  lambda: number;
  /** Perplexity of (1 − λ) p_model + λ p_memory. */
  perplexity: number;
}

/** One training context the kNN memory drew on. */
export interface KnnRecall {
  /** The entry's position in the text the datastore was built from (−1 when the datastore does not keep positions). */
  position: number;
  /** The word that followed it there (what it votes for). */
  next: number;
  /** Squared L2 distance d_i to the query. */
  distance: number;
  /** Its weight exp(−d_i) / Σ_j exp(−d_j). */
  weight: number;
}

/**
 * The neighbours of query q (row q of `neighbours`) as weighted training contexts, nearest first (the inspection API).
 * @param store - the datastore (its positions say where in the training text each neighbour is)
 * @param neighbours - the neighbours of the queries
 * @param q - which query (row of `neighbours`)
 * @param temperature - divides the distances before the softmax (default 1, as in p_kNN)
 */
export function knnRecall(store: Datastore, neighbours: Neighbours, q = 0, temperature = 1): KnnRecall[] {
  const { k } = neighbours;
  const rows: { index: number; distance: number }[] = [];
  for (let j = 0; j < k; j++) {
    const index = neighbours.indices[q * k + j] as number;
    if (index >= 0) rows.push({ index, distance: neighbours.distances[q * k + j] as number });
  }
  const min = Math.min(...rows.map((r) => r.distance));
  const weights = rows.map((r) => Math.exp(-(r.distance - min) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  return rows.map((r, i) => ({
    position: store.positions ? (store.positions[r.index] as number) : -1,
    next: store.values[r.index] as number,
    distance: r.distance,
    weight: (weights[i] as number) / total,
  }));
}

/**
 * Perplexity of (1 − λ) p_model + λ p_kNN over a run's positions, for each λ.
 * @param run - the text read once through the model (`runText`)
 * @param pKnn - p_kNN of each next word (`knnProbabilities`)
 * @param lambdas - the λ values to try
 */
export function knnPerplexities(run: TextRun, pKnn: Float64Array, lambdas: readonly number[]): LambdaPerplexity[] {
  return lambdas.map((lambda) => {
    let nats = 0;
    for (let t = 0; t < run.tokens; t++) nats -= Math.log(interpolate(run.modelProbability[t] as number, pKnn[t] as number, lambda));
    return { lambda, perplexity: Math.exp(nats / run.tokens) };
  });
}

const MAGIC = 'ENGRAMKN';
const HEADER_LIMIT = 4096;
/** The most entries a datastore file may declare (bounds what a hostile file makes us allocate). */
export const MAX_DATASTORE_ENTRIES = 50_000_000;

/** True on little-endian machines, where typed arrays can view the file's bytes directly. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The bytes of a datastore file: `ENGRAMKN`, a 4-byte header length, a JSON header (format, count, width,
 * dtype, model fingerprint), the keys (float32, or float16 which halves the file) and the values (int32).
 * @param store - the datastore
 * @param options - `dtype`: keys as float32 or float16 (half the size); `index`: an IVF index to store with it
 */
export function datastoreToBytes(store: Datastore, options: { dtype?: 'f32' | 'f16'; index?: IvfIndex } = {}): Uint8Array {
  const dtype = options.dtype ?? 'f32';
  const lists = options.index?.lists ?? 0;
  const positions = store.positions !== null;
  const json = JSON.stringify({ format: 'engram-knn/1', count: store.count, width: store.width, dtype, fingerprint: store.fingerprint, lists, positions });
  // Padded with spaces so the arrays after it start 4-byte aligned.
  const header = new TextEncoder().encode(json.padEnd(json.length + ((4 - ((12 + json.length) % 4)) % 4), ' '));
  const keyBytes = store.count * store.width * (dtype === 'f16' ? 2 : 4);
  const indexBytes = lists > 0 ? lists * store.width * 4 + (lists + 1) * 4 : 0;
  const positionBytes = positions ? store.count * 4 : 0;
  const out = new Uint8Array(12 + header.length + keyBytes + store.count * 4 + indexBytes + positionBytes);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  let at = 12 + header.length;
  if (LITTLE_ENDIAN) {
    if (dtype === 'f16') {
      const halves = new Uint16Array(out.buffer, at, store.keys.length);
      for (let i = 0; i < halves.length; i++) halves[i] = toHalf(store.keys[i] as number);
    } else new Float32Array(out.buffer, at, store.keys.length).set(store.keys);
    new Int32Array(out.buffer, at + keyBytes, store.count).set(store.values);
    at += keyBytes + store.count * 4;
  } else {
    for (const v of store.keys) {
      if (dtype === 'f16') view.setUint16(at, toHalf(v), true);
      else view.setFloat32(at, v, true);
      at += dtype === 'f16' ? 2 : 4;
    }
    for (const v of store.values) {
      view.setInt32(at, v, true);
      at += 4;
    }
  }
  if (options.index) {
    for (const v of options.index.centroids) {
      view.setFloat32(at, v, true);
      at += 4;
    }
    for (const v of options.index.offsets) {
      view.setInt32(at, v, true);
      at += 4;
    }
  }
  for (const v of store.positions ?? []) {
    view.setInt32(at, v, true);
    at += 4;
  }
  return out;
}
/** What a datastore file holds. */
export interface DatastoreFile {
  /** The entries (in cell order when indexed). */
  store: Datastore;
  /** The IVF index, or null when the file has none (exact search only). */
  index: IvfIndex | null;
}

/**
 * Reads a datastore file's bytes; every field is checked and sizes bounded before anything is allocated.
 * @param bytes - the file's contents
 * @param source - named in errors
 * @param vocabularySize - the model's vocabulary size; every stored next word must be below it
 */
export function datastoreFromBytes(bytes: Uint8Array, source = 'datastore', vocabularySize?: number): DatastoreFile {
  const fail = (message: string): never => {
    throw new EngramError(`${source}: ${message}`);
  };
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail('not an Engram kNN datastore');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (headerLength > HEADER_LIMIT || 12 + headerLength > bytes.length) fail(`header length ${headerLength} is out of bounds`);
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    fail('the header is not JSON');
  }
  if (typeof header !== 'object' || header === null || header.format !== 'engram-knn/1') fail(`unknown format '${String(header?.format)}'`);
  const { count, width, dtype, fingerprint, lists } = header;
  const hasPositions = header.positions === true;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_DATASTORE_ENTRIES)
    fail(`'count' must be an integer in 1..${MAX_DATASTORE_ENTRIES}`);
  if (typeof width !== 'number' || !Number.isInteger(width) || width < 1 || width > 8192) fail("'width' must be an integer in 1..8192");
  if (dtype !== 'f32' && dtype !== 'f16') fail("'dtype' must be 'f32' or 'f16'");
  if (typeof fingerprint !== 'string' || fingerprint.length > 64) fail("'fingerprint' must be a string");
  if (typeof lists !== 'number' || !Number.isInteger(lists) || lists < 0 || lists > (count as number)) fail(`'lists' must be an integer in 0..count`);
  const n = count as number;
  const w = width as number;
  const l = lists as number;
  const keyBytes = n * w * (dtype === 'f16' ? 2 : 4);
  const indexBytes = l > 0 ? l * w * 4 + (l + 1) * 4 : 0;
  const expected = 12 + headerLength + keyBytes + n * 4 + indexBytes + (hasPositions ? n * 4 : 0);
  if (bytes.length !== expected) fail(`${bytes.length} bytes, but ${n} entries of width ${w} (${dtype})${l > 0 ? ` and ${l} cells` : ''} need ${expected}`);
  // A copy of everything after the header starts at offset 0, so typed arrays can view it (little-endian
  // machines; the header is padded so the arrays are aligned).
  const body = bytes.slice(12 + headerLength);
  const bodyView = new DataView(body.buffer);
  const keys = new Float32Array(n * w);
  if (dtype === 'f16') {
    const halves =
      LITTLE_ENDIAN && body.byteOffset % 2 === 0
        ? new Uint16Array(body.buffer, 0, keys.length)
        : Uint16Array.from({ length: keys.length }, (_, i) => bodyView.getUint16(2 * i, true));
    for (let i = 0; i < keys.length; i++) keys[i] = fromHalf(halves[i] as number);
  } else if (LITTLE_ENDIAN) keys.set(new Float32Array(body.buffer, 0, keys.length));
  else for (let i = 0; i < keys.length; i++) keys[i] = bodyView.getFloat32(4 * i, true);
  let at = keyBytes;
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++, at += 4) {
    const v = bodyView.getInt32(at, true);
    if (v < 0 || (vocabularySize !== undefined && v >= vocabularySize))
      fail(`value ${i} (${v}) is not a word id${vocabularySize === undefined ? '' : ` below ${vocabularySize}`}`);
    values[i] = v;
  }
  for (const k of keys) if (!Number.isFinite(k)) fail('a key is not finite');
  let index: IvfIndex | null = null;
  if (l > 0) {
    const centroids = new Float32Array(l * w);
    for (let i = 0; i < centroids.length; i++, at += 4) centroids[i] = bodyView.getFloat32(at, true);
    const offsets = new Int32Array(l + 1);
    for (let i = 0; i <= l; i++, at += 4) offsets[i] = bodyView.getInt32(at, true);
    if (offsets[0] !== 0 || offsets[l] !== n || offsets.some((o, i) => i > 0 && o < (offsets[i - 1] as number)))
      fail('the index offsets must rise from 0 to count');
    for (const c of centroids) if (!Number.isFinite(c)) fail('a centroid is not finite');
    index = { lists: l, centroids, offsets };
  }
  let positions: Int32Array | null = null;
  if (hasPositions) {
    positions = new Int32Array(n);
    for (let i = 0; i < n; i++, at += 4) {
      const p = bodyView.getInt32(at, true);
      if (p < 0) fail(`position ${i} (${p}) is negative`);
      positions[i] = p;
    }
  }
  return { store: makeDatastore(keys, values, w, fingerprint as string, positions), index };
}

/**
 * Saves a datastore beside a model, atomically. Node only.
 * @param path - where to write (atomically)
 * @param store - the datastore
 * @param options - `dtype`: keys as float32 or float16; `index`: an IVF index to store with it
 */
export async function saveDatastore(path: string, store: Datastore, options: { dtype?: 'f32' | 'f16'; index?: IvfIndex } = {}): Promise<void> {
  const { writeFileAtomic } = await import('@engram/tensor');
  await writeFileAtomic(path, datastoreToBytes(store, options));
}

/**
 * Loads a datastore and checks it was built by this model. Node only.
 * @param path - a datastore file written by `saveDatastore`
 * @param model - the model it must have been built from (checked by fingerprint)
 */
export async function loadDatastore(path: string, model: LmModel): Promise<DatastoreFile> {
  const { readBinaryFile } = await import('@engram/tensor');
  const loaded = datastoreFromBytes(await readBinaryFile(path), path, model.config.vocabularySize);
  const { store } = loaded;
  if (store.width !== model.config.hiddenSize)
    throw new EngramError(`${path}: keys of width ${store.width} do not match the model's ${model.config.hiddenSize}`);
  const expected = modelFingerprint(model);
  if (store.fingerprint !== expected)
    throw new EngramError(`${path}: built by another model (fingerprint ${store.fingerprint}, this model's is ${expected}); rebuild it`);
  return loaded;
}
