import { join } from 'node:path';
import {
  ALGORITHMIC_TASKS,
  type AlgorithmicTaskName,
  type RepeatCopyOptions,
  type SequenceTask,
  algorithmicTask,
  checkTaskOptions,
  randomBits,
  repeatCopySequence,
  repeatCopyTask,
  sampleBatch,
} from '@engram/datasets';
import { DNC_FORMAT, type DncModel, dncFromSafetensors, dncRecurrent } from '@engram/dnc';
import { type NtmModel, type SequenceModel, evaluateBatch, ntmFromSafetensors } from '@engram/ntm';
import { EngramError, Random, loadSafetensors, metadataJson, readBinaryFile } from '@engram/tensor';
import { existsSync } from 'node:fs';

/** A run's trained model: an NTM or a DNC, with what it was trained on. */
export interface LoadedRun {
  /** What the sequence loop runs (the NTM itself, or the DNC's recurrent view). */
  model: SequenceModel;
  /** The NTM, when the run is one. */
  ntm: NtmModel | null;
  /** The DNC, when the run is one. */
  dnc: DncModel | null;
  /** The task it was trained on. */
  task: AlgorithmicTaskName;
  /** The task's options it was trained with. */
  taskOptions: Record<string, number | undefined>;
  /** The file it came from. */
  path: string;
}

/** Loads the trained model of a run folder (model.safetensors, else the checkpoint): an NTM or a DNC, by the file's format. */
export async function loadRun(run: string): Promise<LoadedRun> {
  const candidates = [join(run, 'model.safetensors'), join(run, 'checkpoint.safetensors'), run];
  const path = candidates.find((p) => existsSync(p) && !p.endsWith('/'));
  if (path === undefined || !path.endsWith('.safetensors')) throw new EngramError(`no model in ${run} (expected model.safetensors or checkpoint.safetensors)`);
  const bytes = await readBinaryFile(path);
  const isDnc = loadSafetensors(bytes, { source: path }).metadata.format === DNC_FORMAT;
  const dnc = isDnc ? dncFromSafetensors(bytes, path) : null;
  const ntm = isDnc ? null : ntmFromSafetensors(bytes, new Random(0), path);
  const metadata = (dnc ?? ntm)?.metadata ?? {};
  let task = metadata.task as AlgorithmicTaskName | undefined;
  let taskOptions: unknown = metadata.taskOptions ? metadataJson(path, metadata, 'taskOptions') : {};
  if (task === undefined && metadata.training) {
    const extra = (metadataJson(path, metadata, 'training') as { extra?: { task?: AlgorithmicTaskName; taskOptions?: unknown } } | null)?.extra;
    task = extra?.task;
    taskOptions = extra?.taskOptions ?? {};
  }
  if (task === undefined) throw new EngramError(`${path}: does not say which task it was trained on`);
  if (typeof task !== 'string' || !Object.hasOwn(ALGORITHMIC_TASKS, task)) throw new EngramError(`${path}: unknown task ${JSON.stringify(task)}`);
  const model: SequenceModel = dnc ? dncRecurrent(dnc.model) : (ntm as { model: NtmModel }).model;
  return { model, ntm: ntm?.model ?? null, dnc: dnc?.model ?? null, task, taskOptions: checkTaskOptions(taskOptions, `${path}: taskOptions`), path };
}

/** One row of an evaluation table. */
export interface EvaluationRow {
  /** What was varied (e.g. `length 50`). */
  label: string;
  /** Sequences evaluated. */
  sequences: number;
  /** Mean error bits per sequence. */
  errorBits: number;
  /** Mean loss, nats per sequence. */
  loss: number;
}

/** A value or an inclusive range of values, as `--lengths` and `--repeats` give them. */
export type CountOrRange = number | [number, number];

/** What {@link evaluateModel} scores and how. */
export interface EvaluateOptions {
  /**
   * One row per entry: for copy and repeat copy the sequence length (including lengths longer than
   * trained), for associative recall the number of items. Empty: no such rows.
   */
  lengths: readonly CountOrRange[];
  /**
   * Repeat copy only: one row per entry, sequences of the trained lengths written back this many
   * times (including more than trained), the count normalised over the trained range as in training.
   */
  repeats?: readonly CountOrRange[];
  /** Fresh sequences per row. */
  sequences: number;
  /** Seed of the fresh sequences (each row starts from it). */
  seed: number;
  /** Sequences evaluated at once. */
  batch: number;
  /** The task options the model was trained with. */
  taskOptions?: Record<string, number | undefined>;
  /** After each batch: the row being evaluated and the sequences done of it. */
  onProgress?: (label: string, done: number, total: number) => void;
}

const bounds = (entry: CountOrRange): [number, number] => (typeof entry === 'number' ? [entry, entry] : entry);
const labelOf = (singular: string, plural: string, entry: CountOrRange): string => {
  const [low, high] = bounds(entry);
  return low === high ? `${singular} ${low}` : `${plural} ${low}..${high}`;
};

/** Repeat copy at repeat counts drawn from [low, high], normalised over the trained range of `trained`. */
function repeatCopyWith(low: number, high: number): SequenceTask<RepeatCopyOptions> {
  return {
    ...repeatCopyTask,
    sample(rng, trained) {
      const width = trained.width ?? 8;
      const length = rng.int(trained.minLength ?? 1, trained.maxLength ?? 10);
      const repeats = rng.int(low, high);
      return repeatCopySequence(
        Array.from({ length }, () => randomBits(rng, width)),
        repeats,
        trained,
      );
    },
  };
}

