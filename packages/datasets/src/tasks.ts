import { EngramError, type Random } from '@engram/tensor';
import { type SequenceTask, type TaskSequence, checkInteger, randomBits } from './sequence-batch.js';

const row = (width: number): Float32Array => new Float32Array(width);

/** Copy task options (NTM §4.1). Defaults: 8-bit vectors, length uniform in 1..20. */
export interface CopyOptions {
  /** Bits per vector (default 8). */
  width?: number;
  /** Shortest sequence (default 1). */
  minLength?: number;
  /** Longest sequence (default 20). */
  maxLength?: number;
}

/**
 * Copy (NTM §4.1): a sequence of random binary vectors, then a delimiter flag on its own input
 * channel; the network must then output the sequence, with no input. Input width `width + 1`,
 * target width `width`, 2L + 1 steps.
 */
export const copyTask: SequenceTask<CopyOptions> = {
  name: 'copy',
  inputWidth: (o) => (o.width ?? 8) + 1,
  outputWidth: (o) => o.width ?? 8,
  sample(rng: Random, o: CopyOptions): TaskSequence {
    const width = o.width ?? 8;
    const minLength = o.minLength ?? 1;
    const maxLength = o.maxLength ?? 20;
    checkInteger('copy', 'width', width, 1);
    checkInteger('copy', 'minLength', minLength, 1);
    checkInteger('copy', 'maxLength', maxLength, minLength);
    const length = rng.int(minLength, maxLength);
    return copySequence(Array.from({ length }, () => randomBits(rng, width)));
  },
};

function checkVectors(task: string, vectors: readonly Float32Array[]): number {
  const width = vectors[0]?.length ?? 0;
  if (vectors.length === 0 || width === 0) throw new EngramError(`${task}: needs at least one vector of at least one bit`);
  vectors.forEach((bits, i) => {
    if (bits.length !== width) throw new EngramError(`${task}: vector ${i} has ${bits.length} bits, vector 0 has ${width}`);
  });
  return width;
}

/**
 * The copy sequence for given vectors (what {@link copyTask} builds around random ones): the
 * vectors, the delimiter, then the vectors again as targets while the input is blank.
 *
 * @param vectors the sequence to copy, all of one width (the task's `width`)
 */
export function copySequence(vectors: readonly Float32Array[]): TaskSequence {
  const width = checkVectors('copySequence', vectors);
  const inputs: Float32Array[] = [];
  const targets: Float32Array[] = [];
  const scored: number[] = [];
  for (const bits of vectors) {
    const input = row(width + 1);
    input.set(bits);
    inputs.push(input);
    targets.push(row(width));
    scored.push(0);
  }
  const delimiter = row(width + 1);
  delimiter[width] = 1;
  inputs.push(delimiter);
  targets.push(row(width));
  scored.push(0);
  for (const bits of vectors) {
    inputs.push(row(width + 1));
    targets.push(bits.slice());
    scored.push(1);
  }
  return { inputs, targets, scored, info: { length: vectors.length } };
}

/** Repeat copy options (NTM §4.2). Defaults: 8 bits, length and repeats uniform in 1..10. */
export interface RepeatCopyOptions {
  /** Bits per vector (default 8). */
  width?: number;
  /** Shortest sequence (default 1). */
  minLength?: number;
  /** Longest sequence (default 10). */
  maxLength?: number;
  /** Fewest repeats (default 1). */
  minRepeats?: number;
  /** Most repeats (default 10). */
  maxRepeats?: number;
}

/**
 * Repeat copy (NTM §4.2): a sequence, then a delimiter step whose extra channel holds the repeat
 * count normalised to mean 0 and variance 1 over the training range; the network outputs the
 * sequence that many times, then raises an end marker on an extra output channel.
 * Input width `width + 2`, target width `width + 1`.
 */
export const repeatCopyTask: SequenceTask<RepeatCopyOptions> = {
  name: 'repeat-copy',
  inputWidth: (o) => (o.width ?? 8) + 2,
  outputWidth: (o) => (o.width ?? 8) + 1,
  sample(rng: Random, o: RepeatCopyOptions): TaskSequence {
    const width = o.width ?? 8;
    const minLength = o.minLength ?? 1;
    const maxLength = o.maxLength ?? 10;
    const minRepeats = o.minRepeats ?? 1;
    const maxRepeats = o.maxRepeats ?? 10;
    checkInteger('repeat-copy', 'width', width, 1);
    checkInteger('repeat-copy', 'maxLength', maxLength, minLength);
    checkInteger('repeat-copy', 'maxRepeats', maxRepeats, minRepeats);
    checkInteger('repeat-copy', 'minRepeats', minRepeats, 1);
    checkInteger('repeat-copy', 'minLength', minLength, 1);
    const length = rng.int(minLength, maxLength);
    const repeats = rng.int(minRepeats, maxRepeats);
    return repeatCopySequence(
      Array.from({ length }, () => randomBits(rng, width)),
      repeats,
      o,
    );
  },
};

