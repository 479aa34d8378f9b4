import { createLmWorkers } from '@engram/lm/workers';
import { createMemnetLmWorkers } from '@engram/memnet/workers';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { appendText, keepCsvRows, readJsonFile, removeLeftoverTemporaries, writeText } from './files.js';
import {
  type DatastoreFile,
  type IvfIndex,
  LM_RECIPES,
  MAX_TEXT_VOCABULARY,
  type LmCorpus,
  type LoadedLm,
  type LmModel,
  type LmEpochRecord,
  type LmRecipe,
  type LmStepReport,
  type LmTrainOutcome,
  type LmTrainingSnapshot,
  type TrainLmOptions,
  type LmVocabulary,
  type Neighbours,
  type TextRun,
  bestPerSize,
  buildDatastore,
  buildIvfIndex,
  cacheGrid,
  exactNeighbours,
  interpolate,
  ivfNeighbours,
  knnPerplexities,
  knnProbabilities,
  knnRecall,
  loadDatastore,
  neighbourRecall,
  nextWordState,
  ptbTokens,
  saveDatastore,
  completeText,
  createLm,
  evaluateLm,
  lmRecipe,
  lmFromSafetensors,
  loadLm,
  loadLmCheckpoint,
  loadTextCorpus,
  runText,
  saveLm,
  saveLmCheckpoint,
  topWords,
  trainLm,
} from '@engram/lm';
import {
  MEMNET_LM_FORMAT,
  MEMNET_LM_RECIPE,
  MEMNET_LM_SIZES,
  type LoadedMemnetLm,
  type MemnetLmRecipe,
  type MemnetLmSizes,
  type MemnetLmInspection,
  type MemnetLmSnapshot,
  type MemnetModel,
  createMemnet,
  evaluateMemnetLm,
  inspectMemnetLm,
  loadMemnetLm,
  loadMemnetLmCheckpoint,
  memnetLmConfig,
  memnetLmFromSafetensors,
  saveMemnetLm,
  saveMemnetLmCheckpoint,
  trainMemnetLm,
} from '@engram/memnet';
import { EngramError, Random, countParameters, getDefaultBackend, loadSafetensorsFile, readBinaryFile } from '@engram/tensor';
import { MAX_THREADS } from '@engram/tensor/workers';
import { bar, count, formatDuration } from './format.js';
import { type OptionSpec, type OptionValues, get, given } from './option-table.js';
import { prepareRunFolder } from './run-folder.js';
import { document as svgDocument, escapeXml, heatmap, lineChart } from './svg.js';

/** The largest `--vocabulary` (the option's range and run.json's check). */
const MAX_VOCABULARY = 1_000_000;
/**
 * The most numbers one training step may hold per layer of activations (2²⁷, 512 MiB of float32): a memory network's
 * batch × memory × embedding (the memories each hop reads), an LSTM's batch × unroll × hidden units × layers. The
 * paper's MemN2N takes 3.8 million, the `medium` LSTM 0.9 million; each option is bounded alone, and this bounds
 * them together, so that a large combination is refused before it is allocated.
 */
const MAX_STEP_CELLS = 2 ** 27;

/** The options of `engram train lm`: the parser and `--help` both read this table. */
export const TRAIN_LM_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'model',
    type: 'choice',
    choices: ['lstm', 'memnet'],
    default: 'lstm',
    help: 'lstm (Zaremba et al. 2014) or memnet (the memory network as a language model, Sukhbaatar et al. 2015 §5)',
  },
  {
    name: 'recipe',
    type: 'choice',
    choices: Object.keys(LM_RECIPES),
    default: 'small',
    help: 'Zaremba et al. 2014: small (2 × 200, 13 epochs) or medium (2 × 650, dropout 0.5, 39 epochs)',
  },
  {
    name: 'data',
    type: 'string',
    value: 'DIR',
    default: 'data/ptb',
    help: "folder with the texts: ptb.{train,valid,test}.txt (engram download ptb), {train,valid,test}.txt or WikiText's wiki.{train,valid,test}.tokens; one sentence per line, words separated by spaces",
  },
  {
    name: 'vocabulary',
    type: 'integer',
    value: 'N',
    min: 2,
    max: MAX_VOCABULARY,
    help: `keep the training text's N most frequent words, the rest becoming <unk> (default: every word, at most ${MAX_TEXT_VOCABULARY.toLocaleString('en-US')})`,
  },
  { name: 'out', type: 'string', value: 'DIR', help: 'run folder (default runs/lm-<recipe>)' },
  { name: 'seed', type: 'integer', value: 'N', default: 1, min: 0, max: 2 ** 31 - 1, help: 'weights and dropout follow it' },
  {
    name: 'epochs',
    type: 'integer',
    value: 'N',
    min: 1,
    max: 1000,
    help: "epochs in all (default the recipe's; memnet: at most, it stops once η < 1e-5); with --resume it applies and the header says so",
  },
  { name: 'hidden', type: 'integer', value: 'N', min: 1, max: 4096, help: "LSTM units and embedding width (default the recipe's)" },
  { name: 'dropout', type: 'number', value: 'P', min: 0, max: 0.95, help: "dropout between layers (default the recipe's)" },
  { name: 'tied', type: 'flag', help: 'share input and output embeddings (Press & Wolf 2017)' },
  { name: 'hops', type: 'integer', value: 'K', min: 1, max: 64, help: `memnet: hops (default ${MEMNET_LM_SIZES.hops})` },
  { name: 'memory', type: 'integer', value: 'N', min: 1, max: 100_000, help: `memnet: previous words in memory (default ${MEMNET_LM_SIZES.memorySize})` },
  { name: 'embedding', type: 'integer', value: 'D', min: 2, max: 4096, help: `memnet: embedding width (default ${MEMNET_LM_SIZES.embeddingSize})` },
  {
    name: 'batch',
    type: 'integer',
    value: 'N',
    min: 1,
    max: 4096,
    help: "words predicted per step (memnet) or parallel streams (lstm) (default the recipe's: memnet 128, lstm 20)",
  },
  { name: 'max-steps', type: 'integer', value: 'N', min: 1, max: 1e9, help: 'stop (with a checkpoint) after N steps in all' },
  {
    name: 'threads',
    type: 'integer',
    value: 'N',
    min: 1,
    max: 64,
    help: "threads that share each step, this one included (default: every core; with --resume, the run's); the LSTM uses at most its batch",
  },
  {
    name: 'checkpoint-every',
    type: 'integer',
    value: 'N',
    default: 200,
    min: 1,
    max: 1e9,
    help: 'checkpoint every N steps (and at every epoch end, and on Ctrl-C)',
  },
  {
    name: 'init',
    type: 'string',
    value: 'FILE',
    help: "start from a model file's weights (a run's best.safetensors or model.safetensors, float32 or float16) instead of random ones; its model and vocabulary must be the run's",
  },
  { name: 'lr', type: 'number', value: 'η', min: 1e-12, max: 100, help: "the starting learning rate (default the recipe's: lstm 1, memnet 0.01)" },
  { name: 'resume', type: 'flag', help: 'continue DIR/checkpoint.safetensors exactly where it stopped' },
  { name: 'overwrite', type: 'flag', help: 'start afresh in a run folder that already holds a checkpoint' },
];

/** The options of `engram eval` for a language-model run. */
export const EVAL_LM_OPTIONS: readonly OptionSpec[] = [
  { name: 'run', type: 'string', value: 'DIR', help: 'the run folder (or a model .safetensors file)' },
  { name: 'data', type: 'string', value: 'DIR', help: "the texts' folder (default: the run's); words outside the model's vocabulary count as <unk>" },
  { name: 'cache', type: 'string', value: 'N,N', help: 'neural cache sizes to report (θ and λ chosen on validation), e.g. 100,500,2000' },
  {
    name: 'knn',
    type: 'integer',
    value: 'K',
    min: 1,
    max: 4096,
    help: 'kNN-LM over the training text with K neighbours (λ chosen on validation); builds the datastore once',
  },
  {
    name: 'index',
    type: 'choice',
    choices: ['ivf', 'exact'],
    default: 'ivf',
    help: 'kNN search: an IVF index (approximate, recall reported) or exact over the whole datastore',
  },
  { name: 'probes', type: 'integer', value: 'N', default: 32, min: 1, max: 100_000, help: 'IVF cells searched per query' },
  { name: 'datastore-dtype', type: 'choice', choices: ['f32', 'f16'], default: 'f32', help: 'key precision when building the datastore file (f16 halves it)' },
  { name: 'rebuild', type: 'flag', help: 'rebuild the datastore even if one is saved' },
  {
    name: 'datastore-streams',
    type: 'integer',
    value: 'N',
    default: 1,
    min: 1,
    max: 1000,
    help: 'read the training text as N parallel streams to build the datastore (1: one stream, every context whole)',
  },
  {
    name: 'recall-queries',
    type: 'integer',
    value: 'N',
    default: 500,
    min: 0,
    max: 100_000,
    help: 'validation queries whose IVF neighbours are checked against exact search',
  },
];

