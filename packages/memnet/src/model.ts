import { bagMemoryHopsAttention, memoryAttention, memoryHopsAttention } from '@engram/addressing';
import {
  type Backend,
  type Random,
  type Tensor,
  add,
  concat,
  embeddingBag,
  fill,
  getDefaultBackend,
  matmul,
  matmulRaw,
  randomNormal,
  relu,
  reshape,
  slice,
  tensor,
} from '@engram/tensor';
import { type MemnetConfig, validateMemnetConfig } from './config.js';
import type { MemnetBatch } from './encoding.js';

/**
 * The trainable weights. Every embedding table has `vocabularySize` word rows, then (with temporal
 * encoding) `memorySize` rows of T, the time vectors, indexed by age: T_A(i) is row V + i.
 */
export interface MemnetParams {
  /**
   * Adjacent tying: K + 1 tables E_0…E_K with B = A^1 = E_0, A^k = E_{k−1}, C^k = E_k, and the
   * answer matrix W = E_Kᵀ (its word rows). Layer-wise tying: [B, A, C]; with a constant query
   * (`config.query`, the language model) there is no B: [A, C].
   */
  embeddings: Tensor[];
  /** Layer-wise tying only: W, `[d, V]`. */
  answer?: Tensor;
  /** Layer-wise tying only: H, `[d, d]`, the map between hops u^{k+1} = H u^k + o^k. */
  hop?: Tensor;
}

/** A MemN2N: its config and weights. */
export interface MemnetModel {
  /** The architecture. */
  config: MemnetConfig;
  /** The weights. */
  params: MemnetParams;
}

/**
 * Rows of each embedding table: the words, then one time vector per memory age when temporal.
 * @param config - the model's config
 */
export function embeddingRows(config: MemnetConfig): number {
  return config.vocabularySize + (config.temporal ? config.memorySize : 0);
}

/**
 * A model with Gaussian weights N(0, initScale²), as in the paper.
 * @param config - the model's sizes and choices (see `defaultMemnetConfig`)
 * @param rng - the seeded random source the initial weights are drawn from
 * @param backend - where the weights live (default: the default backend)
 * @example
 * ```ts
 * const train = await loadBabiTask('data/babi/en', 1, 'train');
 * const test = await loadBabiTask('data/babi/en', 1, 'test');
 * const vocabulary = Vocabulary.fromExamples([...train, ...test]);
 * const model = createMemnet(memnetConfigFor(vocabulary, train, test), new Random(1));
 * await trainMemnet(model, train, vocabulary, { seed: 1 });
 * console.log(evaluateMemnet(model, test, vocabulary).error);
 * ```
 */
export function createMemnet(config: MemnetConfig, rng: Random, backend: Backend = getDefaultBackend()): MemnetModel {
  validateMemnetConfig(config);
  const d = config.embeddingSize;
  const rows = embeddingRows(config);
  const table = (r: number, c: number): Tensor => randomNormal([r, c], rng, 0, config.initScale, { backend, requiresGrad: true });
  if (config.tying === 'adjacent') {
    return { config, params: { embeddings: Array.from({ length: config.hops + 1 }, () => table(rows, d)) } };
  }
  const question = config.query === undefined ? [table(config.vocabularySize, d)] : [];
  return {
    config,
    params: {
      embeddings: [...question, table(rows, d), table(rows, d)],
      answer: table(d, config.vocabularySize),
      hop: table(d, d),
    },
  };
}

/** Options for {@link memnetForward}. */
export interface ForwardOptions {
  /** Linear start (§4.2): no softmax in the memory layers. */
  linear?: boolean;
  /**
   * Run the K hops as the fused `bagMemoryHops` kernel, which builds the memories from the tables itself
   * (default true; layer-wise and adjacent tying); false embeds the memories first and runs the hops as
   * composed ops, hop by hop (the reference the fused path is tested against).
   */
  fused?: boolean;
}

/** What {@link memnetForward} returns. */
export interface MemnetOutput {
  /** â before the softmax, `[B, V]`: W(o^K + u^K). */
  logits: Tensor;
  /** p^k for each hop, `[B, M]` each: the attention over the memory slots. */
  attention: Tensor[];
}

/** â before the softmax: W u with W the answer matrix, or (adjacent tying) the word rows of E_K, transposed in the product. */
function answerLogits(model: MemnetModel, u: Tensor): Tensor {
  const { config, params } = model;
  if (params.answer !== undefined) return matmul(u, params.answer);
  const last = params.embeddings[config.hops] as Tensor;
  return matmulRaw(u, slice(last, [0, 0], [config.vocabularySize, config.embeddingSize]), false, true);
}

