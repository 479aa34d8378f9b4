/**
 * The memory network as a language model (Sukhbaatar et al. 2015, §5): the memory holds the previous
 * N words of the text, one word per slot (m_i = A x_i + T_A(i), c_i = C x_i + T_C(i), the temporal
 * encoding), the first query is the constant vector 0.1, every hop reads with the same A and C
 * (layer-wise tying), u^{k+1} = H u^k + o^k with a ReLU on half of the units, and the next word is
 * softmax(W u^{K+1}). It is the QA model's forward pass (`memnetForward`, the same fused attention
 * kernel) with a constant query and one word per slot; this module adds the text's encoding, the
 * paper's training procedure and the language-model files.
 */
import {
  type LmEpochRecord,
  type LmFileKind,
  checkEpochHistory,
  readLmHeader,
  writeLmHeader,
  type LmNonFinite,
  type LmStepReport,
  type LmVocabulary,
  type LmFinished,
  type LmInterrupted,
  topWords,
  type WordProbability,
} from '@engram/lm';
import {
  EngramError,
  type MemnetLmStepArrays,
  type MemnetLmStepSizes,
  type ModelKernels,
  Random,
  SGD,
  type Tensor,
  type SafetensorsContents,
  checkRngState,
  checkpointContents,
  checkpointOptimizer,
  gradientNorm as globalNorm,
  normClipScale,
  crossEntropy,
  flattenParameters,
  loadSafetensors,
  loadSafetensorsFile,
  metadataJson,
  noGrad,
  parameterList,
  restoreParameters,
  saveSafetensors,
  tensor,
  writeFileAtomic,
  YIELD_EVERY_MS,
  eventYielder,
} from '@engram/tensor';
import type { SharedStep } from '@engram/tensor/workers';
import { type MemnetConfig, defaultMemnetConfig, validateMemnetConfig } from './config.js';
import { type MemnetBatch, PADDING_WEIGHT_ROW, UNIT_WEIGHT_ROW } from './encoding.js';
import { type MemnetModel, createMemnet, memnetForward } from './model.js';

/** The sizes of a MemN2N language model; the rest of its config is fixed by §5. */
export interface MemnetLmSizes {
  /** K, hops (paper's PTB rows: 2…7; best 7 with memory 200, 6 with memory 100). */
  hops: number;
  /** N, previous words held in the memory (paper: 100 or 200). */
  memorySize: number;
  /** d, the embedding and query width (paper: 150). */
  embeddingSize: number;
}

/** The paper's best PTB model (Table 2): 150-d, 7 hops, 200 memories: test perplexity 111. */
export const MEMNET_LM_SIZES: Readonly<MemnetLmSizes> = Object.freeze({ hops: 7, memorySize: 200, embeddingSize: 150 });

/**
 * The config of a MemN2N language model (§5): one word per memory slot with temporal encoding,
 * layer-wise tying, the constant query 0.1, a ReLU on half of each layer's units, weights N(0, 0.05²).
 * @param vocabularySize - V, the text's vocabulary
 * @param sizes - hops, memory size and embedding width (default {@link MEMNET_LM_SIZES})
 * @example
 * ```ts
 * const corpus = await loadPtbCorpus('data/ptb');
 * const model = createMemnet(memnetLmConfig(corpus.vocabulary.size, { hops: 7, memorySize: 200, embeddingSize: 150 }), new Random(1));
 * await trainMemnetLm(model, corpus, { seed: 1, onEpoch: (e) => console.log(e.epoch, e.validPerplexity) });
 * ```
 */
export function memnetLmConfig(vocabularySize: number, sizes: Partial<MemnetLmSizes> = {}): MemnetConfig {
  const { hops, memorySize, embeddingSize } = { ...MEMNET_LM_SIZES, ...sizes };
  return defaultMemnetConfig(vocabularySize, {
    hops,
    memorySize,
    embeddingSize,
    tying: 'layerwise',
    encoding: 'bag-of-words',
    temporal: true,
    emptySlots: 'mask',
    sentenceLength: 2,
    initScale: 0.05,
    query: 0.1,
    linearUnits: Math.floor(embeddingSize / 2),
  });
}

/**
 * Whether a config is a language model's (a constant query and one word per slot).
 * @param config - the config to look at
 */
export function isMemnetLm(config: MemnetConfig): boolean {
  return config.query !== undefined && config.tying === 'layerwise' && config.temporal && config.sentenceLength === 2;
}

/** The training procedure of §5. */
export interface MemnetLmRecipe {
  /** Positions per step (paper: 128). */
  batch: number;
  /** η at the start (paper: 0.01). */
  learningRate: number;
  /** η is divided by this whenever validation perplexity does not improve on the epoch before (paper: 1.5). */
  decay: number;
  /** Training stops once η falls below this (paper: 1e-5, "about 50 epochs"). */
  minLearningRate: number;
  /** Global gradient norm limit over all parameters (paper: 50). */
  maxGradNorm: number;
  /** Stop after this many epochs whatever η is (a bound; the paper's runs stop by η first). */
  maxEpochs: number;
}

