import { EngramError, type Tensor, crossEntropy, matmulRaw, noGrad, softmax, tensor } from '@engram/tensor';
import { type LmModel, initialLmState, lmForward, readText } from './model.js';

/** What {@link cacheDistribution} returns. */
export interface CacheDistribution {
  /** Each entry's weight a_i (they sum to 1). */
  weights: Float32Array;
  /** p_cache: probability by word id (words absent from the cache have 0). */
  distribution: Map<number, number>;
}

/**
 * The neural cache (Grave, Joulin & Usunier 2017, eq. 2) over stored pairs (h_i, w_{i+1}):
 * weights a_i = softmax_i(θ · h_t · h_i) and p_cache(w) = Σ_i [w_{i+1} = w] a_i.
 *
 * @param keys h_i, `n × H` row-major
 * @param values w_{i+1}, the word that followed each key
 * @param query h_t, `H` values
 * @param theta θ, the flatness of the cache distribution
 * @returns each entry's weight a_i, and p_cache as a map from word id to probability
 */
export function cacheDistribution(keys: Float32Array, values: Int32Array, query: Float32Array, theta: number): CacheDistribution {
  const n = values.length;
  const h = query.length;
  if (keys.length !== n * h) throw new EngramError(`cacheDistribution: ${keys.length} key values for ${n} entries of width ${h}`);
  const weights = new Float32Array(n);
  const scores = new Float64Array(n);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let k = 0; k < h; k++) dot += (keys[i * h + k] as number) * (query[k] as number);
    const score = theta * dot;
    scores[i] = score;
    if (score > max) max = score;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.exp((scores[i] as number) - max);
  const distribution = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const a = Math.exp((scores[i] as number) - max) / total;
    weights[i] = a;
    const w = values[i] as number;
    distribution.set(w, (distribution.get(w) ?? 0) + a);
  }
  return { weights, distribution };
}

/**
 * p = (1 − λ) p_model + λ p_cache (Grave et al. 2017, eq. 3): the interpolation of the two distributions for one word.
 * @param pModel - the model's probability of the word
 * @param pMemory - the memory's probability of the word
 * @param lambda - λ, the memory's weight in [0, 1]
 */
export function interpolate(pModel: number, pMemory: number, lambda: number): number {
  return (1 - lambda) * pModel + lambda * pMemory;
}

/** A text run through the model once: what the cache needs for any θ, λ and size. */
export interface TextRun {
  /** Words predicted (the text's length − 1). */
  tokens: number;
  /** p_model(w_{t+1} | w_{≤t}) for every position t. */
  modelProbability: Float64Array;
  /** h_t of the top layer for every position, `tokens × H`. */
  hidden: Float32Array;
  /** H. */
  width: number;
  /** w_{t+1} for every position. */
  targets: Int32Array;
}

/**
 * Runs the model over a text as one stream (batch 1) and keeps each position's target probability and h_t.
 * @param model - the language model
 * @param ids - the text as word ids
 * @param options - the unroll and progress reporting
 */
export function runText(model: LmModel, ids: Int32Array, options: { unroll?: number; onProgress?: (done: number, total: number) => void } = {}): TextRun {
  const width = model.config.hiddenSize;
  const tokens = ids.length - 1;
  const modelProbability = new Float64Array(Math.max(0, tokens));
  const hidden = new Float32Array(Math.max(0, tokens) * width);
  const targets = new Int32Array(Math.max(0, tokens));
  readText(model, ids, { unroll: options.unroll ?? 100 }, ({ window, start, hidden: h, logits }) => {
    const nats = crossEntropy(logits as Tensor, window.targets, 'none').dataSync();
    for (let t = 0; t < window.steps; t++) modelProbability[start + t] = Math.exp(-(nats[t] as number));
    hidden.set(h.dataSync(), start * width);
    targets.set(window.targets, start);
    options.onProgress?.(start + window.steps, tokens);
  });
  return { tokens, modelProbability, hidden, width, targets };
}

/** One point of the cache grid. */
export interface CacheGridPoint {
  /** N, the cache size (entries kept). */
  size: number;
  /** θ. */
  theta: number;
  /** λ. */
  lambda: number;
  /** Perplexity of the interpolated model on the text. */
  perplexity: number;
}

/** The θ values {@link cacheGrid} tries by default (Grave et al. search θ in [0, 1]; larger caches here want more). */
export const DEFAULT_THETAS: readonly number[] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3];
/** The λ values {@link cacheGrid} tries by default. */
export const DEFAULT_LAMBDAS: readonly number[] = [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4];

