import { join } from 'node:path';
import { ALGORITHMIC_TASKS, type AlgorithmicTaskName, algorithmicTask, checkTaskOptions, sampleBatch } from '@engram/datasets';
import { DNC_FORMAT, type DncModel, dncFromSafetensors, dncRecurrent } from '@engram/dnc';
import { type NtmModel, type SequenceModel, evaluateBatch, ntmFromSafetensors } from '@engram/ntm';
import { EngramError, Random, loadSafetensors, metadataJson } from '@engram/tensor';
import { readFile } from 'node:fs/promises';
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
  const bytes = new Uint8Array(await readFile(path));
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
  if (!Object.hasOwn(ALGORITHMIC_TASKS, task)) throw new EngramError(`${path}: unknown task '${String(task)}'`);
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

/**
 * Error bits per sequence on fresh seeded sequences. For copy and repeat copy, `lengths` fixes the
 * sequence length (including lengths longer than trained); for associative recall, the number of
 * items; for priority sort, the run's own task options are used.
 */
export function evaluateModel(
  model: SequenceModel,
  task: AlgorithmicTaskName,
  options: {
    lengths: (number | [number, number])[];
    sequences: number;
    seed: number;
    batch: number;
    taskOptions?: Record<string, number | undefined>;
    /** After each batch: the row being evaluated and the sequences done of it. */
    onProgress?: (label: string, done: number, total: number) => void;
  },
): EvaluationRow[] {
  const base = options.taskOptions ?? {};
  const generator = algorithmicTask(task);
  const settings: [string, Record<string, number | undefined>][] =
    task === 'copy' || task === 'repeat-copy' || task === 'associative-recall'
      ? options.lengths.map((length) => {
          const [low, high] = typeof length === 'number' ? [length, length] : length;
          const label =
            low === high
              ? `${task === 'associative-recall' ? 'items' : 'length'} ${low}`
              : `${task === 'associative-recall' ? 'items' : 'lengths'} ${low}..${high}`;
          return [label, task === 'associative-recall' ? { ...base, minItems: low, maxItems: high } : { ...base, minLength: low, maxLength: high }];
        })
      : [['training range', base]];
  return settings.map(([label, taskOptions]) => {
    const rng = new Random(options.seed);
    let bits = 0;
    let loss = 0;
    let done = 0;
    while (done < options.sequences) {
      const size = Math.min(options.batch, options.sequences - done);
      const result = evaluateBatch(model, sampleBatch(generator, rng, size, taskOptions));
      bits += result.errorBits * size;
      loss += result.loss * size;
      done += size;
      options.onProgress?.(label, done, options.sequences);
    }
    return { label, sequences: done, errorBits: bits / done, loss: loss / done };
  });
}

/**
 * `--lengths`: lengths (item counts for associative recall) and ranges such as 1-20,30,50, each in
 * `least`..10,000 (the task's own limits apply on top).
 * @param text - the flag's value
 * @param least - the smallest value allowed (2 for item counts)
 */
export function parseLengths(text: string, least: number): (number | [number, number])[] {
  const bound = (entry: string, n: number): number => {
    if (!Number.isInteger(n) || n < least || n > 10_000)
      throw new EngramError(`--lengths: expected lengths or ranges such as ${least}-20,30,50 (each ${least} to 10000), got '${entry}'`);
    return n;
  };
  return text.split(',').map((entry): number | [number, number] => {
    const range = /^(\d+)-(\d+)$/.exec(entry);
    if (range === null) return bound(entry, /^\d+$/.test(entry) ? Number(entry) : Number.NaN);
    const [low, high] = [bound(entry, Number(range[1])), bound(entry, Number(range[2]))];
    if (low > high) throw new EngramError(`--lengths: the range '${entry}' runs backwards`);
    return [low, high];
  });
}