/** The paper's recipe: batch 128, η 0.01 ÷ 1.5 on no improvement, stop below 1e-5, gradient norm ≤ 50. */
export const MEMNET_LM_RECIPE: Readonly<MemnetLmRecipe> = Object.freeze({
  batch: 128,
  learningRate: 0.01,
  decay: 1.5,
  minLearningRate: 1e-5,
  maxGradNorm: 50,
  maxEpochs: 100,
});

/**
 * Encodes the positions of a text as a {@link MemnetBatch}: for position t (which predicts word t),
 * the memory holds words t − N … t − 1, each as its word row plus the time row of its age (0 = the
 * previous word), and the answer is word t. Slot i holds word t − kept + i (oldest first), kept =
 * min(N, t). Near the text's start (kept < N) the N − kept slots after them are empty memories: the
 * time row of ages kept … N − 1 and no word, attended like the others. The model is trained only with
 * full memories (§5), and these are the memories it knows best; masking the empty slots out instead
 * makes its predictions from a few words useless (docs/results/lm.md, "Short memories").
 * @param ids - the text as word ids
 * @param positions - the positions to predict (each ≥ 1)
 * @param config - the model's config
 */
export function encodeTextPositions(ids: Int32Array, positions: Int32Array, config: MemnetConfig): MemnetBatch {
  const size = positions.length;
  if (size === 0) throw new EngramError('encodeTextPositions: no positions');
  const n = config.memorySize;
  for (const t of positions) {
    if (!(t >= 1 && t < ids.length)) throw new EngramError(`encodeTextPositions: position ${t} is outside 1..${ids.length - 1}`);
  }
  const slots = n;
  const words = 2;
  const memoryTokens = new Int32Array(size * slots * words);
  const memoryWeightRows = new Int32Array(size * slots * words).fill(UNIT_WEIGHT_ROW);
  const mask = new Float32Array(size * slots).fill(1);
  const answers = new Int32Array(size);
  const firstSentence = new Int32Array(size);
  const sentences = new Int32Array(size);
  const v = config.vocabularySize;
  positions.forEach((t, b) => {
    const kept = Math.min(n, t);
    // Slot i holds word t − kept + i (oldest first, as the QA model's sentences); its age is kept − 1 − i.
    for (let i = 0; i < kept; i++) {
      const at = (b * slots + i) * words;
      const id = ids[t - kept + i] as number;
      if (!(id >= 0 && id < v)) throw new EngramError(`encodeTextPositions: word id ${id} at ${t - kept + i} is outside 0..${v - 1}`);
      memoryTokens[at] = id;
      memoryTokens[at + 1] = v + (kept - 1 - i);
    }
    // The empty memories: slot i ≥ kept has age i and no word (the zero row of the weights).
    for (let i = kept; i < slots; i++) {
      const at = (b * slots + i) * words;
      memoryWeightRows[at] = PADDING_WEIGHT_ROW;
      memoryTokens[at + 1] = v + i;
    }
    answers[b] = ids[t] as number;
    firstSentence[b] = t - kept;
    sentences[b] = kept;
  });
  const weights = new Float32Array(2 * config.embeddingSize);
  weights.fill(1, UNIT_WEIGHT_ROW * config.embeddingSize, (UNIT_WEIGHT_ROW + 1) * config.embeddingSize);
  return {
    size,
    slots,
    memoryWords: words,
    queryWords: 1,
    memoryTokens,
    memoryWeightRows,
    weights,
    weightRows: 2,
    mask,
    queryTokens: new Int32Array(size),
    queryWeightRows: new Int32Array(size).fill(UNIT_WEIGHT_ROW),
    answers,
    firstSentence,
    sentences,
  };
}

/** Perplexity over some of a text's words: exp(nats / tokens). */
export interface MemnetLmScore {
  /** exp(nats / tokens); NaN when no word was counted. */
  perplexity: number;
  /** −Σ log p of the words counted. */
  nats: number;
  /** Words counted. */
  tokens: number;
}

/** What {@link evaluateMemnetLm} measured. */
export interface MemnetLmEvaluation extends MemnetLmScore {
  /**
   * The words with a full memory only: every word with N words before it. This is the test of the paper's reference
   * code (facebook/MemNN's MemN2N-lang-model, `test`), which starts after the first N words, so it is the number to
   * set beside the paper's; the model is trained only on such words and does poorly on the first few of a text.
   */
  fullMemory: MemnetLmScore;
}