/**
 * The repeat-copy sequence for given vectors and repeat count (what {@link repeatCopyTask} builds
 * around random ones). The count is normalised over the training range of `options`
 * (`minRepeats`..`maxRepeats`, default 1..10), as the model saw it in training; a count outside
 * that range is allowed (the paper tests generalisation that way).
 * @param vectors - the sequence to repeat
 * @param repeats - how many times it is to be written back
 * @param options - the task's options (the repeat count's normalisation)
 */
export function repeatCopySequence(vectors: readonly Float32Array[], repeats: number, options: RepeatCopyOptions = {}): TaskSequence {
  const width = checkVectors('repeatCopySequence', vectors);
  const minRepeats = options.minRepeats ?? 1;
  const maxRepeats = options.maxRepeats ?? 10;
  checkInteger('repeatCopySequence', 'repeats', repeats, 1);
  // Mean and standard deviation of the uniform repeat count over [minRepeats, maxRepeats].
  const count = maxRepeats - minRepeats + 1;
  const mean = (minRepeats + maxRepeats) / 2;
  const std = Math.sqrt((count * count - 1) / 12) || 1;
  const inputs: Float32Array[] = [];
  const targets: Float32Array[] = [];
  const scored: number[] = [];
  for (const bits of vectors) {
    const input = row(width + 2);
    input.set(bits);
    inputs.push(input);
    targets.push(row(width + 1));
    scored.push(0);
  }
  const delimiter = row(width + 2);
  delimiter[width] = 1;
  delimiter[width + 1] = (repeats - mean) / std;
  inputs.push(delimiter);
  targets.push(row(width + 1));
  scored.push(0);
  for (let r = 0; r < repeats; r++) {
    for (const bits of vectors) {
      inputs.push(row(width + 2));
      const target = row(width + 1);
      target.set(bits);
      targets.push(target);
      scored.push(1);
    }
  }
  inputs.push(row(width + 2));
  const end = row(width + 1);
  end[width] = 1;
  targets.push(end);
  scored.push(1);
  return { inputs, targets, scored, info: { length: vectors.length, repeats } };
}

/** Associative recall options (NTM §4.3). Defaults: items of 3 × 6-bit vectors, 2..6 items. */
export interface AssociativeRecallOptions {
  /** Bits per vector (default 6). */
  width?: number;
  /** Vectors per item (default 3). */
  itemLength?: number;
  /** Fewest items (default 2). */
  minItems?: number;
  /** Most items (default 6). */
  maxItems?: number;
}

/**
 * Associative recall (NTM §4.3): items of several vectors, each opened by a delimiter on input
 * channel `width`; then a query item (any but the last) opened and closed by a delimiter on
 * channel `width + 1`; the network must output the item that followed the query.
 * Input width `width + 2`, target width `width`.
 */
export const associativeRecallTask: SequenceTask<AssociativeRecallOptions> = {
  name: 'associative-recall',
  inputWidth: (o) => (o.width ?? 6) + 2,
  outputWidth: (o) => o.width ?? 6,
  sample(rng: Random, o: AssociativeRecallOptions): TaskSequence {
    const width = o.width ?? 6;
    const itemLength = o.itemLength ?? 3;
    const minItems = o.minItems ?? 2;
    const maxItems = o.maxItems ?? 6;
    checkInteger('associative-recall', 'width', width, 1);
    checkInteger('associative-recall', 'itemLength', itemLength, 1);
    checkInteger('associative-recall', 'minItems', minItems, 2);
    checkInteger('associative-recall', 'maxItems', maxItems, minItems);
    const count = rng.int(minItems, maxItems);
    const items = Array.from({ length: count }, () => Array.from({ length: itemLength }, () => randomBits(rng, width)));
    const query = rng.int(0, count - 2);
    return associativeRecallSequence(items, query);
  },
};

/**
 * The associative-recall sequence for given items and query (what {@link associativeRecallTask}
 * builds around random ones): each item opened by a delimiter on channel `width`, then item
 * `query` between delimiters on channel `width + 1`; the target is item `query + 1`.
 *
 * @param items at least two items, each the same number of vectors of one width
 * @param query index of the item asked about (any but the last)
 */
