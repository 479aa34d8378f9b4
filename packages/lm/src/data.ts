import { EngramError } from '@engram/tensor';

/**
 * A text laid out as `batch` parallel streams (the usual language-modelling layout, Zaremba et
 * al. 2014): the first ⌊n / batch⌋ · batch words cut into `batch` contiguous pieces, read side by
 * side, `unroll` words at a time.
 */
export interface Streams {
  /** Parallel streams. */
  batch: number;
  /** Words per stream. */
  length: number;
  /** `ids[b · length + i]`: stream b's i-th word. */
  ids: Int32Array;
}

/**
 * Lays `ids` out as `batch` streams, dropping the words that do not fill a whole column.
 * @param ids - the text as word ids
 * @param batch - how many parallel streams to cut it into
 */
export function toStreams(ids: Int32Array, batch: number): Streams {
  if (!Number.isInteger(batch) || batch < 1) throw new EngramError(`toStreams: batch must be a positive integer, got ${batch}`);
  const length = Math.floor(ids.length / batch);
  if (length < 2) throw new EngramError(`toStreams: ${ids.length} words are too few for ${batch} streams (each needs at least 2)`);
  return { batch, length, ids: ids.subarray(0, length * batch) };
}

/**
 * Windows of `unroll` steps in one pass over the streams: ⌊(length − 1) / unroll⌋ (the last, partial one is dropped).
 * @param streams - the text laid out in streams
 * @param unroll - the window's length
 */
export function windowCount(streams: Streams, unroll: number): number {
  return Math.floor((streams.length - 1) / unroll);
}

/** One window: inputs and the words that follow them, time-major (`[t · batch + b]`). */
export interface Window {
  /** Word ids fed in. */
  inputs: Int32Array;
  /** The next word of each input. */
  targets: Int32Array;
  /** Steps in the window. */
  steps: number;
}

/**
 * Window `index` of `unroll` steps, or the steps left from `start` when `unroll` would run past the end
 * (evaluation reads every word).
 * @param streams - the text laid out in streams
 * @param start - the window's first time step
 * @param unroll - the window's length
 */
export function windowAt(streams: Streams, start: number, unroll: number): Window {
  const steps = Math.min(unroll, streams.length - 1 - start);
  if (!Number.isInteger(start) || start < 0 || steps < 1) throw new EngramError(`windowAt: no words left at position ${start} of ${streams.length}`);
  const { batch, length, ids } = streams;
  const inputs = new Int32Array(steps * batch);
  const targets = new Int32Array(steps * batch);
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < batch; b++) {
      inputs[t * batch + b] = ids[b * length + start + t] as number;
      targets[t * batch + b] = ids[b * length + start + t + 1] as number;
    }
  }
  return { inputs, targets, steps };
}

/**
 * The rows of streams `from` … `to − 1` of a time-major array (`[t · batch + b]`, `width` values per row),
 * still time-major: a window cut by stream, for data parallelism.
 * @param values - the time-major array (word ids, or a dropout mask)
 * @param width - values per row
 * @param batch - streams in `values`
 * @param from - the first stream to keep
 * @param to - one past the last stream to keep
 */
export function streamRows<T extends Int32Array | Float32Array>(values: T, width: number, batch: number, from: number, to: number): T {
  const steps = values.length / (batch * width);
  if (!Number.isInteger(steps) || !(0 <= from && from <= to && to <= batch))
    throw new EngramError(`streamRows: streams ${from}..${to} of ${batch} do not fit ${values.length} values of width ${width}`);
  const out = new (values.constructor as new (n: number) => T)(steps * (to - from) * width);
  for (let t = 0; t < steps; t++) out.set(values.subarray((t * batch + from) * width, (t * batch + to) * width), t * (to - from) * width);
  return out;
}
