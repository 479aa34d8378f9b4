import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Random, randomNormal } from './index.js';

describe('Random', () => {
  it('gives the same numbers for the same seed and different ones for another', () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.next()
      )(new Random(42)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.next()
      )(new Random(42)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.next()
      )(new Random(43)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('resumes exactly from a saved state', () => {
    const rng = new Random(9);
    for (let i = 0; i < 10; i++) rng.normal();
    const resumed = Random.fromState(rng.state());
    expect(Array.from({ length: 4 }, () => resumed.normal())).toEqual(Array.from({ length: 4 }, () => rng.normal()));
  });

  it('stays in range', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 50 }), (seed, low, span) => {
        const rng = new Random(seed);
        const u = rng.next();
        const k = rng.int(low, low + span);
        return u >= 0 && u < 1 && Number.isInteger(k) && k >= low && k <= low + span;
      }),
    );
  });

  it('draws normals with the asked-for mean and deviation', () => {
    const data = randomNormal([20000], new Random(1), 3, 2).toArray();
    const mean = data.reduce((a, b) => a + b, 0) / data.length;
    const variance = data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length;
    expect(mean).toBeCloseTo(3, 1);
    expect(Math.sqrt(variance)).toBeCloseTo(2, 1);
  });

  it('permutation: every integer once, seeded; permutationInto draws the same into a kept array', () => {
    const p = new Random(4).permutation(50);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(p)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    const a = new Random(9);
    const b = new Random(9);
    const kept = new Int32Array(64).fill(-1);
    for (const n of [1, 7, 50, 3]) {
      b.permutationInto(kept, n);
      expect(Array.from(kept.subarray(0, n))).toEqual(Array.from(a.permutation(n)));
    }
    expect(a.next()).toBe(b.next());
    expect(() => b.permutationInto(new Int32Array(3), 4)).toThrow(/holds 3 places, 4 needed/);
    expect(() => b.permutationInto(kept, 2.5)).toThrow(/non-negative integer, got 2.5/);
  });
});