/** True when two vocabularies hold the same words in the same order (a model and its data agree). */
function sameWords(a: LmVocabulary, b: LmVocabulary): boolean {
  return a.size === b.size && a.words.every((w, i) => w === b.words[i]);
}

/** Where a run's kNN datastore lives: beside a model file, or in the run folder. */
function datastorePath(run: string): string {
  return run.endsWith('.safetensors') ? `${run.slice(0, -'.safetensors'.length)}.knn` : join(run, 'datastore.knn');
}

/** The options of `engram tune`. */
export const TUNE_LM_OPTIONS: readonly OptionSpec[] = [
  { name: 'run', type: 'string', value: 'DIR', help: 'the run folder (or a model .safetensors file)' },
  { name: 'data', type: 'string', value: 'DIR', help: "the texts' folder (default: the run's); words outside the model's vocabulary count as <unk>" },
  { name: 'cache', type: 'integer', value: 'N', default: 2000, min: 1, max: 100_000, help: 'cache size whose θ × λ grid to print (on validation)' },
];

/** The options of `engram complete`. */
export const COMPLETE_LM_OPTIONS: readonly OptionSpec[] = [
  { name: 'run', type: 'string', value: 'DIR', help: 'the run folder (or a model .safetensors file)' },
  { name: 'text', type: 'string', value: 'TEXT', help: 'the text to continue (words outside the vocabulary become <unk>)' },
  {
    name: 'tokenize',
    type: 'choice',
    choices: ['ptb', 'spaces'],
    default: 'ptb',
    help: "ptb: as Penn Treebank is written (lower case, numbers as N, punctuation dropped, a sentence's end as <eos>); spaces: the words as given, split at spaces (a model trained on other text)",
  },
  { name: 'cache', type: 'integer', value: 'N', default: 2000, min: 1, max: 100_000, help: 'neural cache size over the text' },
  { name: 'theta', type: 'number', value: 'X', default: 0.3, min: 0, max: 100, help: 'θ, the flatness of the cache distribution' },
  { name: 'lambda', type: 'number', value: 'X', default: 0.1, min: 0, max: 1, help: 'λ, the weight of the cache' },
  { name: 'top', type: 'integer', value: 'N', default: 10, min: 1, max: 1000, help: 'words to show' },
  {
    name: 'knn',
    type: 'integer',
    value: 'K',
    min: 1,
    max: 4096,
    help: "also the kNN-LM's K nearest training contexts (needs the run's datastore: engram eval --knn)",
  },
  { name: 'knn-lambda', type: 'number', value: 'X', default: 0.25, min: 0, max: 1, help: 'λ of the kNN memory' },
  { name: 'probes', type: 'integer', value: 'N', default: 32, min: 1, max: 100_000, help: 'IVF cells searched (when the datastore has an index)' },
  { name: 'data', type: 'string', value: 'DIR', help: "the texts' folder, to print the training contexts (default: the run's)" },
];

/** The options of `engram show` for a memory-network language model: `complete`'s own, and where the figure goes. */
export const SHOW_LM_OPTIONS: readonly OptionSpec[] = [
  ...COMPLETE_LM_OPTIONS.filter((o) => ['run', 'text', 'tokenize', 'top'].includes(o.name)),
  { name: 'out', type: 'string', value: 'FILE.svg', help: 'the figure (default DIR/show.svg, or beside a model file)' },
];

/** What run.json records for a language-model run. */
type LmRunInfo = LstmRunInfo | MemnetRunInfo;

/** run.json of an LSTM language-model run. */
interface LstmRunInfo {
  kind: 'lm';
  model: 'lstm';
  recipeName: string;
  recipe: LmRecipe;
  seed: number;
  data: string;
  started: string;
  /** Threads each step was split across (absent in runs from before there was a choice: one thread). */
  threads?: number;
  /** The model file the weights started from (`--init`), absent for random weights. */
  init?: InitRecord;
  /** `--vocabulary`: the training text's most frequent words kept (absent: every word). */
  vocabularySize?: number;
}

/** run.json's record of `--init`: the file and the SHA-256 of its bytes. */
interface InitRecord {
  file: string;
  sha256: string;
}

/** run.json of a MemN2N language-model run. */
interface MemnetRunInfo {
  kind: 'lm';
  model: 'memnet';
  recipeName: 'paper';
  recipe: MemnetLmRecipe;
  sizes: MemnetLmSizes;
  seed: number;
  data: string;
  started: string;
  /** Threads each step was split across (absent in runs from before it was recorded: every core). */
  threads?: number;
  /** The model file the weights started from (`--init`), absent for random weights. */
  init?: InitRecord;
  /** `--vocabulary`: the training text's most frequent words kept (absent: every word). */
  vocabularySize?: number;
}

const CURVE_HEADER = 'step,epoch,tokens,seconds,loss,epoch_perplexity,learning_rate,gradient_norm\n';
const EPOCHS_HEADER = 'epoch,learning_rate,train_perplexity,valid_perplexity,seconds\n';

/** Where output goes (a terminal or a test's buffer). */
export interface LmIO {
  /** A status line, rewritten in place on a terminal. */
  status(line: string): void;
  /** A permanent line. */
  log(line: string): void;
  /** True once the user asked to stop (Ctrl-C). */
  interrupted(): boolean;
}

/** The bounds of a run.json number: an integer or not, and its range (inclusive). */
interface FieldLimit {
  integer: boolean;
  min: number;
  max: number;
}

/** A number's bounds as `engram train lm` takes it on the command line (the option table is the one place they are written). */
function optionLimit(name: string): FieldLimit {
  const spec = TRAIN_LM_OPTIONS.find((o) => o.name === name);
  if (spec?.min === undefined || spec.max === undefined) throw new Error(`TRAIN_LM_OPTIONS has no bounds for --${name}`);
  return { integer: spec.type === 'integer', min: spec.min, max: spec.max };
}

/**
 * The numbers of run.json's recipe and sizes, bounded as a fresh run's options bound them (a hostile run.json must not
 * size an allocation, nor leave a fraction in the step count): those an option sets take its bounds; the others
 * theirs. A field not listed must be a positive finite number.
 */
const RUN_FIELD_LIMITS: Readonly<Record<string, FieldLimit>> = {
  batch: optionLimit('batch'),
  epochs: optionLimit('epochs'),
  maxEpochs: optionLimit('epochs'),
  learningRate: optionLimit('lr'),
  hops: optionLimit('hops'),
  memorySize: optionLimit('memory'),
  embeddingSize: optionLimit('embedding'),
  unroll: { integer: true, min: 1, max: 1000 },
  decayAfter: { integer: true, min: 1, max: 1000 },
  decay: { integer: false, min: 1, max: 1000 },
};

/**
 * Refuses a step too large to allocate ({@link MAX_STEP_CELLS}), naming the options that make it.
 * @param cells - the numbers a step holds per layer of activations
 * @param what - the options multiplied, as the user gives them
 */
function checkStepCells(cells: number, what: string): void {
  if (cells > MAX_STEP_CELLS)
    throw new EngramError(
      `${what} is ${cells.toLocaleString('en-US')} numbers a step, more than ${MAX_STEP_CELLS.toLocaleString('en-US')}: make one of them smaller`,
    );
}

/** Checks that `value` has every numeric field of `base`, each a finite number within its {@link RUN_FIELD_LIMITS} (or positive). */
function checkRunFields(path: string, what: string, value: unknown, base: object): void {
  const record = value as Record<string, unknown> | undefined;
  for (const key of Object.keys(base)) {
    if (key === 'model') continue;
    const field = record?.[key];
    const limit = RUN_FIELD_LIMITS[key];
    if (typeof field !== 'number' || !Number.isFinite(field) || field <= 0) throw new EngramError(`${path}: ${what} '${key}' must be a positive number`);
    if (limit && ((limit.integer && !Number.isInteger(field)) || field < limit.min || field > limit.max))
      throw new EngramError(`${path}: ${what} '${key}' must be ${limit.integer ? 'an integer' : 'a number'} in ${limit.min}..${limit.max}`);
  }
}

async function readRunInfo(dir: string): Promise<LmRunInfo> {
  const path = join(dir, 'run.json');
  const info = await readJsonFile(path);
  const i = info as Partial<LstmRunInfo> | Partial<MemnetRunInfo>;
  if (typeof info !== 'object' || info === null || i.kind !== 'lm') throw new EngramError(`${path}: not a language-model run`);
  if (typeof i.recipeName !== 'string' || typeof i.data !== 'string' || typeof i.seed !== 'number')
    throw new EngramError(`${path}: 'recipeName', 'data' and 'seed' must be present`);
  // The recipe's numbers are checked against the named recipe's fields and types.
  if (i.model === 'memnet') {
    checkRunFields(path, 'recipe', i.recipe, MEMNET_LM_RECIPE);
    checkRunFields(path, 'sizes', (i as Partial<MemnetRunInfo>).sizes, MEMNET_LM_SIZES);
    const { recipe, sizes } = i as MemnetRunInfo;
    checkStepCells(recipe.batch * sizes.memorySize * sizes.embeddingSize, `${path}: recipe 'batch' × sizes 'memorySize' × 'embeddingSize'`);
  } else if (i.model === 'lstm' || i.model === undefined) checkRunFields(path, 'recipe', i.recipe, lmRecipe(i.recipeName));
  else throw new EngramError(`${path}: 'model' must be 'lstm' or 'memnet'`);
  if (i.threads !== undefined && !(Number.isInteger(i.threads) && i.threads >= 1 && i.threads <= MAX_THREADS))
    throw new EngramError(`${path}: 'threads' must be an integer in 1..${MAX_THREADS}`);
  const init = i.init as Partial<InitRecord> | undefined;
  if (
    init !== undefined &&
    (typeof init !== 'object' || init === null || typeof init.file !== 'string' || typeof init.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(init.sha256))
  )
    throw new EngramError(`${path}: 'init' must be an object with 'file' (a string) and 'sha256' (64 hex digits)`);
  if (i.vocabularySize !== undefined && !(Number.isInteger(i.vocabularySize) && i.vocabularySize >= 2 && i.vocabularySize <= MAX_VOCABULARY))
    throw new EngramError(`${path}: 'vocabularySize' must be an integer in 2..${MAX_VOCABULARY}`);
  return { model: 'lstm', ...i } as LmRunInfo;
}