/** Options of {@link evaluateMemnetLm}. */
export interface EvaluateMemnetLmOptions {
  /** Positions per forward pass (default 256; any value gives the same perplexity). */
  batch?: number;
  /** Called after each batch: words done of total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The summed cross-entropy (nats) of predicting the word at each of `positions` from the N words before it: the
 * training loss of one step (or of one shard of it) and, summed over the text, the evaluation's.
 * @param model - the MemN2N language model
 * @param text - the text as word ids
 * @param positions - the positions whose word is predicted
 */
export function memnetLmLoss(model: MemnetModel, text: Int32Array, positions: Int32Array): Tensor {
  const encoded = encodeTextPositions(text, positions, model.config);
  return crossEntropy(memnetForward(model, encoded).logits, encoded.answers, 'sum');
}

/**
 * Perplexity over a text: every word after the first predicted from the N words before it (fewer
 * at the start), the same words the LSTM's `evaluateLm` predicts; and, as `fullMemory`, over the words
 * with all N before them (the paper's reference test).
 * @param model - the MemN2N language model
 * @param ids - the text as word ids
 * @param options - the batch and progress reporting
 */
export function evaluateMemnetLm(model: MemnetModel, ids: Int32Array, options: EvaluateMemnetLmOptions = {}): MemnetLmEvaluation {
  const batch = options.batch ?? 256;
  const total = ids.length - 1;
  if (total < 1) throw new EngramError('evaluateMemnetLm: the text needs at least two words');
  // Positions 1 … N − 1 see fewer than N words; N … total a full memory. Batches never straddle the two.
  const full = Math.min(model.config.memorySize, total + 1);
  const natsOver = (start: number, end: number): number => {
    let nats = 0;
    for (let from = start; from < end; from += batch) {
      const positions = Int32Array.from({ length: Math.min(batch, end - from) }, (_, i) => from + i);
      nats += memnetLmLoss(model, ids, positions).item();
      options.onProgress?.(from + positions.length - 1, total);
    }
    return nats;
  };
  const [short, long] = noGrad(() => [natsOver(1, full), natsOver(full, total + 1)]);
  const fullTokens = total + 1 - full;
  return {
    perplexity: Math.exp((short + long) / total),
    nats: short + long,
    tokens: total,
    fullMemory: { perplexity: fullTokens > 0 ? Math.exp(long / fullTokens) : Number.NaN, nats: long, tokens: fullTokens },
  };
}

/** A text read once through a MemN2N language model, for showing it word by word ({@link readMemnetLm}). */
export interface MemnetLmReading {
  /** Positions read: the text's length − 1 (position t predicts word t + 1, as the LSTM's `readWithCache` counts). */
  tokens: number;
  /** p(w_{t+1} | the N words up to w_t) at each position t. */
  probability: Float64Array;
  /** Perplexity over the text: exp of the mean −log p. */
  perplexity: number;
  /**
   * Position t looked at closely: the most likely next words and each hop's attention over the words in memory
   * (one more forward pass, of one position).
   * @param t - the position (it predicts word t + 1)
   * @param top - how many next words to list (default 10)
   */
  inspect(t: number, top?: number): MemnetLmInspection;
}

/**
 * Reads a text through a MemN2N language model: the probability it gives each word after the first (each from the
 * N words before it, fewer at the start, in batches of positions) and, on demand, any position's predictions and
 * hop attention. The perplexity is {@link evaluateMemnetLm}'s over the same text.
 * @param model - the MemN2N language model
 * @param ids - the text as word ids (at least two words)
 * @param options - `batch`: positions per forward pass (default 256; any value gives the same numbers)
 * @example
 * ```ts
 * const { model, vocabulary } = memnetLmFromSafetensors(bytes);
 * const reading = readMemnetLm(model, vocabulary.encode(ptbTokens(text)).ids);
 * reading.perplexity; // over the text
 * reading.inspect(10).hops[6].weights; // the last hop's attention when predicting word 11
 * ```
 */
export function readMemnetLm(model: MemnetModel, ids: Int32Array, options: { batch?: number } = {}): MemnetLmReading {
  const tokens = ids.length - 1;
  if (tokens < 1) throw new EngramError('readMemnetLm: the text needs at least two words');
  const batch = options.batch ?? 256;
  if (!Number.isInteger(batch) || batch < 1) throw new EngramError(`readMemnetLm: batch must be a positive integer, got ${batch}`);
  const v = model.config.vocabularySize;
  const probability = new Float64Array(tokens);
  let nats = 0;
  noGrad(() => {
    for (let from = 1; from <= tokens; from += batch) {
      const positions = Int32Array.from({ length: Math.min(batch, tokens + 1 - from) }, (_, i) => from + i);
      const logits = memnetForward(model, encodeTextPositions(ids, positions, model.config)).logits.dataSync();
      positions.forEach((position, row) => {
        const scores = logits.subarray(row * v, (row + 1) * v);
        let max = Number.NEGATIVE_INFINITY;
        for (const x of scores) max = Math.max(max, x);
        let sum = 0;
        for (const x of scores) sum += Math.exp(x - max);
        const logP = (scores[ids[position] as number] as number) - max - Math.log(sum);
        probability[position - 1] = Math.exp(logP);
        nats -= logP;
      });
    }
  });
  return {
    tokens,
    probability,
    perplexity: Math.exp(nats / tokens),
    inspect: (t, top = 10) => {
      if (!Number.isInteger(t) || t < 0 || t >= tokens) throw new EngramError(`readMemnetLm: position ${t} is not in 0 … ${tokens - 1}`);
      return inspectMemnetLm(model, ids.subarray(0, t + 1), top);
    },
  };
}

/** Where training stands: everything besides the weights and the optimizer that an exact resume needs. */
export interface MemnetLmTrainingState {
  /** Steps done in all. */
  step: number;
  /** The current epoch, 0-based. */
  epoch: number;
  /** Steps done in the current epoch. */
  stepInEpoch: number;
  /** Training words predicted in all. */
  tokens: number;
  /** Training seconds so far (over every session). */
  seconds: number;
  /** The position sampler's random state. */
  rngState: [number, number, number, number];
  /** η for the current epoch. */
  learningRate: number;
  /** The last epoch's validation perplexity (Infinity before the first epoch ends). */
  previousValid: number;
  /** Nats of the current epoch so far. */
  epochNats: number;
  /** Words predicted in the current epoch so far. */
  epochTokens: number;
  /** Every finished epoch. */
  history: LmEpochRecord[];
}

/** A snapshot to save: what {@link trainMemnetLm} hands to `onCheckpoint` and takes back as `resume`. */
export interface MemnetLmSnapshot {
  /** Where training stands. */
  training: MemnetLmTrainingState;
  /** The optimizer (SGD). */
  optimizer: SGD;
}

/** How {@link trainMemnetLm} ended: every epoch run (or η below its floor), stopped, or a non-finite loss. */
export type MemnetLmTrainOutcome = LmFinished | LmInterrupted | LmNonFinite;

/**
 * Where a step's loss and gradients come from. By default the whole batch runs on this thread;
 * `createMemnetLmWorkers` (from `@engram/memnet/workers`, Node) splits it across worker threads, and takes the norm
 * and the SGD step from them too ({@link SharedStep}'s `gradientNorm` and `step`, both optional: by default
 * `gradientNorm` of the parameters and `optimizer.step`).
 */
export interface MemnetLmGradients extends Partial<SharedStep> {
  /**
   * Fills the gradients of `parameterList(model.params)` for the examples at `positions` and returns
   * their summed loss in nats.
   * @param model - the model being trained
   * @param text - the training text's word ids
   * @param positions - the positions whose next word is predicted
   */
  compute(model: MemnetModel, text: Int32Array, positions: Int32Array): Promise<number>;
}

/** Options of {@link trainMemnetLm}. All hooks may be async; training waits for them. */
export interface TrainMemnetLmOptions {
  /** The training procedure (default {@link MEMNET_LM_RECIPE}). */
  recipe?: MemnetLmRecipe;
  /** Seeds the positions sampled (default 1). */
  seed?: number;
  /** Continue from a snapshot (as saved from `onCheckpoint`) instead of starting afresh. */
  resume?: MemnetLmSnapshot;
  /** Call `onCheckpoint` every this many steps (default 500), and at each epoch's end and on stopping. */
  checkpointEvery?: number;
  /** After every step (`window`/`windows`: the step within the epoch and the steps per epoch). */
  onStep?: (report: LmStepReport) => void | Promise<void>;
  /** During the validation pass after each epoch: words done of total. */
  onEvaluateProgress?: (done: number, total: number) => void;
  /** After each epoch's validation. */
  onEpoch?: (record: LmEpochRecord) => void | Promise<void>;
  /** With a snapshot to save (the caller writes the checkpoint). */
  onCheckpoint?: (snapshot: MemnetLmSnapshot) => void | Promise<void>;
  /** Checked between steps; true stops training with a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Computes each step's gradients (default: on this thread; see `createMemnetLmWorkers` for all cores). */
  gradients?: MemnetLmGradients;
  /**
   * On one thread, run each step as one call of the backend's whole-step kernel where it has one (the CPU backend's
   * WebAssembly `memnetLmStep`: the same bits as the composed step, without copying weights, logits and gradients in
   * and out between the ops) (default true); false always runs the composed ops.
   */
  fused?: boolean;
}

/** What one training step did: the batch's summed loss and the gradient norm (the update applied only when both are finite). */
export interface MemnetLmStepOutcome {
  /** The batch's summed cross-entropy in nats. */
  nats: number;
  /** The global L2 norm of the gradients before clipping (NaN when the loss was not finite). */
  gradientNorm: number;
}

/** One training step on this thread ({@link createMemnetLmStep}). */
export interface MemnetLmStep {
  /**
   * Predicts the word at each of `positions` from the N words before it, and updates the weights: global-norm
   * clipping, then plain SGD at the optimizer's η (nothing is updated when the loss or the norm is not finite).
   * @param text - the training text's word ids
   * @param positions - the positions whose word is predicted
   */
  (text: Int32Array, positions: Int32Array): MemnetLmStepOutcome;
  /** Whether the step runs as the backend's whole-step kernel (`ModelKernels.memnetLmStep`) rather than as composed ops. */
  readonly fused: boolean;
}

/**
 * The training step {@link trainMemnetLm} takes on one thread (§5: the summed cross-entropy of the batch, its gradient
 * norm clipped to `maxGradNorm`, plain SGD). Where the model's backend has the whole-step kernel (the CPU backend's
 * WebAssembly `memnetLmStep`) and the model and optimizer are the ones it runs (layer-wise tying with a constant
 * query, SGD without momentum), the step is one call of it: the same kernels in the same order as the composed ops,
 * so the same bits, without copying the weights, the logits and the gradients in and out between the ops; otherwise
 * (or with `fused: false`) the composed ops: `memnetLmLoss`, `backward`, `gradientNorm`, `SGD.step`.
 * @param model - the MemN2N language model
 * @param optimizer - the SGD over `parameterList(model.params)` (its η is read at every step)
 * @param options - `maxGradNorm` (default the recipe's 50); `fused` (default true)
 * @example
 * ```ts
 * const model = createMemnet(memnetLmConfig(corpus.vocabulary.size), new Random(1));
 * const step = createMemnetLmStep(model, new SGD(parameterList(model.params), 0.01));
 * const { nats } = step(corpus.train, Int32Array.of(200, 5000, 90000));
 * ```
 */
export function createMemnetLmStep(model: MemnetModel, optimizer: SGD, options: { maxGradNorm?: number; fused?: boolean } = {}): MemnetLmStep {
  const maxGradNorm = options.maxGradNorm ?? MEMNET_LM_RECIPE.maxGradNorm;
  const whole = (options.fused ?? true) ? wholeStep(model, optimizer, maxGradNorm) : null;
  if (whole !== null) return Object.assign(whole, { fused: true });
  const params = parameterList(model.params);
  const composed = (text: Int32Array, positions: Int32Array): MemnetLmStepOutcome => {
    optimizer.zeroGrad();
    const loss = memnetLmLoss(model, text, positions);
    const nats = loss.item();
    if (!Number.isFinite(nats)) return { nats, gradientNorm: Number.NaN };
    loss.backward();
    const gradientNorm = globalNorm(params);
    if (Number.isFinite(gradientNorm)) optimizer.step({ gradientScale: normClipScale(gradientNorm, maxGradNorm) });
    return { nats, gradientNorm };
  };
  return Object.assign(composed, { fused: false });
}

/** The weights and the backend's whole-model kernels of a model `memnetLmStep` runs, or null for any other. */
function wholeStepModel(model: MemnetModel): { weights: [Tensor, Tensor, Tensor, Tensor]; models: ModelKernels } | null {
  const { config, params } = model;
  const [input, output] = params.embeddings;
  const { answer, hop } = params;
  if (input === undefined || output === undefined || answer === undefined || hop === undefined || params.embeddings.length !== 2) return null;
  const models = input.backend.models;
  if (models?.memnetLmStep === undefined || config.query === undefined) return null;
  const weights: [Tensor, Tensor, Tensor, Tensor] = [input, output, answer, hop];
  if (!weights.every((w) => w.backend === input.backend && w.storage instanceof Float32Array)) return null;
  return { weights, models };
}

/** The whole-step kernels' arrays and sizes for `positions` of `text`. */
function wholeStepCall(model: MemnetModel, weights: readonly Tensor[], text: Int32Array, positions: Int32Array): [MemnetLmStepArrays, MemnetLmStepSizes] {
  const { config } = model;
  const batch = encodeTextPositions(text, positions, config);
  const d = config.embeddingSize;
  const [input, output, answer, hop] = weights.map((w) => w.storage as Float32Array) as [Float32Array, Float32Array, Float32Array, Float32Array];
  return [
    {
      input,
      output,
      answer,
      hop,
      indices: batch.memoryTokens,
      weights: batch.weights,
      weightIndices: batch.memoryWeightRows,
      query: new Float32Array(batch.size * d).fill(config.query as number),
      mask: batch.mask,
      labels: batch.answers,
    },
    {
      rows: (weights[0] as Tensor).shape[0] as number,
      batch: batch.size,
      slots: batch.slots,
      words: batch.memoryWords,
      width: d,
      hops: config.hops,
      linearUnits: config.linearUnits ?? d,
      vocabulary: config.vocabularySize,
    },
  ];
}

/**
 * The whole step as one call of the backend's `memnetLmStep`, or null where the backend has no such kernel or the model
 * or optimizer is not the one it runs.
 */
function wholeStep(model: MemnetModel, optimizer: SGD, maxGradNorm: number): ((text: Int32Array, positions: Int32Array) => MemnetLmStepOutcome) | null {
  const found = wholeStepModel(model);
  if (found === null || !optimizer.isPlain) return null;
  const { weights, models } = found;
  return (text, positions) => {
    const result = models.memnetLmStep(...wholeStepCall(model, weights, text, positions), (_nats, norm) =>
      Number.isFinite(norm) ? { scale: normClipScale(norm, maxGradNorm), learningRate: optimizer.learningRate } : null,
    );
    return { nats: result.nats, gradientNorm: result.gradientNorm };
  };
}

/**
 * The summed loss of `positions` and its gradients, set as each weight's `grad` (a worker thread's share of a step,
 * `createMemnetLmWorkers`): one call of the backend's `memnetLmGradients` where it has one, the same bits as
 * `memnetLmLoss(…).backward()`, which runs otherwise. The weights' gradients must be unset (null) before.
 * @param model - the MemN2N language model
 * @param text - the text as word ids
 * @param positions - the positions whose word is predicted
 */
export function memnetLmLossAndGradients(model: MemnetModel, text: Int32Array, positions: Int32Array): number {
  const found = wholeStepModel(model);
  if (found === null) {
    const loss = memnetLmLoss(model, text, positions);
    const nats = loss.item();
    loss.backward();
    return nats;
  }
  const { weights, models } = found;
  const gradients = weights.map((w) => new Float32Array(w.size));
  const nats = models.memnetLmGradients(...wholeStepCall(model, weights, text, positions), gradients);
  for (const [i, w] of weights.entries()) w.grad = tensor(gradients[i] as Float32Array, w.shape, { backend: w.backend, copy: false });
  return nats;
}

/**
 * The state at the start of training.
 * @param seed - the seed of the position sampler
 * @param recipe - the training procedure (its starting η)
 */
export function freshMemnetLmTraining(seed: number, recipe: MemnetLmRecipe = MEMNET_LM_RECIPE): MemnetLmTrainingState {
  return {
    step: 0,
    epoch: 0,
    stepInEpoch: 0,
    tokens: 0,
    seconds: 0,
    rngState: new Random(seed).state(),
    learningRate: recipe.learningRate,
    previousValid: Number.POSITIVE_INFINITY,
    epochNats: 0,
    epochTokens: 0,
    history: [],
  };
}

/**
 * Trains a MemN2N language model as §5 does: each step predicts `batch` positions sampled uniformly
 * from the training text (each with a full memory of N previous words, as the official code),
 * cross-entropy summed over the batch, the global gradient norm clipped to 50, SGD; an epoch is
 * ⌈words / batch⌉ steps; after each epoch η is divided by 1.5 if validation perplexity did not
 * improve, and training stops once η < 1e-5. NaN/Inf stops with the step (weights untouched);
 * `resume` continues exactly (bit for bit).
 * @param model - the MemN2N language model (`createMemnet(memnetLmConfig(V))`)
 * @param data - word ids of the training and validation texts
 * @param options - recipe, seed, checkpoint cadence, hooks and `resume`
 */
export async function trainMemnetLm(
  model: MemnetModel,
  data: { train: Int32Array; valid: Int32Array },
  options: TrainMemnetLmOptions = {},
): Promise<MemnetLmTrainOutcome> {
  if (!isMemnetLm(model.config)) throw new EngramError('trainMemnetLm: the model is not a language model (build it with memnetLmConfig)');
  const recipe = options.recipe ?? MEMNET_LM_RECIPE;
  const n = model.config.memorySize;
  if (data.train.length <= n + 1) throw new EngramError(`trainMemnetLm: the training text needs more than ${n + 1} words (the memory holds ${n})`);
  const training = options.resume ? structuredClone(options.resume.training) : freshMemnetLmTraining(options.seed ?? 1, recipe);
  const optimizer = options.resume?.optimizer ?? new SGD(parameterList(model.params), training.learningRate);
  const params = parameterList(model.params);
  const local =
    options.gradients === undefined ? createMemnetLmStep(model, optimizer, { maxGradNorm: recipe.maxGradNorm, fused: options.fused ?? true }) : null;
  /** The step through `options.gradients` (worker threads): loss, norm and update, each only after a finite one. */
  const sharedStep = async (gradients: MemnetLmGradients, positions: Int32Array): Promise<MemnetLmStepOutcome> => {
    optimizer.zeroGrad();
    const nats = await gradients.compute(model, data.train, positions);
    if (!Number.isFinite(nats)) return { nats, gradientNorm: Number.NaN };
    const gradientNorm = gradients.gradientNorm?.() ?? globalNorm(params);
    if (!Number.isFinite(gradientNorm)) return { nats, gradientNorm };
    const stepOptions = { gradientScale: normClipScale(gradientNorm, recipe.maxGradNorm) };
    if (gradients.step) await gradients.step(optimizer, stepOptions);
    else optimizer.step(stepOptions);
    return { nats, gradientNorm };
  };
  const rng = Random.fromState(training.rngState);
  const steps = Math.ceil(data.train.length / recipe.batch);
  const checkpointEvery = options.checkpointEvery ?? 500;
  const started = performance.now();
  const startSeconds = training.seconds;
  const elapsed = () => startSeconds + (performance.now() - started) / 1000;
  let lastCheckpoint = training.step;
  // Other events (a Ctrl-C, a page's pause) are let through between steps, at most every YIELD_EVERY_MS.
  const maybeYield = eventYielder(YIELD_EVERY_MS);
  const checkpoint = async () => {
    training.rngState = rng.state();
    training.seconds = elapsed();
    lastCheckpoint = training.step;
    await options.onCheckpoint?.({ training: structuredClone(training), optimizer });
  };
  while (training.epoch < recipe.maxEpochs && training.learningRate >= recipe.minLearningRate) {
    optimizer.learningRate = training.learningRate;
    while (training.stepInEpoch < steps) {
      if (options.shouldStop?.()) {
        await checkpoint();
        return { kind: 'interrupted', step: training.step };
      }
      // Positions with a full memory: t ∈ [N, len − 1].
      const positions = Int32Array.from({ length: recipe.batch }, () => rng.int(n, data.train.length - 1));
      const { nats, gradientNorm } = local !== null ? local(data.train, positions) : await sharedStep(options.gradients as MemnetLmGradients, positions);
      if (!Number.isFinite(nats)) return { kind: 'non-finite', step: training.step + 1, message: `the loss is ${nats} at step ${training.step + 1}` };
      if (!Number.isFinite(gradientNorm))
        return { kind: 'non-finite', step: training.step + 1, message: `the gradient norm is ${gradientNorm} at step ${training.step + 1}` };
      training.step++;
      training.stepInEpoch++;
      training.tokens += recipe.batch;
      training.epochNats += nats;
      training.epochTokens += recipe.batch;
      await options.onStep?.({
        step: training.step,
        epoch: training.epoch,
        window: training.stepInEpoch - 1,
        windows: steps,
        loss: nats / recipe.batch,
        epochPerplexity: Math.exp(training.epochNats / training.epochTokens),
        gradientNorm,
        learningRate: training.learningRate,
        tokens: training.tokens,
        seconds: elapsed(),
      });
      if (training.step - lastCheckpoint >= checkpointEvery) await checkpoint();
      await maybeYield();
    }
    const valid = evaluateMemnetLm(model, data.valid, options.onEvaluateProgress ? { onProgress: options.onEvaluateProgress } : {});
    const record: LmEpochRecord = {
      epoch: training.epoch,
      learningRate: training.learningRate,
      trainPerplexity: Math.exp(training.epochNats / training.epochTokens),
      validPerplexity: valid.perplexity,
      seconds: elapsed(),
    };
    training.history.push(record);
    // η ÷ 1.5 whenever validation did not improve on the epoch before (§5; the official code: by less than 0.01% in nats).
    if (Math.log(valid.perplexity) > Math.log(training.previousValid) * 0.9999) training.learningRate /= recipe.decay;
    training.previousValid = valid.perplexity;
    training.epoch++;
    training.stepInEpoch = 0;
    training.epochNats = 0;
    training.epochTokens = 0;
    await options.onEpoch?.(record);
    await checkpoint();
  }
  return { kind: 'finished' };
}

/** One hop's attention over the previous words, for {@link inspectMemnetLm}. */
export interface MemnetLmHop {
  /** The text positions of the words in memory, oldest first. */
  positions: number[];
  /** p_i of each; with `empty`, they sum to 1. */
  weights: number[];
  /** The attention on the empty memories (0 with N words before the position; see {@link encodeTextPositions}). */
  empty: number;
}

/** What {@link inspectMemnetLm} shows for one position. */
export interface MemnetLmInspection {
  /** The position predicted (its word is the one after the text read so far). */
  position: number;
  /** The most likely next words. */
  top: WordProbability[];
  /** Each hop's attention over the words in memory. */
  hops: MemnetLmHop[];
}

/**
 * The inspection API: for the word after `ids` (the next one), the model's most likely words and
 * each hop's attention over the previous N words.
 * @param model - the MemN2N language model
 * @param ids - the text so far as word ids (at least one word)
 * @param top - how many next words to list (default 10)
 */
export function inspectMemnetLm(model: MemnetModel, ids: Int32Array, top = 10): MemnetLmInspection {
  if (ids.length < 1) throw new EngramError('inspectMemnetLm: the text has no words');
  // Predicting position t = ids.length: append a placeholder answer (it is not read).
  const text = new Int32Array(ids.length + 1);
  text.set(ids);
  const t = ids.length;
  const encoded = encodeTextPositions(text, Int32Array.of(t), model.config);
  const { logits, attention } = noGrad(() => memnetForward(model, encoded));
  const values = logits.dataSync();
  let max = Number.NEGATIVE_INFINITY;
  for (const x of values) max = Math.max(max, x);
  let sum = 0;
  for (const x of values) sum += Math.exp(x - max);
  const kept = encoded.sentences[0] as number;
  const first = encoded.firstSentence[0] as number;
  return {
    position: t,
    top: topWords((id) => Math.exp((values[id] as number) - max) / sum, model.config.vocabularySize, top),
    hops: attention.map((p) => {
      const all = p.dataSync();
      const weights = Array.from(all.subarray(0, kept));
      let empty = 0;
      for (let i = kept; i < encoded.slots; i++) empty += all[i] as number;
      return { positions: Array.from({ length: kept }, (_, i) => first + i), weights, empty };
    }),
  };
}

/** Format tag of MemN2N language-model files. */
export const MEMNET_LM_FORMAT = 'engram-memnet-lm/1';

/** A MemN2N language model read back from a file. */
export interface LoadedMemnetLm {
  /** The model. */
  model: MemnetModel;
  /** Its words (ids 0 … V − 1). */
  vocabulary: LmVocabulary;
  /** The file's metadata. */
  metadata: Record<string, string>;
}

/** MemN2N language-model files: their tag, and a config check that also requires a language model's config. */
const MEMNET_LM_FILE: LmFileKind<MemnetConfig> = {
  format: MEMNET_LM_FORMAT,
  what: 'an Engram MemN2N language model',
  validate: (config, source) => {
    validateMemnetConfig(config as MemnetConfig);
    if (!isMemnetLm(config as MemnetConfig)) throw new EngramError(`${source}: not a language model's (query, layer-wise tying and temporal encoding)`);
  },
};

/** A model from a file's contents (a model file or a checkpoint: only the `params.` tensors are the model's). */
function restoreLm(source: string, { tensors, metadata }: SafetensorsContents): LoadedMemnetLm {
  const { config, vocabulary } = readLmHeader(source, metadata, MEMNET_LM_FILE);
  const model = createMemnet(config, new Random(0));
  restoreParameters(source, model.params, tensors);
  return { model, vocabulary, metadata };
}

function lmHeader(model: MemnetModel, vocabulary: LmVocabulary): Record<string, string> {
  return writeLmHeader(MEMNET_LM_FILE, model.config, vocabulary, 'saveMemnetLm');
}

/**
 * The bytes of a MemN2N language-model file (weights as safetensors; config and words as metadata).
 * @param model - the MemN2N language model
 * @param vocabulary - its words, stored in the file
 * @param metadata - strings stored in the file's header
 * @param options - `dtype`: F32 or F16 (half the size)
 */
export function memnetLmToSafetensors(
  model: MemnetModel,
  vocabulary: LmVocabulary,
  metadata: Record<string, string> = {},
  options: { dtype?: 'F32' | 'F16' } = {},
): Uint8Array {
  return saveSafetensors(flattenParameters(model.params, 'params'), { ...metadata, ...lmHeader(model, vocabulary) }, options);
}

/**
 * Reads a MemN2N language model from its bytes. Errors name `source`.
 * @param bytes - the file's contents
 * @param source - named in errors
 */
export function memnetLmFromSafetensors(bytes: Uint8Array, source = 'MemN2N language model data'): LoadedMemnetLm {
  return restoreLm(source, loadSafetensors(bytes, { source }));
}

/**
 * Saves a MemN2N language model with its vocabulary, atomically. Node only.
 * @param path - where to write (atomically)
 * @param model - the MemN2N language model
 * @param vocabulary - its words, stored in the file
 * @param metadata - strings stored in the file's header
 */
export async function saveMemnetLm(path: string, model: MemnetModel, vocabulary: LmVocabulary, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, memnetLmToSafetensors(model, vocabulary, metadata));
}

