import {
  type AlgorithmicTaskName,
  DEFAULT_CURRICULUM,
  advanceCurriculum,
  algorithmicTask,
  curriculumCeiling,
  curriculumOptions,
  packSequences,
  type SequenceBatch,
  type SequenceTask,
  sampleBatch,
} from '@engram/datasets';
import { Adam, NonFiniteError, type Optimizer, RMSProp, Random, parameterList, eventYielder } from '@engram/tensor';
import type { TrainingState } from './persistence.js';
import { type NtmModel, createNtm } from './model.js';
import type { RecurrentMemoryModel, SequenceModel } from './recurrent.js';
import { defaultNtmConfig } from './config.js';
import { type SequenceGradients, type TrainBatchResult, evaluateBatch, trainBatch, trainBatchWith } from './train.js';

/** How an NTM is optimised: the optimizer, its settings, the batch and the clipping. */
export interface NtmRecipe {
  /** `rmsprop` (the paper's) or `adam` (Collier & Beel 2018). */
  optimizer: 'rmsprop' | 'adam';
  /** η. */
  learningRate: number;
  /** RMSProp's momentum (the paper: 0.9). */
  momentum: number;
  /** RMSProp's decay of the squared-gradient average (Graves 2013: 0.95). */
  decay: number;
  /** RMSProp: subtract the squared mean gradient (Graves 2013's centered variant; default true). */
  centered?: boolean;
  /** RMSProp's ε inside the square root (default 1e-4, Graves 2013; deepmind/dnc: 1e-10). */
  epsilon?: number;
  /** Sequences per step. */
  batch: number;
  /** Clip each gradient element to ±this (the paper: 10); 0 disables. */
  clipValue: number;
  /** Clip the global gradient norm to this; 0 disables. */
  clipNorm: number;
}

/**
 * The paper's recipe (Graves et al. 2014, §4): RMSProp η 1e-4 with momentum 0.9, one sequence per
 * step, gradients clipped element-wise to ±10. The CLI, the demo and the pretrained models use it.
 */
export const NTM_RECIPE: Readonly<NtmRecipe> = Object.freeze({
  optimizer: 'rmsprop',
  learningRate: 1e-4,
  momentum: 0.9,
  decay: 0.95,
  batch: 1,
  clipValue: 10,
  clipNorm: 0,
});

/**
 * The optimizer a recipe names, over the model's parameters.
 * @param model - the NTM, or any recurrent memory model
 * @param recipe - the optimizer and its settings (default the paper's RMSProp)
 */
export function ntmOptimizer(model: SequenceModel, recipe: NtmRecipe = NTM_RECIPE): Optimizer {
  const params = parameterList(model.params);
  return recipe.optimizer === 'adam'
    ? new Adam(params, recipe.learningRate)
    : new RMSProp(params, recipe.learningRate, {
        momentum: recipe.momentum,
        decay: recipe.decay,
        ...(recipe.centered === undefined ? {} : { centered: recipe.centered }),
        ...(recipe.epsilon === undefined ? {} : { epsilon: recipe.epsilon }),
      });
}

/** A new model with what {@link trainNtm} starts from. */
export interface NewNtm extends NtmTrainingSnapshot {
  /** The model. */
  model: NtmModel;
}

/** What {@link newNtm} may be told. */
export interface NewNtmOptions {
  /** The optimizer to build (default {@link NTM_RECIPE}). */
  recipe?: NtmRecipe;
  /** The task's options (widths decide the model's input and output sizes). */
  taskOptions?: Record<string, number | undefined>;
  /** The architecture beyond the paper's defaults. */
  config?: Parameters<typeof defaultNtmConfig>[2];
}

/**
 * A fresh NTM for a task with the paper's architecture (LSTM 100, memory 128 × 20, one read and one
 * write head unless `config` says otherwise), its optimizer, and the training state to start from:
 * the weights are drawn from `seed`'s generator forked once, and the data stream continues that
 * generator.
 * @param task - the algorithmic task, which decides the input and output widths
 * @param seed - the seed of the initial weights and of the data stream
 * @param options - the recipe, the task's options and config overrides
 */