/** True when `dir` is a language-model run folder or `path` a language-model file (LSTM or MemN2N). */
export async function isLmRun(path: string): Promise<boolean> {
  if (path.endsWith('.safetensors')) {
    try {
      await loadAnyLm(path);
      return true;
    } catch {
      return false;
    }
  }
  try {
    const info = JSON.parse(await readFile(join(path, 'run.json'), 'utf8')) as { kind?: unknown };
    return info.kind === 'lm';
  } catch {
    return false;
  }
}

/** The hooks `engram train lm` gives a trainer (those of `trainLm` and `trainMemnetLm`). */
type TrainHooks = Pick<TrainLmOptions, 'checkpointEvery' | 'shouldStop' | 'onStep' | 'onEvaluateProgress' | 'onEpoch'>;

/**
 * A language model being trained, whatever its kind: what `engram train lm` calls. One is made per
 * `--model` by {@link LM_KINDS}; the command itself never looks at the kind.
 */
interface Trainer {
  /** The header line: the architecture and the recipe. */
  header: string;
  /** Epochs in all, or at most (see `epochsAtMost`). */
  epochs: number;
  /** Whether `epochs` is only a cap: the MemN2N LM stops once η falls below its minimum, often well before. */
  epochsAtMost: boolean;
  /** Training words per step (for the ETA). */
  wordsPerStep: number;
  /** The most threads a step can be split across. */
  maxThreads: number;
  /** Where a resumed run stands. */
  resumedAt: { step: number; epoch: number; tokens: number; history: readonly LmEpochRecord[] } | undefined;
  /** Trains on `threads` threads, writing the checkpoint itself. */
  train(hooks: TrainHooks, threads: number): Promise<LmTrainOutcome>;
  /** Saves the model as it is now. */
  save(path: string): Promise<void>;
  /**
   * Perplexity of the model now, or of the model in a saved file, on a text; for a MemN2N also over the words with a
   * full memory (the paper's reference test).
   */
  evaluate(ids: Int32Array, file?: string): Promise<{ perplexity: number; tokens: number; fullMemory?: { perplexity: number; tokens: number } }>;
}

/**
 * The progress line of `engram train lm` after a step. A run of a fixed number of epochs shows its place in the whole
 * run and the time left; a run whose epochs are only a cap (the MemN2N LM, which stops once η is small, often at half
 * the cap) shows its place in the epoch, the time left in it, and the time left at most.
 * @param r - the step's report
 * @param trainer - the run's epochs, whether they are a cap, and its words per step
 * @param wordsPerSecond - the training speed measured since the process started
 */
export function progressLine(
  r: Pick<LmStepReport, 'epoch' | 'window' | 'windows' | 'step' | 'epochPerplexity' | 'loss' | 'learningRate' | 'seconds'>,
  trainer: Pick<Trainer, 'epochs' | 'epochsAtMost' | 'wordsPerStep'>,
  wordsPerSecond: number,
): string {
  const { epochs, epochsAtMost, wordsPerStep } = trainer;
  const inEpoch = (r.window + 1) / r.windows;
  const secondsFor = (windows: number) => formatDuration((windows * wordsPerStep) / Math.max(wordsPerSecond, 1e-9));
  const place = epochsAtMost
    ? `${bar(inEpoch)} epoch ${r.epoch + 1} (at most ${epochs})`
    : `${bar((r.epoch + inEpoch) / epochs)} epoch ${r.epoch + 1}/${epochs}`;
  const left = epochsAtMost
    ? `epoch ends in ${secondsFor((1 - inEpoch) * r.windows)}, the run in ≤ ${secondsFor((epochs - r.epoch - inEpoch) * r.windows)}`
    : `ETA ${secondsFor((epochs - r.epoch - inEpoch) * r.windows)}`;
  return (
    `${place} ${(inEpoch * 100).toFixed(1)}% | step ${count(r.step)} | ${count(wordsPerSecond)} words/s | ` +
    `perplexity ${r.epochPerplexity.toFixed(1)} (this step ${Math.exp(r.loss).toFixed(1)}) | η ${Number(r.learningRate.toPrecision(4))} | ${formatDuration(r.seconds)} | ${left}`
  );
}

/** What a run starts or continues from. */
interface PreparedRun {
  info: LmRunInfo;
  corpus: LmCorpus;
  trainer: Trainer;
}

/** One row per `--model`: how to start a run, and how to continue one from its checkpoint. */
const LM_KINDS = {
  lstm: {
    /** A new run: random weights, or `init`'s (the `--init` file, read once), checked against the data and sizes. */
    fresh(info: LstmRunInfo, corpus: LmCorpus, checkpointPath: string, init: LoadedLm | undefined): Trainer {
      const config = { ...info.recipe.model, vocabularySize: corpus.vocabulary.size };
      if (init === undefined) return lstmTrainer(info, createLm(config, new Random(info.seed)), corpus, checkpointPath, undefined);
      const { model, vocabulary } = init;
      checkWords(corpus, vocabulary, initWordsDiffer(info));
      for (const key of ['embeddingSize', 'hiddenSize', 'layers', 'tied'] as const)
        if (model.config[key] !== config[key])
          throw new EngramError(
            `--init: ${info.init?.file} has ${key} ${model.config[key]} where the run has ${config[key]} (choose --recipe and --hidden to match it)`,
          );
      // Dropout is the run's: the file's weights, the recipe's training.
      return lstmTrainer(info, { ...model, config: { ...model.config, dropout: config.dropout } }, corpus, checkpointPath, undefined);
    },
    async resume(info: LstmRunInfo, corpus: LmCorpus, checkpointPath: string): Promise<Trainer> {
      const { model, vocabulary, snapshot } = await loadLmCheckpoint(checkpointPath, info.recipe.batch);
      checkWords(corpus, vocabulary, resumeWordsDiffer(info));
      return lstmTrainer(info, model, corpus, checkpointPath, snapshot);
    },
  },
  memnet: {
    /** A new run: random weights, or `init`'s (the `--init` file, read once), checked against the data and sizes. */
    fresh(info: MemnetRunInfo, corpus: LmCorpus, checkpointPath: string, init: LoadedMemnetLm | undefined): Trainer {
      const config = memnetLmConfig(corpus.vocabulary.size, info.sizes);
      if (init === undefined) return memnetTrainer(info, createMemnet(config, new Random(info.seed)), corpus, checkpointPath, undefined);
      const { model, vocabulary } = init;
      checkWords(corpus, vocabulary, initWordsDiffer(info));
      if ((['hops', 'memorySize', 'embeddingSize'] as const).some((key) => model.config[key] !== config[key])) {
        const c = model.config;
        throw new EngramError(
          `--init: ${info.init?.file} holds a MemN2N LM of ${c.hops} hops, memory ${c.memorySize}, embedding ${c.embeddingSize}; the run asks for ${config.hops}, ${config.memorySize}, ${config.embeddingSize} (give --hops, --memory and --embedding to match it)`,
        );
      }
      return memnetTrainer(info, model, corpus, checkpointPath, undefined);
    },
    async resume(info: MemnetRunInfo, corpus: LmCorpus, checkpointPath: string): Promise<Trainer> {
      const { model, vocabulary, snapshot } = await loadMemnetLmCheckpoint(checkpointPath);
      checkWords(corpus, vocabulary, resumeWordsDiffer(info));
      return memnetTrainer(info, model, corpus, checkpointPath, snapshot);
    },
  },
} as const;

/** Stops (with `message`) when a model's words are not the data's: its weights would belong to other words. */
function checkWords(corpus: LmCorpus, vocabulary: LmVocabulary, message: string): void {
  if (!sameWords(corpus.vocabulary, vocabulary)) throw new EngramError(message);
}

function initWordsDiffer(info: LmRunInfo): string {
  return `--init: the words of ${info.init?.file} differ from those of ${info.data} (start from a model trained on the same data)`;
}

function resumeWordsDiffer(info: LmRunInfo): string {
  return `${info.data}: its vocabulary differs from the checkpoint's; resume with the data the run was trained on`;
}