/**
 * Error bits per sequence on fresh seeded sequences: one row per entry of `lengths` (sequence length,
 * or item count for associative recall) and of `repeats` (repeat copy); with neither, one row over the
 * task's trained range (always so for priority sort).
 * @param model - the trained NTM or DNC (its sequence loop)
 * @param task - the task it was trained on
 * @param options - the rows, how many sequences, the seed and the trained task options
 */
export function evaluateModel(model: SequenceModel, task: AlgorithmicTaskName, options: EvaluateOptions): EvaluationRow[] {
  const base = options.taskOptions ?? {};
  const generator = algorithmicTask(task) as SequenceTask<Record<string, number | undefined>>;
  const settings: [string, SequenceTask<Record<string, number | undefined>>, Record<string, number | undefined>][] = [];
  if (task === 'copy' || task === 'repeat-copy')
    for (const entry of options.lengths) {
      const [low, high] = bounds(entry);
      settings.push([labelOf('length', 'lengths', entry), generator, { ...base, minLength: low, maxLength: high }]);
    }
  if (task === 'associative-recall')
    for (const entry of options.lengths) {
      const [low, high] = bounds(entry);
      settings.push([labelOf('items', 'items', entry), generator, { ...base, minItems: low, maxItems: high }]);
    }
  if (task === 'repeat-copy')
    for (const entry of options.repeats ?? []) {
      const [low, high] = bounds(entry);
      settings.push([labelOf('repeats', 'repeats', entry), repeatCopyWith(low, high) as SequenceTask<Record<string, number | undefined>>, base]);
    }
  if (settings.length === 0) settings.push(['training range', generator, base]);
  return settings.map(([label, rowTask, taskOptions]) => {
    const rng = new Random(options.seed);
    let bits = 0;
    let loss = 0;
    let done = 0;
    while (done < options.sequences) {
      const size = Math.min(options.batch, options.sequences - done);
      const result = evaluateBatch(model, sampleBatch(rowTask, rng, size, taskOptions));
      bits += result.errorBits * size;
      loss += result.loss * size;
      done += size;
      options.onProgress?.(label, done, options.sequences);
    }
    return { label, sequences: done, errorBits: bits / done, loss: loss / done };
  });
}

/**
 * `--lengths` and `--repeats`: counts (lengths, item counts for associative recall, repeat counts) and
 * ranges such as 1-20,30,50, each in `least`..10,000 (the task's own limits apply on top).
 * @param text - the flag's value
 * @param least - the smallest value allowed (2 for item counts)
 * @param flag - the flag named in errors
 */
export function parseCounts(text: string, least: number, flag = '--lengths'): CountOrRange[] {
  const bound = (entry: string, n: number): number => {
    if (!Number.isInteger(n) || n < least || n > 10_000)
      throw new EngramError(`${flag}: expected counts or ranges such as ${least}-20,30,50 (each ${least} to 10000), got '${entry}'`);
    return n;
  };
  return text.split(',').map((entry): CountOrRange => {
    const range = /^(\d+)-(\d+)$/.exec(entry);
    if (range === null) return bound(entry, /^\d+$/.test(entry) ? Number(entry) : Number.NaN);
    const [low, high] = [bound(entry, Number(range[1])), bound(entry, Number(range[2]))];
    if (low > high) throw new EngramError(`${flag}: the range '${entry}' runs backwards`);
    return [low, high];
  });
}

/** The flags `engram eval` reads for an NTM or DNC run, as typed (undefined: not given). */
export interface EvaluationFlags {
  /** `--lengths` when given. */
  lengths: string | undefined;
  /** `--repeats` when given. */
  repeats: string | undefined;
  /** The lengths copy and repeat copy score when `--lengths` is not given. */
  defaultLengths: string;
}

/** The rows {@link evaluationRows} chose, for {@link EvaluateOptions}. */
export interface ChosenRows {
  /** Lengths, or item counts for associative recall. */
  lengths: CountOrRange[];
  /** Repeat counts (repeat copy). */
  repeats: CountOrRange[];
}

/**
 * Which rows `engram eval` scores for a run trained on `task`: copy and repeat copy score the given or
 * default lengths (only the repeat counts when just `--repeats` is given); associative recall scores
 * the given item counts, else its trained range; priority sort its trained range. A flag the task
 * cannot use is an error naming it.
 * @param task - the task the run was trained on
 * @param path - the run's model file (named in errors)
 * @param flags - the flags as typed
 */
export function evaluationRows(task: AlgorithmicTaskName, path: string, flags: EvaluationFlags): ChosenRows {
  if (flags.repeats !== undefined && task !== 'repeat-copy') throw new EngramError(`--repeats: only for repeat-copy runs; ${path} was trained on ${task}`);
  if (flags.lengths !== undefined && task === 'priority-sort') throw new EngramError('--lengths: priority sort has no lengths or item counts to vary');
  const repeats = flags.repeats === undefined ? [] : parseCounts(flags.repeats, 1, '--repeats');
  const lengthsText = flags.lengths ?? ((task === 'copy' || task === 'repeat-copy') && flags.repeats === undefined ? flags.defaultLengths : undefined);
  const lengths = lengthsText === undefined ? [] : parseCounts(lengthsText, task === 'associative-recall' ? 2 : 1);
  return { lengths, repeats };
}