export function newNtm(task: AlgorithmicTaskName, seed: number, options: NewNtmOptions = {}): NewNtm {
  const generator = algorithmicTask(task);
  const taskOptions = options.taskOptions ?? {};
  const rng = new Random(seed);
  const model = createNtm(defaultNtmConfig(generator.inputWidth(taskOptions), generator.outputWidth(taskOptions), options.config ?? {}), rng.fork());
  return { model, optimizer: ntmOptimizer(model, options.recipe ?? NTM_RECIPE), training: freshNtmTraining(rng) };
}

/** When held-out sequences are scored and when training counts the task as solved. */
export interface NtmEvaluationPlan {
  /** Score every this many steps, once the curriculum (if any) reaches the full range. */
  every: number;
  /** Held-out sequences, drawn once from their own stream (seed + 1,000,003). */
  size: number;
  /** Solved below this many error bits per sequence... */
  until: number;
  /** ...on this many evaluations in a row. */
  stable: number;
}

/** What one step reports. */
export interface NtmStepReport {
  /** Steps done. */
  step: number;
  /** Sequences trained on. */
  sequences: number;
  /** Training seconds in all (over every session). */
  seconds: number;
  /** Loss of this batch, nats per sequence. */
  loss: number;
  /** Error bits per sequence of this batch. */
  errorBits: number;
  /** Mean error bits of the recent batches (the curriculum's and the progress line's measure). */
  recentBits: number;
  /** Curriculum level (longest length allowed), or null without a curriculum. */
  level: number | null;
  /** True once the curriculum (if any) reached the full range. */
  atFullRange: boolean;
  /** Held-out error bits per sequence, when this step evaluated. */
  heldOutBits?: number;
}

/** How {@link trainNtm} ended, and at which step. */
export interface NtmTrainOutcome {
  /**
   * `solved`: held-out sequences met the goal; `budget`: `maxSequences` or `timeLimit` ran out;
   * `interrupted`: `shouldStop` said so; `non-finite`: a NaN or infinite loss or gradient (the weights are
   * those before that step).
   */
  kind: 'solved' | 'budget' | 'interrupted' | 'non-finite';
  /** Steps done (for `non-finite`: the step that failed). */
  step: number;
  /** The held-out error that met the goal (`solved` only). */
  heldOutBits?: number;
  /** What was not finite (`non-finite` only). */
  message?: string;
}

/** A snapshot to save: what `onCheckpoint` gets, and what `resume` takes. */
export interface NtmTrainingSnapshot {
  /** Where training stands. */
  training: TrainingState;
  /** The optimizer, whose state and learning rate go into the checkpoint. */
  optimizer: Optimizer;
}

/** Options of {@link trainNtm}. Hooks may be async; training waits for them. */
export interface TrainNtmOptions {
  /** The optimizer, clipping and batch (default {@link NTM_RECIPE}); `optimizer` is built from it unless resuming. */
  recipe?: NtmRecipe;
  /** The data stream's seed (default 1). */
  seed?: number;
  /** The task's options (lengths, widths) on top of the paper's defaults. */
  taskOptions?: Record<string, number | undefined>;
  /** Start on short sequences and lengthen them as the error falls (default false). */
  curriculum?: boolean;
  /** Held-out scoring and the stopping rule; `false` trains without them (the demo). */
  evaluation?: NtmEvaluationPlan | false;
  /** Stop after this many sequences (default ∞). */
  maxSequences?: number;
  /** Stop after this many training seconds (default ∞). */
  timeLimit?: number;
  /** `onCheckpoint` every this many steps (default 1000), and when training ends. */
  checkpointEvery?: number;
  /** Continue from a snapshot, exactly. */
  resume?: NtmTrainingSnapshot;
  /** Let other events through at least this often, in milliseconds (default 50). */
  yieldEveryMs?: number;
  /** After every step. */
  onStep?: (report: NtmStepReport) => void | Promise<void>;
  /** After each held-out evaluation (before `onStep` of the same step): the step and the error bits per sequence. */
  onEvaluate?: (evaluation: { step: number; heldOutBits: number }) => void | Promise<void>;
  /** With a snapshot to save. */
  onCheckpoint?: (snapshot: NtmTrainingSnapshot) => void | Promise<void>;
  /** Checked between steps: true stops with a checkpoint (Ctrl-C, a paused page). */
  shouldStop?: () => boolean;
  /** Computes each batch's gradients (default: on this thread; see `createNtmWorkers` from `@engram/ntm/workers` for every core). */
  gradients?: SequenceGradients;
}

