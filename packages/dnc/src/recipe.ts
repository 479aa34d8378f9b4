import { type AlgorithmicTaskName, algorithmicTask } from '@engram/datasets';
import { type NtmRecipe, type NtmTrainingSnapshot, freshNtmTraining, ntmOptimizer } from '@engram/ntm';
import { Random } from '@engram/tensor';
import { type DncConfig, defaultDncConfig } from './config.js';
import { type DncModel, createDnc, dncRecurrent } from './model.js';

/**
 * deepmind/dnc's training script: RMSProp η 1e-4 with ε 1e-10 (TensorFlow's: decay 0.9, no momentum,
 * not centered), the global gradient norm clipped to 50, batch 16.
 */
export const DNC_RECIPE: Readonly<NtmRecipe> = Object.freeze({
  optimizer: 'rmsprop',
  learningRate: 1e-4,
  momentum: 0,
  decay: 0.9,
  centered: false,
  epsilon: 1e-10,
  batch: 16,
  clipValue: 0,
  clipNorm: 50,
});

/** A new DNC with what `trainNtm` starts from. */
export interface NewDnc extends NtmTrainingSnapshot {
  /** The model. */
  model: DncModel;
}

/** What {@link newDnc} may be told. */
export interface NewDncOptions {
  /** The optimizer to build (default {@link DNC_RECIPE}). */
  recipe?: NtmRecipe;
  /** The task's options (widths decide the model's input and output sizes). */
  taskOptions?: Record<string, number | undefined>;
  /** The architecture beyond deepmind/dnc's defaults. */
  config?: Partial<DncConfig>;
}

/**
 * A fresh DNC for an algorithmic task (deepmind/dnc's sizes unless `config` says otherwise), its
 * optimizer and the training state to start from: the weights come from `seed`'s generator forked
 * once, and the data stream continues that generator (as `newNtm` does).
 * @param task - the algorithmic task, which decides the input and output widths
 * @param seed - the seed of the initial weights and of the data stream
 * @param options - the recipe, the task's options and config overrides
 * @example
 * ```ts
 * const { model, ...start } = newDnc('repeat-copy', 1);
 * await trainNtm(dncRecurrent(model), 'repeat-copy', { recipe: DNC_RECIPE, resume: start, maxSequences: 10_000 });
 * ```
 */
export function newDnc(task: AlgorithmicTaskName, seed: number, options: NewDncOptions = {}): NewDnc {
  const generator = algorithmicTask(task);
  const taskOptions = options.taskOptions ?? {};
  const rng = new Random(seed);
  const model = createDnc(defaultDncConfig(generator.inputWidth(taskOptions), generator.outputWidth(taskOptions), options.config ?? {}), rng.fork());
  return { model, optimizer: ntmOptimizer(dncRecurrent(model), options.recipe ?? DNC_RECIPE), training: freshNtmTraining(rng) };
}