function lstmTrainer(info: LstmRunInfo, model: LmModel, corpus: LmCorpus, checkpointPath: string, snapshot: LmTrainingSnapshot | undefined): Trainer {
  const { recipe } = info;
  const c = model.config;
  return {
    header:
      `LSTM LM '${info.recipeName}': ${c.layers} × ${c.hiddenSize}, embedding ${c.embeddingSize}${c.tied ? ' (tied)' : ''}, dropout ${c.dropout}, vocabulary ${count(c.vocabularySize)}, ${count(countParameters(model.params))} parameters; ` +
      `batch ${recipe.batch}, unroll ${recipe.unroll}, ${recipe.epochs} epochs, SGD η ${recipe.learningRate} ÷ ${recipe.decay} after epoch ${recipe.decayAfter}, gradient norm ≤ ${recipe.maxGradNorm}`,
    epochs: recipe.epochs,
    epochsAtMost: false,
    wordsPerStep: recipe.batch * recipe.unroll,
    maxThreads: recipe.batch,
    resumedAt: snapshot && { ...snapshot.training },
    train: async (hooks, threads) => {
      const workers = threads > 1 ? await createLmWorkers(model, threads, recipe.batch) : undefined;
      try {
        return await trainLm(model, corpus, {
          recipe,
          seed: info.seed,
          ...(snapshot ? { resume: snapshot } : {}),
          ...hooks,
          ...(workers ? { gradients: workers } : {}),
          onCheckpoint: (s) => saveLmCheckpoint(checkpointPath, model, corpus.vocabulary, s),
        });
      } finally {
        await workers?.close();
      }
    },
    save: (path) => saveLm(path, model, corpus.vocabulary, { recipe: info.recipeName }),
    evaluate: async (ids, file) => evaluateLm(file === undefined ? model : (await loadLm(file)).model, ids),
  };
}

function memnetTrainer(info: MemnetRunInfo, model: MemnetModel, corpus: LmCorpus, checkpointPath: string, snapshot: MemnetLmSnapshot | undefined): Trainer {
  const { recipe } = info;
  const c = model.config;
  return {
    header:
      `MemN2N LM: ${c.hops} hops, memory of ${count(c.memorySize)} words, embedding ${c.embeddingSize} (ReLU on ${c.embeddingSize - (c.linearUnits ?? c.embeddingSize)}), vocabulary ${count(c.vocabularySize)}, ${count(countParameters(model.params))} parameters; ` +
      `batch ${recipe.batch}, SGD η ${recipe.learningRate} ÷ ${recipe.decay} when validation does not improve, until η < ${recipe.minLearningRate} (at most ${recipe.maxEpochs} epochs), gradient norm ≤ ${recipe.maxGradNorm}`,
    epochs: recipe.maxEpochs,
    epochsAtMost: true,
    wordsPerStep: recipe.batch,
    maxThreads: recipe.batch,
    resumedAt: snapshot && { ...snapshot.training },
    train: async (hooks, threads) => {
      const workers = threads > 1 ? await createMemnetLmWorkers(model, corpus.train, threads) : undefined;
      try {
        return await trainMemnetLm(model, corpus, {
          recipe,
          seed: info.seed,
          ...(snapshot ? { resume: snapshot } : {}),
          ...hooks,
          ...(workers ? { gradients: workers } : {}),
          onCheckpoint: (s) => saveMemnetLmCheckpoint(checkpointPath, model, corpus.vocabulary, s),
        });
      } finally {
        await workers?.close();
      }
    },
    save: (path) => saveMemnetLm(path, model, corpus.vocabulary),
    evaluate: async (ids, file) => evaluateMemnetLm(file === undefined ? model : (await loadMemnetLm(file)).model, ids),
  };
}