const CHUNK = 256;

/**
 * Perplexity of the model with a neural cache for every cache size, θ and λ given, from one run of
 * the model (the cache needs no retraining). Position t's cache holds (h_i, w_{i+1}) for the `size`
 * positions i < t before it; the first position has an empty cache and uses p_model alone.
 * @param run - the text read once through the model (`runText`)
 * @param grid - the cache sizes N, and the θ and λ values to try (defaults: the grid in the results page)
 */
export function cacheGrid(run: TextRun, grid: { sizes: readonly number[]; thetas?: readonly number[]; lambdas?: readonly number[] }): CacheGridPoint[] {
  const thetas = grid.thetas ?? DEFAULT_THETAS;
  const lambdas = grid.lambdas ?? DEFAULT_LAMBDAS;
  const sizes = grid.sizes;
  for (const s of sizes) if (!Number.isInteger(s) || s < 1) throw new EngramError(`cacheGrid: cache sizes must be positive integers, got ${s}`);
  for (const l of lambdas) if (!(l >= 0 && l <= 1)) throw new EngramError(`cacheGrid: λ must be in [0, 1], got ${l}`);
  for (const t of thetas) if (!(t >= 0 && Number.isFinite(t))) throw new EngramError(`cacheGrid: θ must be a non-negative number, got ${t}`);
  const maxSize = Math.max(...sizes);
  const { tokens, width, hidden, targets, modelProbability } = run;
  const nats = new Float64Array(sizes.length * thetas.length * lambdas.length);
  noGrad(() => {
    for (let start = 0; start < tokens; start += CHUNK) {
      const rows = Math.min(CHUNK, tokens - start);
      const base = Math.max(0, start - maxSize);
      const columns = start + rows - base;
      // Every dot product h_t · h_i this chunk needs, in one matrix product: [rows, H] · [columns, H]ᵀ.
      const query: Tensor = tensor(hidden.subarray(start * width, (start + rows) * width), [rows, width]);
      const keys: Tensor = tensor(hidden.subarray(base * width, (start + rows) * width), [columns, width]);
      const dots = matmulRaw(query, keys, false, true).dataSync();
      for (let r = 0; r < rows; r++) {
        const t = start + r;
        const target = targets[t] as number;
        const pm = modelProbability[t] as number;
        sizes.forEach((size, si) => {
          const from = Math.max(0, t - size);
          thetas.forEach((theta, ti) => {
            let pc = 0;
            if (t > from) {
              let max = Number.NEGATIVE_INFINITY;
              for (let i = from; i < t; i++) max = Math.max(max, theta * (dots[r * columns + i - base] as number));
              let total = 0;
              let hit = 0;
              for (let i = from; i < t; i++) {
                const e = Math.exp(theta * (dots[r * columns + i - base] as number) - max);
                total += e;
                if (targets[i] === target) hit += e;
              }
              pc = hit / total;
            }
            const cell = (si * thetas.length + ti) * lambdas.length;
            lambdas.forEach((lambda, li) => {
              const p = t > from ? interpolate(pm, pc, lambda) : pm;
              nats[cell + li] = (nats[cell + li] as number) - Math.log(p);
            });
          });
        });
      }
    }
  });
  const out: CacheGridPoint[] = [];
  sizes.forEach((size, si) => {
    thetas.forEach((theta, ti) => {
      lambdas.forEach((lambda, li) => {
        out.push({ size, theta, lambda, perplexity: Math.exp((nats[(si * thetas.length + ti) * lambdas.length + li] as number) / tokens) });
      });
    });
  });
  return out;
}

/**
 * The point of a grid with the lowest perplexity for each cache size.
 * @param points - the grid's points, as `cacheGrid` returns them
 */
export function bestPerSize(points: readonly CacheGridPoint[]): CacheGridPoint[] {
  const best = new Map<number, CacheGridPoint>();
  for (const p of points) {
    const current = best.get(p.size);
    if (current === undefined || p.perplexity < current.perplexity) best.set(p.size, p);
  }
  return [...best.values()].sort((a, b) => a.size - b.size);
}

/** One word of a next-word distribution. */
export interface WordProbability {
  /** The word's id. */
  id: number;
  /** Its probability. */
  probability: number;
}

