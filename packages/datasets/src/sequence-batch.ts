import { EngramError, type Random } from '@engram/tensor';

/**
 * A batch of input/target sequences, time-major: element (t, b, i) of `inputs` is at
 * `inputs[(t * batch + b) * inputWidth + i]`. `mask[t * batch + b]` is 1 where the target at step
 * t of sequence b is scored (the answer phase) and 0 elsewhere (input phase, padding).
 */
export interface SequenceBatch {
  /** Number of time steps (the longest sequence; shorter ones are padded with mask 0). */
  steps: number;
  /** Number of sequences. */
  batch: number;
  /** Width of one input vector. */
  inputWidth: number;
  /** Width of one target vector. */
  outputWidth: number;
  /** `[steps, batch, inputWidth]`. */
  inputs: Float32Array;
  /** `[steps, batch, outputWidth]`. */
  targets: Float32Array;
  /** `[steps, batch]`. */
  mask: Float32Array;
  /** Per sequence, a description of what was drawn (length, repeats, items...). */
  info: Record<string, number>[];
}

/** A generator of one task's sequences. */
export interface SequenceTask<Options> {
  /** The task's name (`copy`, `repeat-copy`, ...). */
  readonly name: string;
  /**
   * Width of the input vectors for these options.
   * @param options - the task's options
   */
  inputWidth(options: Options): number;
  /**
   * Width of the target vectors for these options.
   * @param options - the task's options
   */
  outputWidth(options: Options): number;
  /**
   * One sequence: per-step inputs and targets and which steps are scored.
   * @param rng - the seeded random source
   * @param options - the task's options (widths, lengths, counts)
   */
  sample(rng: Random, options: Options): TaskSequence;
}

/** One sequence, step-major rows. */
export interface TaskSequence {
  /** One input row per step. */
  inputs: Float32Array[];
  /** One target row per step (zeros where not scored). */
  targets: Float32Array[];
  /** 1 where the step is scored. */
  scored: number[];
  /** What was drawn. */
  info: Record<string, number>;
}

/**
 * Packs sequences of possibly different lengths into one padded, time-major batch.
 * @param sequences - the sequences to pack (padded to the longest)
 * @param inputWidth - values per input vector
 * @param outputWidth - values per output vector
 */
export function packSequences(sequences: readonly TaskSequence[], inputWidth: number, outputWidth: number): SequenceBatch {
  if (sequences.length === 0) throw new EngramError('packSequences: needs at least one sequence');
  const batch = sequences.length;
  const steps = Math.max(...sequences.map((s) => s.inputs.length));
  const inputs = new Float32Array(steps * batch * inputWidth);
  const targets = new Float32Array(steps * batch * outputWidth);
  const mask = new Float32Array(steps * batch);
  sequences.forEach((sequence, b) => {
    sequence.inputs.forEach((row, t) => {
      inputs.set(row, (t * batch + b) * inputWidth);
      targets.set(sequence.targets[t] as Float32Array, (t * batch + b) * outputWidth);
      mask[t * batch + b] = sequence.scored[t] as number;
    });
  });
  return { steps, batch, inputWidth, outputWidth, inputs, targets, mask, info: sequences.map((s) => s.info) };
}

/**
 * Sequences `from` … `to − 1` of a batch, as a batch of their own (a shard for data parallelism), with the
 * trailing steps where none of them is scored dropped: a causal model's loss cannot depend on them.
 * @param batch - the batch to cut
 * @param from - the first sequence to keep
 * @param to - one past the last sequence to keep
 */
export function sliceSequences(batch: SequenceBatch, from: number, to: number): SequenceBatch {
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= batch.batch))
    throw new EngramError(`sliceSequences: sequences ${from}..${to} are not a non-empty part of a batch of ${batch.batch}`);
  const n = to - from;
  let steps = batch.steps;
  const scoredAt = (t: number) => batch.mask.subarray(t * batch.batch + from, t * batch.batch + to).some((m) => m > 0);
  while (steps > 1 && !scoredAt(steps - 1)) steps--;
  const rows = (values: Float32Array, width: number) => {
    const out = new Float32Array(steps * n * width);
    for (let t = 0; t < steps; t++) out.set(values.subarray((t * batch.batch + from) * width, (t * batch.batch + to) * width), t * n * width);
    return out;
  };
  return {
    steps,
    batch: n,
    inputWidth: batch.inputWidth,
    outputWidth: batch.outputWidth,
    inputs: rows(batch.inputs, batch.inputWidth),
    targets: rows(batch.targets, batch.outputWidth),
    mask: rows(batch.mask, 1),
    info: batch.info.slice(from, to),
  };
}

/**
 * A random binary vector of `width` bits, each 1 with probability ½.
 * @param rng - the seeded random source
 * @param width - how many bits
 */
export function randomBits(rng: Random, width: number): Float32Array {
  const bits = new Float32Array(width);
  for (let i = 0; i < width; i++) bits[i] = rng.next() < 0.5 ? 1 : 0;
  return bits;
}

/** Checks that `value` is an integer in [low, high], naming the option otherwise. */
export function checkInteger(task: string, name: string, value: number, low: number, high = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new EngramError(`${task}: ${name} must be an integer in [${low}, ${high === Number.MAX_SAFE_INTEGER ? '∞' : high}], got ${value}`);
  }
}