async function resumeRun(out: string, checkpointPath: string, values: OptionValues, notes: string[]): Promise<PreparedRun> {
  if (!existsSync(checkpointPath)) throw new EngramError(`--resume: no checkpoint at ${checkpointPath}`);
  removeLeftoverTemporaries(out);
  let info = await readRunInfo(out);
  const epochs = get<number>(values, 'epochs');
  if (epochs !== undefined && info.model === 'lstm' && epochs !== info.recipe.epochs) {
    notes.push(`epochs changed from ${info.recipe.epochs} to ${epochs} (--epochs)`);
    info = { ...info, recipe: { ...info.recipe, epochs } };
    await writeText(join(out, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
  }
  if (epochs !== undefined && info.model === 'memnet' && epochs !== info.recipe.maxEpochs) {
    notes.push(`at most ${epochs} epochs instead of ${info.recipe.maxEpochs} (--epochs)`);
    info = { ...info, recipe: { ...info.recipe, maxEpochs: epochs } };
    await writeText(join(out, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
  }
  // A run continues on the threads it ran on (bit for bit); another count sums the gradients in another order.
  const recorded = info.threads ?? (info.model === 'memnet' ? availableParallelism() : 1);
  const threads = get<number>(values, 'threads') ?? recorded;
  if (threads !== recorded) notes.push(`${threads} threads instead of ${recorded} (--threads): gradients summed in another order, so not bit for bit`);
  if (threads !== info.threads) {
    info = { ...info, threads };
    await writeText(join(out, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
  }
  const corpus = await loadRunCorpus(info);
  const trainer =
    info.model === 'memnet' ? await LM_KINDS.memnet.resume(info, corpus, checkpointPath) : await LM_KINDS.lstm.resume(info, corpus, checkpointPath);
  return { info, corpus, trainer };
}

/**
 * `--init FILE`, read once: run.json's record of it and the bytes the weights come from (so the SHA-256 recorded is
 * that of the weights used). The file must exist, be a regular file and of a size a model file can have.
 */
async function readInit(file: string | undefined): Promise<{ record: InitRecord; bytes: Uint8Array } | undefined> {
  if (file === undefined) return undefined;
  if (!existsSync(file)) throw new EngramError(`--init: no model file at ${file}`);
  const bytes = await readBinaryFile(file);
  return { record: { file, sha256: createHash('sha256').update(bytes).digest('hex') }, bytes };
}

async function newRun(out: string, values: OptionValues, defaultOut: boolean, checkpointPath: string): Promise<PreparedRun> {
  const initFile = await readInit(get<string>(values, 'init'));
  const common = {
    kind: 'lm' as const,
    seed: get<number>(values, 'seed') ?? 1,
    data: get<string>(values, 'data') ?? 'data/ptb',
    started: new Date().toISOString(),
    threads: get<number>(values, 'threads') ?? availableParallelism(),
    ...(initFile ? { init: initFile.record } : {}),
    ...(values.has('vocabulary') ? { vocabularySize: get<number>(values, 'vocabulary') as number } : {}),
  };
  let info: LmRunInfo;
  let fresh: (corpus: LmCorpus) => Trainer;
  if (get<string>(values, 'model') === 'memnet') {
    const init = initFile && memnetLmFromSafetensors(initFile.bytes, initFile.record.file);
    // With --init the sizes default to the file's.
    const base = init ? init.model.config : MEMNET_LM_SIZES;
    const sizes: MemnetLmSizes = {
      hops: get<number>(values, 'hops') ?? base.hops,
      memorySize: get<number>(values, 'memory') ?? base.memorySize,
      embeddingSize: get<number>(values, 'embedding') ?? base.embeddingSize,
    };
    const lr = get<number>(values, 'lr');
    if (lr !== undefined && lr < MEMNET_LM_RECIPE.minLearningRate)
      throw new EngramError(`--lr ${lr} is below ${MEMNET_LM_RECIPE.minLearningRate}, where the memory network's training stops (the paper's rule)`);
    const recipe: MemnetLmRecipe = {
      ...MEMNET_LM_RECIPE,
      ...(values.has('batch') ? { batch: get<number>(values, 'batch') as number } : {}),
      ...(values.has('epochs') ? { maxEpochs: get<number>(values, 'epochs') as number } : {}),
      ...(values.has('lr') ? { learningRate: get<number>(values, 'lr') as number } : {}),
    };
    checkStepCells(recipe.batch * sizes.memorySize * sizes.embeddingSize, '--batch × --memory × --embedding');
    const memnetInfo: MemnetRunInfo = { ...common, model: 'memnet', recipeName: 'paper', recipe, sizes };
    info = memnetInfo;
    fresh = (corpus) => LM_KINDS.memnet.fresh(memnetInfo, corpus, checkpointPath, init);
  } else {
    const recipeName = get<string>(values, 'recipe') ?? 'small';
    const base = lmRecipe(recipeName);
    const hidden = get<number>(values, 'hidden');
    const recipe: LmRecipe = {
      ...base,
      model: {
        ...base.model,
        ...(hidden === undefined ? {} : { hiddenSize: hidden, embeddingSize: hidden }),
        ...(values.has('dropout') ? { dropout: get<number>(values, 'dropout') as number } : {}),
        ...(get<boolean>(values, 'tied') ? { tied: true } : {}),
      },
      ...(values.has('batch') ? { batch: get<number>(values, 'batch') as number } : {}),
      ...(values.has('epochs') ? { epochs: get<number>(values, 'epochs') as number } : {}),
      ...(values.has('lr') ? { learningRate: get<number>(values, 'lr') as number } : {}),
    };
    checkStepCells(recipe.batch * recipe.unroll * recipe.model.hiddenSize * recipe.model.layers, '--batch × unroll × --hidden × layers');
    const lstmInfo: LstmRunInfo = { ...common, model: 'lstm', recipeName, recipe };
    info = lstmInfo;
    const init = initFile && lmFromSafetensors(initFile.bytes, initFile.record.file);
    fresh = (corpus) => LM_KINDS.lstm.fresh(lstmInfo, corpus, checkpointPath, init);
  }
  const corpus = await loadRunCorpus(info);
  const trainer = fresh(corpus);
  prepareRunFolder(out, '--out', defaultOut);
  await writeText(join(out, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
  await writeText(join(out, 'curve.csv'), CURVE_HEADER);
  await writeText(join(out, 'epochs.csv'), EPOCHS_HEADER);
  return { info, corpus, trainer };
}

/** A run's texts, with the vocabulary it was trained with (every word of its training text, or its most frequent). */
function loadRunCorpus(info: LmRunInfo): Promise<LmCorpus> {
  return loadTextCorpus(info.data, info.vocabularySize === undefined ? {} : { vocabularySize: info.vocabularySize });
}

/** The options that only one kind of language model takes. */
const LSTM_ONLY = ['recipe', 'hidden', 'dropout', 'tied'] as const;
const MEMNET_ONLY = ['hops', 'memory', 'embedding'] as const;

/** Trains a language model: `engram train lm`. Returns the exit code. */
export async function trainLmCommand(values: OptionValues, io: LmIO): Promise<number> {
  const kind = get<string>(values, 'model') ?? 'lstm';
  const out = get<string>(values, 'out') ?? join('runs', kind === 'memnet' ? 'lm-memnet' : `lm-${get<string>(values, 'recipe') ?? 'small'}`);
  const resume = get<boolean>(values, 'resume') === true;
  const checkpointPath = join(out, 'checkpoint.safetensors');
  if (existsSync(out) && !lstatSync(out).isDirectory()) throw new EngramError(`--out: ${out} exists and is not a folder`);
  if (
    resume &&
    [...LSTM_ONLY.filter((n) => n !== 'recipe'), ...MEMNET_ONLY, 'model', 'seed', 'data', 'vocabulary', 'init', 'lr', 'batch'].some((name) =>
      given(values, name),
    )
  )
    throw new EngramError(
      '--resume continues the run as it was: --model, --hidden, --dropout, --tied, --hops, --memory, --embedding, --seed, --data, --vocabulary, --init, --lr and --batch come from the run and cannot be given',
    );
  const misplaced = (kind === 'memnet' ? LSTM_ONLY : MEMNET_ONLY).filter((name) => given(values, name));
  if (!resume && misplaced.length > 0) throw new EngramError(`--${misplaced[0]} is not an option of --model ${kind}`);
  if (!resume && existsSync(checkpointPath) && get<boolean>(values, 'overwrite') !== true)
    throw new EngramError(`${out} already holds a run (checkpoint.safetensors): add --resume to continue it or --overwrite to start afresh`);

  const notes: string[] = [];
  const { info, trainer, corpus } = resume
    ? await resumeRun(out, checkpointPath, values, notes)
    : await newRun(out, values, !values.has('out'), checkpointPath);
  const curvePath = join(out, 'curve.csv');
  const epochsPath = join(out, 'epochs.csv');
  const at = trainer.resumedAt;
  if (at) {
    // Rows written after the checkpoint (a run killed before it could save) are dropped.
    await keepCsvRows(curvePath, CURVE_HEADER, (f) => Number(f[0]) <= at.step);
    await keepCsvRows(epochsPath, EPOCHS_HEADER, (f) => Number(f[0]) < at.history.length);
    io.log(
      `resumed ${checkpointPath} at step ${count(at.step)}, epoch ${at.epoch + 1}, ${count(at.tokens)} words${notes.length ? `; ${notes.join('; ')}` : ''}`,
    );
  }
  const threads = Math.min(info.threads ?? 1, trainer.maxThreads);
  if (info.init) io.log(`weights from ${info.init.file} (sha256 ${info.init.sha256.slice(0, 16)}…)`);
  io.log(`${trainer.header}; backend ${getDefaultBackend().description}; ${threads} thread${threads > 1 ? 's' : ''}`);
  // Words the vocabulary does not have (a --vocabulary size, or validation words not in the training text) are named.
  const unknown = (split: 'train' | 'valid') => (corpus.unknown[split] > 0 ? ` (${count(corpus.unknown[split])} as <unk>)` : '');
  io.log(
    `training text ${count(corpus.train.length)} words${unknown('train')}, validation ${count(corpus.valid.length)}${unknown('valid')}; Ctrl-C saves a checkpoint; continue with --resume`,
  );

  const maxSteps = get<number>(values, 'max-steps');
  const startTokens = at?.tokens ?? 0;
  const started = performance.now();
  let lastLog = 0;
  let step = at?.step ?? 0;
  let lastValid = Number.NaN;
  // Epochs finished, recorded in results.json: fewer than the cap means the run stopped by its recipe's rule (η < its minimum).
  let epochsDone = at?.history.length ?? 0;
  // The model with the best validation perplexity so far is kept beside the checkpoint (best.safetensors).
  const bestPath = join(out, 'best.safetensors');
  let best = (at?.history ?? []).reduce((b, e) => (e.validPerplexity < b.validPerplexity ? e : b), {
    epoch: -1,
    validPerplexity: Number.POSITIVE_INFINITY,
  });
  const outcome = await trainer.train(
    {
      checkpointEvery: get<number>(values, 'checkpoint-every') ?? 200,
      shouldStop: () => io.interrupted() || (maxSteps !== undefined && step >= maxSteps),
      onStep: async (r) => {
        step = r.step;
        await appendText(
          curvePath,
          `${r.step},${r.epoch},${r.tokens},${r.seconds.toFixed(2)},${r.loss.toFixed(5)},${r.epochPerplexity.toFixed(3)},${r.learningRate},${r.gradientNorm.toFixed(4)}\n`,
        );
        const wordsPerSecond = (r.tokens - startTokens) / Math.max(1e-9, (performance.now() - started) / 1000);
        io.status(progressLine(r, trainer, wordsPerSecond));
      },
      onEvaluateProgress: (done, total) => {
        if (performance.now() - lastLog > 1000) {
          lastLog = performance.now();
          io.status(`validating: ${((done / total) * 100).toFixed(0)}%`);
        }
      },
      onEpoch: async (e) => {
        lastValid = e.validPerplexity;
        epochsDone = e.epoch + 1;
        if (e.validPerplexity < best.validPerplexity) {
          best = e;
          await trainer.save(bestPath);
        }
        await appendText(epochsPath, `${e.epoch},${e.learningRate},${e.trainPerplexity.toFixed(3)},${e.validPerplexity.toFixed(3)},${e.seconds.toFixed(1)}\n`);
        io.log(
          `epoch ${e.epoch + 1}: η ${Number(e.learningRate.toPrecision(4))}, train perplexity ${e.trainPerplexity.toFixed(2)}, validation ${e.validPerplexity.toFixed(2)} (${formatDuration(e.seconds)})`,
        );
      },
    },
    threads,
  );
  await plotLmCurve(out, info.model === 'memnet' ? 'MemN2N LM on Penn Treebank' : `LSTM LM '${info.recipeName}' on Penn Treebank`);
  if (outcome.kind === 'non-finite') {
    io.log(
      `\n${outcome.message}. ${existsSync(checkpointPath) ? `The last good checkpoint is kept at ${checkpointPath}.` : 'No checkpoint had been written yet.'}`,
    );
    return 1;
  }
  if (outcome.kind === 'interrupted') {
    io.log(`\nstopped at step ${count(outcome.step)}: checkpoint saved; continue with: engram train lm --out ${out} --resume`);
    return io.interrupted() ? 130 : 0;
  }
  await trainer.save(join(out, 'model.safetensors'));
  const t0 = performance.now();
  const test = await trainer.evaluate(corpus.test);
  const bestTest = !existsSync(bestPath) || best.validPerplexity === lastValid ? test : await trainer.evaluate(corpus.test, bestPath);
  await writeText(
    join(out, 'results.json'),
    `${JSON.stringify(
      {
        epochs: epochsDone,
        // Whether the recipe's rule ended the run (the MemN2N LM: η below its minimum) before its epoch cap.
        stoppedByRule: trainer.epochsAtMost && epochsDone < trainer.epochs,
        validPerplexity: lastValid,
        testPerplexity: test.perplexity,
        testWords: test.tokens,
        ...(test.fullMemory && test.fullMemory.tokens > 0 ? { testPerplexityFullMemory: test.fullMemory.perplexity } : {}),
        best: {
          epoch: best.epoch + 1,
          validPerplexity: best.validPerplexity,
          testPerplexity: bestTest.perplexity,
          ...(bestTest.fullMemory && bestTest.fullMemory.tokens > 0 ? { testPerplexityFullMemory: bestTest.fullMemory.perplexity } : {}),
        },
      },
      null,
      2,
    )}\n`,
  );
  io.log(
    `\nfinished: test perplexity ${test.perplexity.toFixed(2)}${fullMemoryNote(test)} (${count(test.tokens)} words, ${formatDuration((performance.now() - t0) / 1000)}); ` +
      `best validation ${best.validPerplexity.toFixed(2)} after epoch ${best.epoch + 1}, its test perplexity ${bestTest.perplexity.toFixed(2)}${fullMemoryNote(bestTest)} (best.safetensors)\n` +
      `files in ${out}: model.safetensors, best.safetensors, checkpoint.safetensors, curve.csv, epochs.csv, curve.svg, results.json`,
  );
  return 0;
}
/** ", X over the words with a full memory" for a MemN2N's evaluation (none in a text shorter than the memory); nothing for an LSTM's. */
const fullMemoryNote = (e: { fullMemory?: { perplexity: number; tokens: number } }): string => {
  if (!e.fullMemory) return '';
  return e.fullMemory.tokens > 0
    ? `, ${e.fullMemory.perplexity.toFixed(2)} over the words with a full memory`
    : ', no word with a full memory (the text is shorter than the memory)';
};

/** A table cell for the perplexity over the words with a full memory: "none" in a text shorter than the memory. */
const fullMemoryCell = (score: { perplexity: number; tokens: number }): string =>
  score.tokens > 0 ? score.perplexity.toFixed(2) : 'none (the text is shorter than the memory)';

/** Draws perplexity against training words: the training perplexity (per 50 steps) and validation after each epoch. */
export async function plotLmCurve(out: string, title: string): Promise<void> {
  const rows = (await readFile(join(out, 'curve.csv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => l.split(',').map(Number));
  const epochs = (await readFile(join(out, 'epochs.csv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => l.split(',').map(Number));
  const every = Math.max(1, Math.ceil(rows.length / 1500));
  const window = 50;
  const train: [number, number][] = [];
  rows.forEach((r, i) => {
    if (i % every !== 0 && i !== rows.length - 1) return;
    const slice = rows.slice(Math.max(0, i - window + 1), i + 1);
    train.push([r[2] as number, Math.exp(slice.reduce((a, s) => a + (s[4] as number), 0) / slice.length)]);
  });
  const wordsPerEpoch = rows.length > 0 ? (rows[rows.length - 1]?.[2] as number) / Math.max(1e-9, (rows[rows.length - 1]?.[1] as number) + 1) : 0;
  const valid: [number, number][] = epochs.map((e) => [((e[0] as number) + 1) * wordsPerEpoch, e[3] as number]);
  await writeText(
    join(out, 'curve.svg'),
    lineChart(title, 'training words', 'perplexity (log scale)', [
      { label: `training windows (mean loss of ${window})`, color: '#1f77b4', points: train },
      { label: 'validation, after each epoch', color: '#d62728', points: valid },
    ]),
  );
}

/** A language model of either kind, as read from a file. */
type AnyLm = { kind: 'lstm'; model: LmModel; vocabulary: LmVocabulary } | { kind: 'memnet'; model: MemnetModel; vocabulary: LmVocabulary };

/** Reads an LSTM or MemN2N language model (or the model in a checkpoint), by the file's format tag. */
async function loadAnyLm(path: string): Promise<AnyLm> {
  const { metadata } = await loadSafetensorsFile(path);
  if (Object.hasOwn(metadata, 'format') && metadata.format === MEMNET_LM_FORMAT) return { kind: 'memnet', ...(await loadMemnetLm(path)) };
  return { kind: 'lstm', ...(await loadLm(path)) };
}

/** A model from a run folder (its model.safetensors, else its checkpoint) or a model file. */
async function loadAnyLmRun(path: string): Promise<AnyLm & { data: string | undefined }> {
  if (path.endsWith('.safetensors')) return { ...(await loadAnyLm(path)), data: undefined };
  const info = await readRunInfo(path);
  const file = existsSync(join(path, 'model.safetensors')) ? join(path, 'model.safetensors') : join(path, 'checkpoint.safetensors');
  if (!existsSync(file)) throw new EngramError(`${path}: no model.safetensors or checkpoint.safetensors`);
  return { ...(await loadAnyLm(file)), data: info.data };
}

/** An LSTM language model from a run folder or file; the commands that read its hidden states (the cache, kNN) need one. */
async function loadLmRun(path: string, what: string): Promise<{ model: LmModel; vocabulary: LmVocabulary; data: string | undefined }> {
  const run = await loadAnyLmRun(path);
  if (run.kind !== 'lstm') throw new EngramError(`${what} reads an LSTM's hidden states: ${path} holds a MemN2N language model`);
  return run;
}

async function corpusFor(run: { vocabulary: LmVocabulary; data: string | undefined }, data: string | undefined, io: Pick<LmIO, 'log'>): Promise<LmCorpus> {
  const folder = data ?? run.data ?? 'data/ptb';
  // The texts are read with the model's words: a word it does not have counts as <unk>, and the count is reported.
  const corpus = await loadTextCorpus(folder, { vocabulary: run.vocabulary });
  for (const split of ['valid', 'test'] as const) {
    const unknown = corpus.unknown[split];
    if (unknown > 0)
      io.log(
        `${folder}: ${count(unknown)} of the ${split === 'valid' ? 'validation' : 'test'} text's ${count(corpus[split].length)} words are not the model's and count as <unk>`,
      );
  }
  return corpus;
}

function parseSizes(text: string | undefined): number[] {
  if (text === undefined) return [];
  return text.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new EngramError(`--cache: expected sizes such as 100,500,2000 (1 to 100000), got '${s}'`);
    return n;
  });
}

/** `engram eval` for a language model: validation and test perplexity, alone and with each cache size. */
export async function evalLmCommand(values: OptionValues, io: Pick<LmIO, 'log' | 'status'>): Promise<number> {
  const runPath = get<string>(values, 'run') ?? '';
  const progress = (what: string) => (done: number, total: number) => io.status(`${what}: ${((done / total) * 100).toFixed(0)}%`);
  const any = await loadAnyLmRun(runPath);
  if (any.kind === 'memnet') {
    if (values.has('cache') || values.has('knn')) throw new EngramError("--cache and --knn read an LSTM's hidden states; this run is a MemN2N language model");
    const corpus = await corpusFor(any, get<string>(values, 'data'), io);
    const t0 = performance.now();
    const valid = evaluateMemnetLm(any.model, corpus.valid, { onProgress: progress('validation text') });
    const test = evaluateMemnetLm(any.model, corpus.test, { onProgress: progress('test text') });
    const seconds = (performance.now() - t0) / 1000;
    io.log(
      `${runPath}: ${count(valid.tokens)} validation and ${count(test.tokens)} test words, ${formatDuration(seconds)} (${count((valid.tokens + test.tokens) / seconds)} words/s)`,
    );
    const c = any.model.config;
    io.log('| model | words predicted | validation perplexity | test perplexity |\n|---|---|---|---|');
    io.log(
      `| MemN2N LM, ${c.hops} hops, memory ${count(c.memorySize)} | every word after the first | ${valid.perplexity.toFixed(2)} | ${test.perplexity.toFixed(2)} |`,
    );
    io.log(
      `| MemN2N LM, ${c.hops} hops, memory ${count(c.memorySize)} | those with ${count(c.memorySize)} words before them (the paper's test) | ${fullMemoryCell(valid.fullMemory)} | ${fullMemoryCell(test.fullMemory)} |`,
    );
    return 0;
  }
  const run = any;
  const corpus = await corpusFor(run, get<string>(values, 'data'), io);
  const sizes = parseSizes(get<string>(values, 'cache'));
  const t0 = performance.now();
  const valid = runText(run.model, corpus.valid, { onProgress: progress('validation text') });
  const test = runText(run.model, corpus.test, { onProgress: progress('test text') });
  const seconds = (performance.now() - t0) / 1000;
  const perplexity = (r: typeof valid) => Math.exp(-r.modelProbability.reduce((a, p) => a + Math.log(p), 0) / r.tokens);
  io.log(
    `${runPath}: ${count(valid.tokens)} validation and ${count(test.tokens)} test words, ${formatDuration(seconds)} (${count((valid.tokens + test.tokens) / seconds)} words/s)`,
  );
  io.log('| memory | validation perplexity | test perplexity | θ | λ |\n|---|---|---|---|---|');
  io.log(`| none | ${perplexity(valid).toFixed(2)} | ${perplexity(test).toFixed(2)} | | |`);
  for (const size of sizes) {
    io.status(`cache ${size}: choosing θ and λ on validation`);
    const [best] = bestPerSize(cacheGrid(valid, { sizes: [size] }));
    if (best === undefined) continue;
    const [onTest] = cacheGrid(test, { sizes: [size], thetas: [best.theta], lambdas: [best.lambda] });
    io.log(`| neural cache, ${count(size)} | ${best.perplexity.toFixed(2)} | ${onTest?.perplexity.toFixed(2)} | ${best.theta} | ${best.lambda} |`);
  }
  const k = get<number>(values, 'knn');
  if (k !== undefined) await knnRows(values, { runPath, model: run.model, corpus, valid, test, k, sizes }, io);
  return 0;
}

const KNN_LAMBDAS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5];

/** The saved datastore beside the model, or a new one (built over the training text, indexed, saved). */
async function datastoreFor(path: string, model: LmModel, corpus: LmCorpus, values: OptionValues, io: Pick<LmIO, 'log' | 'status'>): Promise<DatastoreFile> {
  const useIndex = get<string>(values, 'index') !== 'exact';
  let loaded: DatastoreFile | null = null;
  if (existsSync(path) && get<boolean>(values, 'rebuild') !== true) {
    const t0 = performance.now();
    loaded = await loadDatastore(path, model);
    io.log(`datastore ${path}: ${count(loaded.store.count)} entries × ${loaded.store.width}, loaded in ${formatDuration((performance.now() - t0) / 1000)}`);
    if (!useIndex || loaded.index !== null) return loaded;
  }
  const dtype = get<'f32' | 'f16'>(values, 'datastore-dtype') ?? 'f32';
  let store = loaded?.store;
  if (store === undefined) {
    const t0 = performance.now();
    const streams = get<number>(values, 'datastore-streams') ?? 1;
    store = buildDatastore(model, corpus.train, { streams, onProgress: (d, t) => io.status(`building the datastore: ${((d / t) * 100).toFixed(0)}%`) });
    io.log(
      `datastore built: ${count(store.count)} entries (the training text read as ${streams} stream${streams > 1 ? 's' : ''}) × ${store.width} in ${formatDuration((performance.now() - t0) / 1000)}`,
    );
  }
  let index: IvfIndex | null = null;
  if (useIndex) {
    const t0 = performance.now();
    io.status('building the IVF index (k-means)');
    const indexed = buildIvfIndex(store, new Random(1));
    store = indexed.store;
    index = indexed.index;
    io.log(`IVF index: ${count(index.lists)} cells by k-means, ${formatDuration((performance.now() - t0) / 1000)}`);
  }
  const bytes = store.count * store.width * (dtype === 'f16' ? 2 : 4) + store.count * 4;
  await saveDatastore(path, store, { dtype, ...(index ? { index } : {}) });
  io.log(
    `saved ${path}: ${(bytes / 2 ** 20).toFixed(0)} MiB of keys and values (${dtype}); in memory ${((store.count * store.width * 4) / 2 ** 20).toFixed(0)} MiB (float32)`,
  );
  return { store, index };
}

/** The kNN-LM rows of `engram eval`: the datastore (built and saved once), the search, λ on validation, and the cache on top. */
async function knnRows(
  values: OptionValues,
  context: { runPath: string; model: LmModel; corpus: LmCorpus; valid: TextRun; test: TextRun; k: number; sizes: number[] },
  io: Pick<LmIO, 'log' | 'status'>,
): Promise<void> {
  const { runPath, model, corpus, valid, test, k } = context;
  const path = datastorePath(runPath);
  const useIndex = get<string>(values, 'index') !== 'exact';
  const { store, index } = await datastoreFor(path, model, corpus, values, io);
  const probes = get<number>(values, 'probes') ?? 32;
  const search = (queries: Float32Array, label: string) => {
    io.status(`kNN search over ${label}`);
    return useIndex && index
      ? ivfNeighbours(store, index, queries, k, probes)
      : exactNeighbours(store, queries, k, { onProgress: (d, t) => io.status(`exact kNN over ${label}: ${((d / t) * 100).toFixed(0)}%`) });
  };
  let t0 = performance.now();
  const validNeighbours = search(valid.hidden, 'validation');
  const queryMs = (performance.now() - t0) / valid.tokens;
  const recallQueries = Math.min(get<number>(values, 'recall-queries') ?? 500, valid.tokens);
  let recallNote = 'exact search';
  if (useIndex && recallQueries > 0) {
    t0 = performance.now();
    const exact = exactNeighbours(store, valid.hidden.subarray(0, recallQueries * store.width), k);
    const exactMs = (performance.now() - t0) / recallQueries;
    const approx: Neighbours = {
      k,
      indices: validNeighbours.indices.subarray(0, recallQueries * k),
      distances: validNeighbours.distances.subarray(0, recallQueries * k),
    };
    recallNote = `IVF, ${probes} of ${index?.lists} cells: recall@${k} ${neighbourRecall(exact, approx).toFixed(3)} against exact search on ${recallQueries} validation queries (exact: ${exactMs.toFixed(1)} ms per query)`;
  }
  const validKnn = knnProbabilities(store, validNeighbours, valid.targets);
  const best = knnPerplexities(valid, validKnn, KNN_LAMBDAS).reduce((a, b) => (b.perplexity < a.perplexity ? b : a));
  const testNeighbours = search(test.hidden, 'test');
  const testKnn = knnProbabilities(store, testNeighbours, test.targets);
  const [onTest] = knnPerplexities(test, testKnn, [best.lambda]);
  io.log(`| kNN-LM, k = ${k} | ${best.perplexity.toFixed(2)} | ${onTest?.perplexity.toFixed(2)} | | ${best.lambda} |`);
  // Both memories: the cache on top of the kNN-interpolated model, θ and λ_cache chosen on validation.
  const mixed = (run: TextRun, pKnn: Float64Array): TextRun => ({
    ...run,
    modelProbability: run.modelProbability.map((p, t) => interpolate(p, pKnn[t] as number, best.lambda)),
  });
  const size = context.sizes.length > 0 ? Math.max(...context.sizes) : 2000;
  const [both] = bestPerSize(cacheGrid(mixed(valid, validKnn), { sizes: [size] }));
  if (both) {
    const [bothTest] = cacheGrid(mixed(test, testKnn), { sizes: [size], thetas: [both.theta], lambdas: [both.lambda] });
    io.log(
      `| kNN-LM + neural cache ${count(size)} | ${both.perplexity.toFixed(2)} | ${bothTest?.perplexity.toFixed(2)} | ${both.theta} | ${both.lambda} (cache; kNN ${best.lambda}) |`,
    );
  }
  io.log(`kNN: ${recallNote}; ${queryMs.toFixed(2)} ms per query (validation, ${count(valid.tokens)} queries)`);
}

/** `engram tune`: the θ × λ grid of validation perplexity for one cache size. */
export async function tuneLmCommand(values: OptionValues, io: Pick<LmIO, 'log' | 'status'>): Promise<number> {
  const run = await loadLmRun(get<string>(values, 'run') ?? '', 'engram tune');
  const corpus = await corpusFor(run, get<string>(values, 'data'), io);
  const size = get<number>(values, 'cache') ?? 2000;
  const valid = runText(run.model, corpus.valid, { onProgress: (d, t) => io.status(`validation text: ${((d / t) * 100).toFixed(0)}%`) });
  const grid = cacheGrid(valid, { sizes: [size] });
  const thetas = [...new Set(grid.map((p) => p.theta))];
  const lambdas = [...new Set(grid.map((p) => p.lambda))];
  io.log(`validation perplexity with a neural cache of ${count(size)} (rows θ, columns λ; λ = 0 is the model alone)`);
  io.log(`| θ \\ λ | ${lambdas.join(' | ')} |\n|---|${lambdas.map(() => '---').join('|')}|`);
  for (const theta of thetas)
    io.log(`| ${theta} | ${lambdas.map((l) => grid.find((p) => p.theta === theta && p.lambda === l)?.perplexity.toFixed(2)).join(' | ')} |`);
  const [best] = bestPerSize(grid);
  if (best) io.log(`best: θ ${best.theta}, λ ${best.lambda}: ${best.perplexity.toFixed(2)}`);
  return 0;
}

/** `--text` as words: Penn Treebank's form, or split at spaces (`--tokenize spaces`). */
function textTokens(values: OptionValues): string[] {
  const text = get<string>(values, 'text');
  if (text === undefined) throw new EngramError('--text is required');
  const tokens = get<string>(values, 'tokenize') === 'spaces' ? text.split(/\s+/).filter((w) => w.length > 0) : ptbTokens(text);
  if (tokens.length === 0) throw new EngramError('--text: the text has no words');
  return tokens;
}

/** `engram complete`: the next-word distribution after a text, with and without the cache, and what the cache recalled. */
export async function completeLmCommand(values: OptionValues, io: Pick<LmIO, 'log'>): Promise<number> {
  const tokens = textTokens(values);
  const any = await loadAnyLmRun(get<string>(values, 'run') ?? '');
  if (any.kind === 'memnet') return completeWithMemnet(values, any, tokens, io);
  const run = any;
  const { ids, unknown } = run.vocabulary.encode(tokens);
  const size = get<number>(values, 'cache') ?? 2000;
  const result = completeText(run.model, ids, {
    size,
    theta: get<number>(values, 'theta') ?? 0.3,
    lambda: get<number>(values, 'lambda') ?? 0.1,
    top: get<number>(values, 'top') ?? 10,
  });
  const w = (id: number) => run.vocabulary.word(id);
  if (unknown > 0) io.log(`${unknown} word${unknown > 1 ? 's' : ''} outside the vocabulary read as <unk>`);
  io.log('| rank | model alone | p | with the cache | p |\n|---|---|---|---|---|');
  result.model.forEach((m, i) => {
    const c = result.withCache[i];
    io.log(`| ${i + 1} | ${w(m.id)} | ${m.probability.toFixed(4)} | ${c ? w(c.id) : ''} | ${c ? c.probability.toFixed(4) : ''} |`);
  });
  io.log('\nwhat the cache recalled (earlier position → the word that followed it, weight):');
  for (const r of result.recalled) io.log(`  ${r.position}: '${tokens[r.position]}' → '${w(r.next)}'  ${r.weight.toFixed(4)}`);
  const k = get<number>(values, 'knn');
  if (k !== undefined) await completeWithKnn(values, { run, ids, k, top: get<number>(values, 'top') ?? 10 }, io);
  return 0;
}

/** `engram complete` for a MemN2N language model: the next words and each hop's attention over the previous words. */
function completeWithMemnet(values: OptionValues, run: { model: MemnetModel; vocabulary: LmVocabulary }, tokens: string[], io: Pick<LmIO, 'log'>): number {
  if (values.has('knn')) throw new EngramError("--knn reads an LSTM's hidden states; this run is a MemN2N language model");
  printMemnetInspection(values, run, tokens, io);
  return 0;
}

/** Prints the next words after `tokens` and each hop's heaviest attention; returns the inspection. */
function printMemnetInspection(
  values: OptionValues,
  run: { model: MemnetModel; vocabulary: LmVocabulary },
  tokens: string[],
  io: Pick<LmIO, 'log'>,
): MemnetLmInspection {
  const { ids, unknown } = run.vocabulary.encode(tokens);
  const top = get<number>(values, 'top') ?? 10;
  const seen = inspectMemnetLm(run.model, ids, top);
  const w = (id: number) => run.vocabulary.word(id);
  if (unknown > 0) io.log(`${unknown} word${unknown > 1 ? 's' : ''} outside the vocabulary read as <unk>`);
  const n = run.model.config.memorySize;
  if (ids.length < n) {
    io.log(
      `note: the text has ${count(ids.length)} words and the model was trained with a full memory of ${count(n)}; the other ${count(n - ids.length)} slots are empty memories, and it predicts worse from fewer words (give it more text)`,
    );
  }
  io.log('| rank | next word | p |\n|---|---|---|');
  for (const [i, m] of seen.top.entries()) io.log(`| ${i + 1} | ${w(m.id)} | ${m.probability.toFixed(4)} |`);
  io.log(
    `\neach hop's attention over the previous ${count(seen.hops[0]?.positions.length ?? 0)} words (the ${Math.min(top, 10)} it weighed most, heaviest first):`,
  );
  seen.hops.forEach((hop, k) => {
    const order = hop.weights.map((weight, i) => ({ weight, position: hop.positions[i] as number })).sort((a, b) => b.weight - a.weight);
    const empty = hop.empty > 0 ? ` (the empty memories: ${hop.empty.toFixed(3)})` : '';
    io.log(
      `  hop ${k + 1}: ${order
        .slice(0, Math.min(top, 10))
        .map((o) => `'${tokens[o.position]}'@${o.position} ${o.weight.toFixed(3)}`)
        .join(', ')}${empty}`,
    );
  });
  return seen;
}

/**
 * Each hop's attention over the previous words as an SVG figure: one row per word (the oldest at the top, the last
 * before the predicted word at the bottom, then the empty memories when the text is shorter than the memory), one
 * column per hop, each shaded by its own heaviest weight (darkest), so that a hop that spreads its attention thin still
 * shows where it looks.
 * @param seen - the inspection of the position after `tokens`
 * @param tokens - the text's words
 * @param title - the figure's title
 */
export function renderMemnetAttentionSvg(seen: MemnetLmInspection, tokens: readonly string[], title: string): string {
  const cell = 14;
  const labelWidth = 150;
  const top = 44;
  const positions = seen.hops[0]?.positions ?? [];
  const empty = seen.hops.some((hop) => hop.empty > 0);
  // The heatmap draws each hop as a column of the picture: its weights by position, then the empty memories.
  const columns = seen.hops.map((hop) => {
    const column = [...hop.weights, ...(empty ? [hop.empty] : [])];
    const max = Math.max(1e-12, ...column);
    return column.map((v) => v / max);
  });
  const drawn = heatmap('', columns, labelWidth, top, cell);
  const label = (text: string, row: number) =>
    `<text x="${labelWidth - 4}" y="${top + row * cell + cell - 2}" font-size="10" font-family="sans-serif" text-anchor="end">${escapeXml(text)}</text>`;
  const labels = positions.map((p, row) => label(`${tokens[p] ?? ''} @${p}`, row));
  if (empty) labels.push(label('(empty memories)', positions.length));
  const hopNames = seen.hops.map(
    (_, k) => `<text x="${labelWidth + k * cell + cell / 2}" y="${top - 4}" font-size="9" font-family="sans-serif" text-anchor="middle">${k + 1}</text>`,
  );
  const header =
    `<text x="8" y="16" font-size="13" font-family="sans-serif">${escapeXml(title)}</text>` +
    `<text x="${labelWidth}" y="${top - 16}" font-size="10" font-family="sans-serif">hop (each shaded by its heaviest weight)</text>`;
  const width = Math.max(labelWidth + seen.hops.length * cell + 20, 8 + title.length * 7);
  return svgDocument(width, top + drawn.height + 12, header + hopNames.join('') + labels.join('') + drawn.svg, title);
}

/**
 * `engram show` for a language-model run: a memory network's next words after `--text` and each hop's attention over
 * the words before, printed and drawn (SVG). An LSTM has no attention to draw: `engram complete` shows its cache.
 * Returns the figure's path and contents for the caller to write.
 */
export async function showLmCommand(values: OptionValues, io: Pick<LmIO, 'log'>): Promise<{ out: string; svg: string }> {
  const tokens = textTokens(values);
  const runPath = get<string>(values, 'run') ?? '';
  const any = await loadAnyLmRun(runPath);
  if (any.kind !== 'memnet')
    throw new EngramError(
      `engram show draws a memory network's attention; ${runPath} is an LSTM language model: engram complete --run ${runPath} --text ... shows what its cache recalls`,
    );
  const seen = printMemnetInspection(values, any, tokens, io);
  const next = seen.top[0] === undefined ? '' : ` (most likely next: '${any.vocabulary.word(seen.top[0].id)}')`;
  const c = any.model.config;
  const title = `MemN2N LM, ${c.hops} hops, memory ${count(c.memorySize)}: attention before the next word${next}`;
  const out =
    get<string>(values, 'out') ?? (runPath.endsWith('.safetensors') ? `${runPath.slice(0, -'.safetensors'.length)}.show.svg` : join(runPath, 'show.svg'));
  return { out, svg: renderMemnetAttentionSvg(seen, tokens, title) };
}

/** The kNN part of `engram complete`: the next words with the kNN memory and the training contexts it drew on. */
async function completeWithKnn(
  values: OptionValues,
  context: { run: { model: LmModel; vocabulary: LmVocabulary; data: string | undefined }; ids: Int32Array; k: number; top: number },
  io: Pick<LmIO, 'log'>,
): Promise<void> {
  const { run, ids, k, top } = context;
  const runPath = get<string>(values, 'run') ?? '';
  const path = datastorePath(runPath);
  if (!existsSync(path)) throw new EngramError(`--knn: no datastore at ${path}; build it once with: engram eval --run ${runPath} --knn ${k}`);
  const { store, index } = await loadDatastore(path, run.model);
  const state = nextWordState(run.model, ids);
  const neighbours = index ? ivfNeighbours(store, index, state.hidden, k, get<number>(values, 'probes') ?? 32) : exactNeighbours(store, state.hidden, k);
  const recalled = knnRecall(store, neighbours);
  const lambda = get<number>(values, 'knn-lambda') ?? 0.25;
  const pKnn = new Map<number, number>();
  for (const r of recalled) pKnn.set(r.next, (pKnn.get(r.next) ?? 0) + r.weight);
  const mixed = topWords((id) => interpolate(state.probabilities[id] as number, pKnn.get(id) ?? 0, lambda), state.probabilities.length, top);
  const w = (id: number) => run.vocabulary.word(id);
  io.log(`\nwith the kNN memory (k = ${k}, λ = ${lambda}):`);
  io.log(mixed.map((m, i) => `  ${i + 1}. ${w(m.id)} ${m.probability.toFixed(4)}`).join('\n'));
  // The training text, to show each context (when the folder is there).
  let train: Int32Array | null = null;
  const folder = get<string>(values, 'data') ?? run.data;
  if (folder !== undefined && existsSync(folder)) train = (await loadTextCorpus(folder, { vocabulary: run.vocabulary })).train;
  io.log('\nthe training contexts it drew on (nearest first: … context → the word that followed, weight):');
  for (const r of recalled.slice(0, top)) {
    const before =
      train && r.position >= 0 ? Array.from(train.subarray(Math.max(0, r.position - 5), r.position + 1), w).join(' ') : `training position ${r.position}`;
    io.log(`  … ${before} → '${w(r.next)}'  ${r.weight.toFixed(4)}`);
  }
}