/** Batches whose error bits the curriculum and the progress line average. */
const RECENT_WINDOW = 20;
/** The curriculum decides once it has this many recent batches. */
const CURRICULUM_MIN_BATCHES = 10;
/** Held-out sequences are scored this many at a time. */
const EVAL_CHUNK = 100;

/**
 * The held-out sequences: `size` drawn one after another from `rng` (the same sequences whatever the grouping), then
 * grouped by length into chunks of {@link EVAL_CHUNK}, so that a chunk's short sequences are not padded to a long
 * one's length. The error bits summed over the chunks are those of the sequences alone.
 */
function heldOutChunks<O>(task: SequenceTask<O>, rng: Random, size: number, options: O): SequenceBatch[] {
  const sequences = Array.from({ length: size }, () => task.sample(rng, options));
  sequences.sort((a, b) => a.inputs.length - b.inputs.length);
  const chunks: SequenceBatch[] = [];
  for (let from = 0; from < size; from += EVAL_CHUNK)
    chunks.push(packSequences(sequences.slice(from, from + EVAL_CHUNK), task.inputWidth(options), task.outputWidth(options)));
  return chunks;
}

/**
 * Trains an NTM (or any {@link RecurrentMemoryModel}, such as @engram/dnc's DNC) on an algorithmic task with a recipe: sampling batches from a seeded stream, an
 * optional length curriculum, held-out evaluation and the stopping rule (solved when `until` error
 * bits per sequence hold `stable` evaluations in a row), NaN/Inf detection, and a checkpoint
 * snapshot every `checkpointEvery` steps. Resumes exactly from a snapshot. Without `resume` it
 * starts from `seed`'s stream and builds the recipe's optimizer; {@link newNtm} makes both. The caller owns files,
 * printing and messages: this loop only calls the hooks.
 *
 * @param model - the NTM, or any recurrent memory model
 * @param task - the algorithmic task to train on
 * @param options - recipe, seed, stopping rule, curriculum, evaluation and checkpoint cadence, hooks, and `resume`
 * @example
 * ```ts
 * const { model, ...start } = newNtm('copy', 1);
 * const outcome = await trainNtm(model, 'copy', { resume: start, evaluation: { every: 1000, size: 1000, until: 0.01, stable: 3 } });
 * ```
 */