export function associativeRecallSequence(items: readonly (readonly Float32Array[])[], query: number): TaskSequence {
  if (items.length < 2) throw new EngramError(`associativeRecallSequence: needs at least 2 items, got ${items.length}`);
  const width = checkVectors('associativeRecallSequence', items.flat());
  const itemLength = items[0]?.length ?? 0;
  items.forEach((item, i) => {
    if (item.length !== itemLength) throw new EngramError(`associativeRecallSequence: item ${i} has ${item.length} vectors, item 0 has ${itemLength}`);
  });
  checkInteger('associativeRecallSequence', 'query', query, 0);
  if (query > items.length - 2) throw new EngramError(`associativeRecallSequence: query must be 0..${items.length - 2} (any item but the last), got ${query}`);
  const inputs: Float32Array[] = [];
  const targets: Float32Array[] = [];
  const scored: number[] = [];
  const push = (input: Float32Array, target: Float32Array = row(width), score = 0): void => {
    inputs.push(input);
    targets.push(target);
    scored.push(score);
  };
  const delimiter = (channel: number): Float32Array => {
    const d = row(width + 2);
    d[channel] = 1;
    return d;
  };
  const vector = (bits: Float32Array): Float32Array => {
    const v = row(width + 2);
    v.set(bits);
    return v;
  };
  for (const item of items) {
    push(delimiter(width));
    for (const bits of item) push(vector(bits));
  }
  push(delimiter(width + 1));
  for (const bits of items[query] as readonly Float32Array[]) push(vector(bits));
  push(delimiter(width + 1));
  for (const bits of items[query + 1] as readonly Float32Array[]) push(row(width + 2), bits.slice(), 1);
  return { inputs, targets, scored, info: { items: items.length, query } };
}

/** Priority sort options (NTM §4.5). Defaults: 20 vectors of 8 bits, output the 16 highest. */
export interface PrioritySortOptions {
  /** Bits per vector (default 8). */
  width?: number;
  /** Vectors in (default 20). */
  inputCount?: number;
  /** Vectors out, the highest-priority ones in descending priority (default 16). */
  outputCount?: number;
}

/**
 * Priority sort (NTM §4.5): random binary vectors, each with a scalar priority uniform in
 * [−1, 1] on an extra input channel; after a delimiter, the network outputs the `outputCount`
 * vectors of highest priority, highest first. Input width `width + 2`, target width `width`.
 */
export const prioritySortTask: SequenceTask<PrioritySortOptions> = {
  name: 'priority-sort',
  inputWidth: (o) => (o.width ?? 8) + 2,
  outputWidth: (o) => o.width ?? 8,
  sample(rng: Random, o: PrioritySortOptions): TaskSequence {
    const width = o.width ?? 8;
    const inputCount = o.inputCount ?? 20;
    const outputCount = o.outputCount ?? 16;
    checkInteger('priority-sort', 'width', width, 1);
    checkInteger('priority-sort', 'inputCount', inputCount, 1);
    checkInteger('priority-sort', 'outputCount', outputCount, 1, inputCount);
    const entries = Array.from({ length: inputCount }, () => ({ bits: randomBits(rng, width), priority: rng.uniform(-1, 1) }));
    const inputs: Float32Array[] = [];
    const targets: Float32Array[] = [];
    const scored: number[] = [];
    for (const { bits, priority } of entries) {
      const input = row(width + 2);
      input.set(bits);
      input[width] = priority;
      inputs.push(input);
      targets.push(row(width));
      scored.push(0);
    }
    const delimiter = row(width + 2);
    delimiter[width + 1] = 1;
    inputs.push(delimiter);
    targets.push(row(width));
    scored.push(0);
    const sorted = [...entries].sort((a, b) => b.priority - a.priority).slice(0, outputCount);
    for (const { bits } of sorted) {
      inputs.push(row(width + 2));
      targets.push(bits.slice());
      scored.push(1);
    }
    return { inputs, targets, scored, info: { inputCount, outputCount } };
  },
};

/** Every algorithmic task by name. */
export const ALGORITHMIC_TASKS = {
  /** {@link copyTask} */
  copy: copyTask,
  /** {@link repeatCopyTask} */
  'repeat-copy': repeatCopyTask,
  /** {@link associativeRecallTask} */
  'associative-recall': associativeRecallTask,
  /** {@link prioritySortTask} */
  'priority-sort': prioritySortTask,
} as const;

/** Name of an algorithmic task. */
export type AlgorithmicTaskName = keyof typeof ALGORITHMIC_TASKS;