/**
 * Loads a MemN2N language model (or the model in a checkpoint). Node only.
 * @param path - a file written by `saveMemnetLm` or `saveMemnetLmCheckpoint`
 */
export async function loadMemnetLm(path: string): Promise<LoadedMemnetLm> {
  return restoreLm(path, await loadSafetensorsFile(path));
}

/**
 * Saves a training checkpoint (weights, vocabulary, optimizer, training state) atomically. Node only.
 * @param path - where to write (atomically)
 * @param model - the MemN2N language model
 * @param vocabulary - its words
 * @param snapshot - the training state and optimizer from `onCheckpoint`
 * @param metadata - strings stored in the file's header
 */
export async function saveMemnetLmCheckpoint(
  path: string,
  model: MemnetModel,
  vocabulary: LmVocabulary,
  snapshot: MemnetLmSnapshot,
  metadata: Record<string, string> = {},
): Promise<void> {
  const contents = checkpointContents(model.params, snapshot.optimizer);
  const training = { ...snapshot.training, previousValid: Number.isFinite(snapshot.training.previousValid) ? snapshot.training.previousValid : null };
  await writeFileAtomic(
    path,
    saveSafetensors(contents.tensors, { ...metadata, ...lmHeader(model, vocabulary), ...contents.metadata, training: JSON.stringify(training) }),
  );
}