/** The language model's non-linearity (§5): units from `linearUnits` on go through a ReLU, the rest stay linear. */
function halfRelu(config: MemnetConfig, u: Tensor): Tensor {
  const linear = config.linearUnits;
  const d = config.embeddingSize;
  if (linear === undefined || linear === d) return u;
  if (linear === 0) return relu(u);
  const batch = u.shape[0] as number;
  return concat([slice(u, [0, 0], [batch, linear]), relu(slice(u, [0, linear], [batch, d - linear]))], 1);
}

/**
 * The forward pass (§2): u^1 = Σ_j l_j ⊙ B q_j; for each hop k, p^k = softmax(u^kᵀ m^k),
 * o^k = Σ_i p_i^k c_i^k, u^{k+1} = u^k + o^k (layer-wise: H u^k + o^k); â = W u^{K+1}.
 * @param model - the memory network
 * @param batch - the encoded examples
 * @param options - `linear`: linear start, no softmax in the memory layers
 */
export function memnetForward(model: MemnetModel, batch: MemnetBatch, options: ForwardOptions = {}): MemnetOutput {
  const { config, params } = model;
  const d = config.embeddingSize;
  const backend = (params.embeddings[0] as Tensor).backend;
  const { size, slots, memoryWords, queryWords } = batch;
  // The batch's arrays are never changed after encoding, so the tensors can share them.
  const weights = tensor(batch.weights, [batch.weightRows, d], { backend, copy: false });
  const mask = tensor(batch.mask, [size, slots], { backend, copy: false });
  const memories = new Map<Tensor, Tensor>();
  const memoryOf = (table: Tensor): Tensor => {
    let m = memories.get(table);
    if (m === undefined) {
      m = reshape(embeddingBag(table, batch.memoryTokens, weights, batch.memoryWeightRows, memoryWords), [size, slots, d]);
      memories.set(table, m);
    }
    return m;
  };
  const bags = { indices: batch.memoryTokens, weights, weightIndices: batch.memoryWeightRows, words: memoryWords };
  const constantQuery = config.query !== undefined;
  // Layer-wise: [B, A, C], or [A, C] with a constant query.
  const [questionTable, inputTable, outputTable] = constantQuery
    ? [undefined, params.embeddings[0] as Tensor, params.embeddings[1] as Tensor]
    : (params.embeddings as [Tensor, Tensor, Tensor | undefined]);
  // u¹ = Σ_j l_j ⊙ B q_j (or the constant query) and m_i = Σ_j l_j ⊙ A x_ij (+ T(i) through the time
  // token): weighted bags of embedding rows.
  let u = constantQuery
    ? fill([size, d], config.query as number, { backend })
    : embeddingBag(questionTable as Tensor, batch.queryTokens, weights, batch.queryWeightRows, queryWords);
  if (params.hop !== undefined) {
    // Layer-wise tying: the same m and c at every hop, so all K hops run as one fused kernel, which
    // also builds m and c from the tables A and C itself (and adds their gradients into A's and C's).
    const hopOptions = { mask, softmax: !options.linear, linearUnits: config.linearUnits ?? d };
    const hops =
      (options.fused ?? true)
        ? bagMemoryHopsAttention(u, [inputTable, outputTable as Tensor], bags, params.hop, config.hops, hopOptions)
        : memoryHopsAttention(u, memoryOf(inputTable), memoryOf(outputTable as Tensor), params.hop, config.hops, { ...hopOptions, fused: false });
    return { logits: answerLogits(model, hops.output), attention: hops.weights };
  }
  if (config.tying === 'adjacent' && (options.fused ?? true)) {
    // Adjacent tying: hop k reads E_{k−1} and E_k; all K hops and the K + 1 encodings as one fused kernel.
    const hops = bagMemoryHopsAttention(u, params.embeddings, bags, null, config.hops, {
      mask,
      softmax: !options.linear,
      linearUnits: config.linearUnits ?? d,
    });
    return { logits: answerLogits(model, hops.output), attention: hops.weights };
  }
  const attention: Tensor[] = [];
  for (let hop = 0; hop < config.hops; hop++) {
    const input = config.tying === 'adjacent' ? (params.embeddings[hop] as Tensor) : inputTable;
    const output = config.tying === 'adjacent' ? (params.embeddings[hop + 1] as Tensor) : (outputTable as Tensor);
    const read = memoryAttention(u, memoryOf(input), memoryOf(output), mask, { softmax: !options.linear });
    attention.push(read.weights);
    u = halfRelu(config, add(params.hop === undefined ? u : matmul(u, params.hop), read.output));
  }
  return { logits: answerLogits(model, u), attention };
}