export async function trainNtm(model: SequenceModel, task: AlgorithmicTaskName, options: TrainNtmOptions = {}): Promise<NtmTrainOutcome> {
  const recipe = options.recipe ?? NTM_RECIPE;
  const seed = options.seed ?? 1;
  const taskOptions = options.taskOptions ?? {};
  const generator = algorithmicTask(task);
  const ceiling = curriculumCeiling(task, taskOptions);
  const useCurriculum = options.curriculum === true && ceiling > 0;
  const snapshot: NtmTrainingSnapshot = options.resume ?? {
    training: freshNtmTraining(new Random(seed)),
    optimizer: ntmOptimizer(model, recipe),
  };
  const { training, optimizer } = snapshot;
  const rng = Random.fromState(training.rngState);
  // A fresh run (no level saved yet) starts at the curriculum's first level.
  let level = useCurriculum ? (training.curriculumLevel ?? Math.min(DEFAULT_CURRICULUM.start, ceiling)) : ceiling;
  let recent = [...(training.recentBits ?? [])];
  let passes = training.passes ?? 0;
  const plan = options.evaluation === false || options.evaluation === undefined ? null : options.evaluation;
  const evalRng = new Random(seed + 1_000_003);
  const evalChunks = plan ? heldOutChunks(generator, evalRng, plan.size, taskOptions) : [];
  const heldOut = (): number => evalChunks.reduce((bits, chunk) => bits + evaluateBatch(model, chunk).errorBits * chunk.batch, 0) / (plan?.size ?? 1);
  const started = performance.now();
  const secondsBefore = training.seconds;
  const elapsed = () => secondsBefore + (performance.now() - started) / 1000;
  const maxSequences = options.maxSequences ?? Number.POSITIVE_INFINITY;
  const timeLimit = options.timeLimit ?? Number.POSITIVE_INFINITY;
  const checkpointEvery = options.checkpointEvery ?? 1000;
  const maybeYield = eventYielder(options.yieldEveryMs ?? 50);
  let lastCheckpoint = training.step;
  const checkpoint = async () => {
    Object.assign(training, { seconds: elapsed(), rngState: rng.state(), curriculumLevel: useCurriculum ? level : null, recentBits: [...recent], passes });
    lastCheckpoint = training.step;
    await options.onCheckpoint?.({ training, optimizer });
  };

  for (;;) {
    if (options.shouldStop?.()) {
      await checkpoint();
      return { kind: 'interrupted', step: training.step };
    }
    if (training.sequences >= maxSequences || elapsed() >= timeLimit) {
      await checkpoint();
      return { kind: 'budget', step: training.step };
    }
    const batch = sampleBatch(generator, rng, recipe.batch, useCurriculum ? curriculumOptions(task, level, taskOptions) : taskOptions);
    let result: TrainBatchResult;
    try {
      const clipping = { clipNorm: recipe.clipNorm, clipValue: recipe.clipValue, step: training.step + 1 };
      result = options.gradients ? await trainBatchWith(model, optimizer, options.gradients, batch, clipping) : trainBatch(model, optimizer, batch, clipping);
    } catch (error) {
      if (error instanceof NonFiniteError) return { kind: 'non-finite', step: training.step + 1, message: error.message };
      throw error;
    }
    training.step++;
    training.sequences += recipe.batch;
    recent.push(result.errorBits);
    if (recent.length > RECENT_WINDOW) recent.shift();
    const recentBits = recent.reduce((a, b) => a + b, 0) / recent.length;
    if (useCurriculum && level < ceiling && recent.length >= CURRICULUM_MIN_BATCHES) {
      const next = advanceCurriculum(level, recentBits, ceiling);
      if (next !== level) {
        level = next;
        recent = [];
      }
    }
    const atFullRange = !useCurriculum || level >= ceiling;
    const heldOutBits = plan && atFullRange && training.step % plan.every === 0 ? heldOut() : undefined;
    if (heldOutBits !== undefined) await options.onEvaluate?.({ step: training.step, heldOutBits });
    await options.onStep?.({
      step: training.step,
      sequences: training.sequences,
      seconds: elapsed(),
      loss: result.loss,
      errorBits: result.errorBits,
      recentBits,
      level: useCurriculum ? level : null,
      atFullRange,
      ...(heldOutBits === undefined ? {} : { heldOutBits }),
    });
    if (training.step - lastCheckpoint >= checkpointEvery) await checkpoint();
    if (plan && heldOutBits !== undefined) {
      passes = heldOutBits < plan.until ? passes + 1 : 0;
      if (passes >= plan.stable) {
        await checkpoint();
        return { kind: 'solved', step: training.step, heldOutBits };
      }
    }
    await maybeYield();
  }
}

/**
 * The training state at the start: step 0, the data stream continuing `rng` (the curriculum, if any, at its first level).
 * @param rng - the data stream's seeded random source (its state is saved in checkpoints)
 */
export function freshNtmTraining(rng: Random): TrainingState {
  return { step: 0, sequences: 0, seconds: 0, rngState: rng.state(), curriculumLevel: null, extra: {}, recentBits: [], passes: 0 };
}