/**
 * The `count` most likely of `vocabularySize` words under `p`, most likely first (one pass, no full sort).
 * @param p - the probability of each word id
 * @param vocabularySize - how many word ids there are
 * @param count - how many to keep
 */
export function topWords(p: (id: number) => number, vocabularySize: number, count: number): WordProbability[] {
  const best: WordProbability[] = [];
  for (let id = 0; id < vocabularySize; id++) {
    const probability = p(id);
    if (best.length < count || probability > (best[best.length - 1] as WordProbability).probability) {
      best.push({ id, probability });
      best.sort((a, b) => b.probability - a.probability);
      if (best.length > count) best.pop();
    }
  }
  return best;
}

/** One cache entry the cache drew on. */
export interface Recalled {
  /** Position i in the text (0-based) whose h_i matched. */
  position: number;
  /** w_{i+1}, the word that followed it (what the entry votes for). */
  next: number;
  /** Its weight a_i. */
  weight: number;
}

/** What the model predicts after the last word of a text, with and without the cache. */
export interface Completion {
  /** The top words of p_model. */
  model: WordProbability[];
  /** The top words of (1 − λ) p_model + λ p_cache. */
  withCache: WordProbability[];
  /** The cache entries with the largest weights, largest first. */
  recalled: Recalled[];
}

/**
 * The next-word distribution after a text, alone and with a neural cache of the text's last `size`
 * positions, and which earlier positions the cache drew on (the inspection API).
 *
 * @param ids the text's word ids (at least one)
 * @param model - the language model
 * @param ids - the text as word ids
 * @param options - the cache size N, θ, λ, and how many words to list
 */
export function completeText(model: LmModel, ids: Int32Array, options: { size: number; theta: number; lambda: number; top?: number }): Completion {
  if (ids.length < 1) throw new EngramError('completeText: the text has no words');
  const top = options.top ?? 10;
  return noGrad(() => {
    const { logits, hidden } = lmForward(model, initialLmState(model, 1), ids, 1);
    const rows = ids.length;
    const v = model.config.vocabularySize;
    const h = model.config.hiddenSize;
    const probabilities = softmax(logits)
      .dataSync()
      .subarray((rows - 1) * v, rows * v);
    const hs = hidden.dataSync();
    const from = Math.max(0, rows - 1 - options.size);
    const keys = hs.subarray(from * h, (rows - 1) * h);
    const values = ids.subarray(from + 1, rows);
    const query = hs.subarray((rows - 1) * h, rows * h);
    const cache: CacheDistribution =
      values.length > 0 ? cacheDistribution(keys, values, query, options.theta) : { weights: new Float32Array(), distribution: new Map<number, number>() };
    const lambda = values.length > 0 ? options.lambda : 0;
    const recalled = Array.from(cache.weights, (weight, i) => ({ position: from + i, next: values[i] as number, weight }))
      .sort((a, b) => b.weight - a.weight)
      .slice(0, top);
    return {
      model: topWords((id) => probabilities[id] as number, v, top),
      withCache: topWords((id) => interpolate(probabilities[id] as number, cache.distribution.get(id) ?? 0, lambda), v, top),
      recalled,
    };
  });
}

/** Options of {@link readWithCache}. */
export interface ReadOptions {
  /** N, the cache size. */
  size: number;
  /** θ. */
  theta: number;
  /** λ. */
  lambda: number;
}

/** The most likely next words at one position. */
export interface TopWords {
  /** Under the model alone. */
  model: WordProbability[];
  /** With the cache. */
  withCache: WordProbability[];
}

/**
 * A text read word by word with and without a neural cache (the demo's "long text" view): at each
 * position t, the probability each gave the word that actually came next, and on demand the top words
 * and the cache's weights over the earlier positions.
 */
export interface CacheReading {
  /** Positions read: the text's length − 1 (position t predicts word t + 1). */
  tokens: number;
  /** p_model(w_{t+1}) at each position. */
  modelProbability: Float64Array;
  /** (1 − λ) p_model + λ p_cache of w_{t+1} at each position. */
  mixedProbability: Float64Array;
  /** Perplexity of the model alone over the text. */
  modelPerplexity: number;
  /** Perplexity with the cache. */
  mixedPerplexity: number;
  /**
   * The `top` most likely next words at position t, alone and with the cache.
   * @param t - the position (it predicts word t + 1)
   * @param top - how many words to list
   */
  top(t: number, top: number): TopWords;
  /**
   * The cache's weights at position t over the earlier positions it holds (position i stands for the word i + 1 it recalls).
   * @param t - the position (it predicts word t + 1)
   */
  recall(t: number): Recalled[];
}