function validateMemnetLmTraining(source: string, value: unknown): MemnetLmTrainingState {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EngramError(`${source}: 'training' must be an object`);
  const t = value as Record<string, unknown>;
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  for (const key of ['step', 'epoch', 'stepInEpoch', 'tokens'] as const)
    if (!count(t[key])) throw new EngramError(`${source}: training '${key}' must be a non-negative integer`);
  for (const key of ['seconds', 'epochNats', 'epochTokens'] as const)
    if (typeof t[key] !== 'number' || !Number.isFinite(t[key]) || (t[key] as number) < 0)
      throw new EngramError(`${source}: training '${key}' must be a non-negative number`);
  if (typeof t.learningRate !== 'number' || !(t.learningRate > 0) || !Number.isFinite(t.learningRate))
    throw new EngramError(`${source}: training 'learningRate' must be a positive number`);
  if (t.previousValid !== null && (typeof t.previousValid !== 'number' || !(t.previousValid > 0) || !Number.isFinite(t.previousValid)))
    throw new EngramError(`${source}: training 'previousValid' must be a positive number or null`);
  checkRngState(source, 'training.rngState', t.rngState);
  checkEpochHistory(source, t.history);
  return { ...(t as unknown as MemnetLmTrainingState), previousValid: t.previousValid === null ? Number.POSITIVE_INFINITY : (t.previousValid as number) };
}

/** A checkpoint read back: the model, its words and the snapshot to pass to `trainMemnetLm` as `resume`. */
export interface MemnetLmCheckpoint extends LoadedMemnetLm {
  /** Where training stood. */
  snapshot: MemnetLmSnapshot;
}

/**
 * Reads a checkpoint written by {@link saveMemnetLmCheckpoint}; every field is checked and named when wrong. Node only.
 * @param path - the checkpoint file
 */
export async function loadMemnetLmCheckpoint(path: string): Promise<MemnetLmCheckpoint> {
  const contents = await loadSafetensorsFile(path);
  const loaded = restoreLm(path, contents);
  const { metadata, tensors } = contents;
  if (!Object.hasOwn(metadata, 'training')) throw new EngramError(`${path}: no 'training' metadata (a model file rather than a checkpoint?)`);
  const training = validateMemnetLmTraining(path, metadataJson(path, metadata, 'training'));
  const saved = checkpointOptimizer(path, tensors, metadata);
  const optimizer = new SGD(parameterList(loaded.model.params), training.learningRate);
  optimizer.loadState(saved.state);
  return { ...loaded, snapshot: { training, optimizer } };
}
