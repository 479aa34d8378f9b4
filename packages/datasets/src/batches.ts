import { EngramError, type Random } from '@engram/tensor';
import { type SequenceBatch, type SequenceTask, packSequences } from './sequence-batch.js';
import { ALGORITHMIC_TASKS, type AlgorithmicTaskName, type CopyOptions, type RepeatCopyOptions } from './tasks.js';

/**
 * `batch` sequences of `task`, drawn from `rng`, padded into one time-major batch.
 * @param task - the task to sample from
 * @param rng - the seeded random source
 * @param batch - how many sequences
 * @param options - the task's options
 * @example
 * ```ts
 * const batch = sampleBatch(copyTask, new Random(1), 16, { width: 8, minLength: 1, maxLength: 20 });
 * console.log(batch.batch, batch.steps, batch.inputWidth); // 16 sequences, time steps, 9 input channels
 * ```
 */
export function sampleBatch<O>(task: SequenceTask<O>, rng: Random, batch: number, options: O): SequenceBatch {
  if (!Number.isInteger(batch) || batch < 1) throw new EngramError(`sampleBatch: batch must be a positive integer, got ${batch}`);
  const sequences = Array.from({ length: batch }, () => task.sample(rng, options));
  return packSequences(sequences, task.inputWidth(options), task.outputWidth(options));
}

/**
 * Looks a task up by name, with an error listing the known ones.
 * @param name - the task's name: copy, repeat-copy, associative-recall or priority-sort
 */
export function algorithmicTask(name: string): SequenceTask<Record<string, number | undefined>> {
  const task = (ALGORITHMIC_TASKS as Record<string, SequenceTask<never>>)[name];
  if (task === undefined) throw new EngramError(`unknown task '${name}' (known: ${Object.keys(ALGORITHMIC_TASKS).join(', ')})`);
  return task as unknown as SequenceTask<Record<string, number | undefined>>;
}

/**
 * An optional curriculum over lengths: training starts on short sequences and the longest
 * allowed length grows by `step` each time the recent error falls below `threshold` bits per
 * sequence, up to the task's full range. The state is a plain number passed in and returned.
 */
export interface LengthCurriculum {
  /** First longest length (default 2). */
  start: number;
  /** Growth per advance (default 2). */
  step: number;
  /** Error bits per sequence under which it advances (default 0.5). */
  threshold: number;
}

/** The defaults of {@link LengthCurriculum}. */
export const DEFAULT_CURRICULUM: LengthCurriculum = { start: 2, step: 2, threshold: 0.5 };

/**
 * The task's options at curriculum `level` (the longest length, or repeats cap for repeat copy).
 * @param task - the algorithmic task
 * @param level - the curriculum's current level
 * @param base - the task's options, which the level caps
 */
export function curriculumOptions(task: AlgorithmicTaskName, level: number, base: Record<string, number | undefined> = {}): Record<string, number | undefined> {
  switch (task) {
    case 'copy':
      return { ...base, maxLength: Math.min(level, (base as CopyOptions).maxLength ?? 20) };
    case 'repeat-copy':
      return { ...base, maxLength: Math.min(level, (base as RepeatCopyOptions).maxLength ?? 10) };
    case 'associative-recall':
      return { ...base, maxItems: Math.max(2, Math.min(level, base.maxItems ?? 6)) };
    case 'priority-sort':
      return base;
  }
}

/**
 * The level's ceiling: past it, the curriculum is the task's full range.
 * @param task - the algorithmic task
 * @param base - the task's options
 */
export function curriculumCeiling(task: AlgorithmicTaskName, base: Record<string, number | undefined> = {}): number {
  switch (task) {
    case 'copy':
      return base.maxLength ?? 20;
    case 'repeat-copy':
      return base.maxLength ?? 10;
    case 'associative-recall':
      return base.maxItems ?? 6;
    case 'priority-sort':
      return 0;
  }
}

/**
 * The next level: one step up when `errorBits` (recent bits per sequence) is under the threshold.
 * @param level - the current level (longest length, or item count)
 * @param errorBits - the mean error bits per sequence over the recent window
 * @param ceiling - the highest level (the task's full size)
 * @param curriculum - when to advance and by how much
 */
export function advanceCurriculum(level: number, errorBits: number, ceiling: number, curriculum: LengthCurriculum = DEFAULT_CURRICULUM): number {
  return errorBits < curriculum.threshold ? Math.min(ceiling, level + curriculum.step) : level;
}

/** The largest value each task option may take (bounds what a model file's options make us allocate). */
export const TASK_OPTION_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  width: 1024,
  minLength: 10_000,
  maxLength: 10_000,
  minRepeats: 1000,
  maxRepeats: 1000,
  itemLength: 1000,
  minItems: 1000,
  maxItems: 1000,
  inputCount: 10_000,
  outputCount: 10_000,
});

/**
 * Checks task options read from a file or a flag: an object whose every field is a known option
 * holding an integer in 1..its limit ({@link TASK_OPTION_LIMITS}). Errors name `source` and the field.
 * @param options - the untrusted value (from a file or the command line)
 * @param source - named in errors
 */
export function checkTaskOptions(options: unknown, source = 'task options'): Record<string, number | undefined> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new EngramError(`${source}: must be an object`);
  const out: Record<string, number | undefined> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(TASK_OPTION_LIMITS, key)) throw new EngramError(`${source}: unknown task option '${key}'`);
    if (value === undefined || value === null) continue;
    const limit = TASK_OPTION_LIMITS[key] as number;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > limit)
      throw new EngramError(`${source}: '${key}' must be an integer in 1..${limit}, got ${JSON.stringify(value)}`);
    out[key] = value;
  }
  return out;
}