/**
 * Reads a text once through the model (one stream, batch 1) and keeps what {@link CacheReading} shows.
 * @param model - the language model
 * @param ids - the text as word ids
 * @param options - the cache size N, θ and λ
 * @example
 * ```ts
 * const { model, vocabulary } = await loadLm('runs/lm-small/model.safetensors');
 * const { ids } = vocabulary.encode(ptbTokens('the company said it would buy the company'));
 * const reading = readWithCache(model, ids, { size: 500, theta: 0.7, lambda: 0.15 });
 * console.log(reading.modelPerplexity, reading.mixedPerplexity, reading.recall(ids.length - 2));
 * ```
 */
export function readWithCache(model: LmModel, ids: Int32Array, options: ReadOptions): CacheReading {
  if (ids.length < 2) throw new EngramError('readWithCache: the text needs at least two words');
  const v = model.config.vocabularySize;
  const width = model.config.hiddenSize;
  const { probabilities, hidden } = noGrad(() => {
    const forward = lmForward(model, initialLmState(model, 1), ids.subarray(0, ids.length - 1), 1);
    return { probabilities: softmax(forward.logits).toArray(), hidden: forward.hidden.toArray() };
  });
  const tokens = ids.length - 1;
  const cacheAt = (t: number) => {
    const from = Math.max(0, t - options.size);
    if (t === from) return null;
    return {
      from,
      ...cacheDistribution(hidden.subarray(from * width, t * width), ids.subarray(from + 1, t + 1), hidden.subarray(t * width, (t + 1) * width), options.theta),
    };
  };
  const modelProbability = new Float64Array(tokens);
  const mixedProbability = new Float64Array(tokens);
  let modelNats = 0;
  let mixedNats = 0;
  for (let t = 0; t < tokens; t++) {
    const next = ids[t + 1] as number;
    const pm = probabilities[t * v + next] as number;
    const cache = cacheAt(t);
    const mixed = cache === null ? pm : interpolate(pm, cache.distribution.get(next) ?? 0, options.lambda);
    modelProbability[t] = pm;
    mixedProbability[t] = mixed;
    modelNats -= Math.log(pm);
    mixedNats -= Math.log(mixed);
  }
  const check = (t: number) => {
    if (!Number.isInteger(t) || t < 0 || t >= tokens) throw new EngramError(`readWithCache: position ${t} is outside 0..${tokens - 1}`);
  };
  return {
    tokens,
    modelProbability,
    mixedProbability,
    modelPerplexity: Math.exp(modelNats / tokens),
    mixedPerplexity: Math.exp(mixedNats / tokens),
    top(t, count) {
      check(t);
      const row = (id: number) => probabilities[t * v + id] as number;
      const cache = cacheAt(t);
      const mixed = (id: number) => (cache === null ? row(id) : interpolate(row(id), cache.distribution.get(id) ?? 0, options.lambda));
      return { model: topWords(row, v, count), withCache: topWords(mixed, v, count) };
    },
    recall(t) {
      check(t);
      const cache = cacheAt(t);
      if (cache === null) return [];
      return Array.from(cache.weights, (weight, i) => ({ position: cache.from + i, next: ids[cache.from + i + 1] as number, weight }));
    },
  };
}

/** The model's state after reading a text: the next-word distribution and the top layer's h_t (a kNN query). */
export interface NextWordState {
  /** p_model over the vocabulary for the word after the text. */
  probabilities: Float32Array;
  /** h_t at the text's last word, `H` values. */
  hidden: Float32Array;
}

/**
 * Reads a text (one stream from the zero state) and returns the state after its last word.
 * @param model - the language model
 * @param ids - the text as word ids
 */
export function nextWordState(model: LmModel, ids: Int32Array): NextWordState {
  if (ids.length < 1) throw new EngramError('nextWordState: the text has no words');
  return noGrad(() => {
    const { logits, hidden } = lmForward(model, initialLmState(model, 1), ids, 1);
    const v = model.config.vocabularySize;
    const h = model.config.hiddenSize;
    const rows = ids.length;
    return {
      probabilities: softmax(logits)
        .toArray()
        .slice((rows - 1) * v, rows * v),
      hidden: hidden.toArray().slice((rows - 1) * h, rows * h),
    };
  });
}
