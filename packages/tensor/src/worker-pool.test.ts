import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCpuBackend } from './cpu/cpu-backend.js';
import { Random } from './random.js';
import { NATIVE_STRETCH_MIN_FLOATS, addGradients, sgdStretch, sumOfSquares } from './worker-pool.js';

const native = createCpuBackend().optimizers;

function randomArray(n: number, rng: Random): Float32Array {
  // Values over many magnitudes and both signs (and some exact zeros), so the sums round and cancel.
  return Float32Array.from({ length: n }, () => (rng.uniform() < 0.05 ? 0 : rng.normal() * 10 ** rng.int(-3, 4)));
}

describe.runIf(native !== undefined)("the gradient workers' stretches on the native kernels", () => {
  const kernels = native as NonNullable<typeof native>;
  afterEach(() => vi.restoreAllMocks());

  it('sum, square and update a stretch with the JavaScript loops’ bits (offsets, a missing gradient, tails, 1–3 workers)', () => {
    // Spies that call through: the comparison means nothing if the JavaScript loops ran on both sides.
    const spies = [vi.spyOn(kernels, 'sumArrays'), vi.spyOn(kernels, 'sumOfSquares'), vi.spyOn(kernels, 'sgd')];
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: NATIVE_STRETCH_MIN_FLOATS, max: NATIVE_STRETCH_MIN_FLOATS + 37 }),
          offset: fc.integer({ min: 0, max: 9 }),
          workers: fc.integer({ min: 1, max: 3 }),
          mineMissing: fc.boolean(),
          scale: fc.constantFrom(1, 0.37),
          limit: fc.constantFrom(Number.POSITIVE_INFINITY, 0.1),
          seed: fc.integer(),
        }),
        ({ n, offset, workers, mineMissing, scale, limit, seed }) => {
          const rng = new Random(seed);
          const length = n + 2 * offset;
          const mine = mineMissing ? null : randomArray(length, rng);
          const theirs = Array.from({ length: workers }, () => randomArray(length, rng));
          const [viaKernels, viaLoops] = [new Float32Array(length), new Float32Array(length)];
          addGradients(viaKernels, offset, mine, offset, theirs, offset, n, kernels);
          addGradients(viaLoops, offset, mine, offset, theirs, offset, n);
          expect(viaKernels).toEqual(viaLoops);
          expect(sumOfSquares(viaKernels, offset, offset + n, kernels)).toBe(sumOfSquares(viaLoops, offset, offset + n));
          const weights = randomArray(n, rng);
          const grads = viaKernels.subarray(offset, offset + n);
          const [next, expected] = [new Float32Array(n), new Float32Array(n)];
          sgdStretch(weights, grads, next, 0.01, scale, limit, kernels);
          sgdStretch(weights, grads, expected, 0.01, scale, limit);
          expect(next).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
    for (const spy of spies) expect(spy).toHaveBeenCalledTimes(40);
  });

  it('keeps the JavaScript loops below the threshold, and refuses arrays of the wrong length', () => {
    const spy = vi.spyOn(kernels, 'sumArrays');
    const short = new Float32Array(NATIVE_STRETCH_MIN_FLOATS - 1).fill(1);
    const into = new Float32Array(short.length);
    addGradients(into, 0, short, 0, [short], 0, short.length, kernels);
    expect(spy).not.toHaveBeenCalled();
    expect(into.every((x) => x === 2)).toBe(true);
    expect(() => kernels.sumArrays(new Float32Array(8), [new Float32Array(8), new Float32Array(7)])).toThrow(/sumArrays/);
    expect(() => kernels.sumArrays(new Float32Array(8), [new Float32Array(8), null])).toThrow(/sumArrays/);
    expect(() => kernels.sgd(new Float32Array(8), new Float32Array(8), { scale: 1, limit: 1, prepare: false, learningRate: 1 }, new Float32Array(4))).toThrow(
      /sgd/,
    );
  });
});
