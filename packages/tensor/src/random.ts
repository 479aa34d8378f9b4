import { EngramError } from './errors.js';

/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through splitmix32). Every random
 * function in Engram takes one, so the same seed always gives the same numbers.
 *
 * State is explicit: {@link Random.state} captures it and {@link Random.fromState} restores it, so a
 * resumed training run draws exactly the numbers it would have drawn.
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** @param seed any integer; equal seeds give equal streams. */
  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A copy of the generator's state, JSON-serialisable. */
  state(): [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /**
   * A generator that continues from a state taken with {@link Random.state}.
   * @param state - a state from `state()`, four 32-bit words
   */
  static fromState(state: readonly [number, number, number, number]): Random {
    const rng = new Random(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = state;
    return rng;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * Uniform in [low, high).
   * @param low - the lower bound (inclusive)
   * @param high - the upper bound (exclusive)
   */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.next();
  }

  /**
   * A uniformly chosen integer in [low, high] (both inclusive).
   * @param low - the smallest value
   * @param high - the largest value (inclusive)
   */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  /**
   * A normal deviate (Box–Muller). Each call consumes exactly two uniforms and caches nothing, so
   * {@link Random.state} captures everything.
   * @param mean - the mean
   * @param std - the standard deviation
   */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.next(); // in (0, 1], so the logarithm is finite
    const v = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * A uniformly random ordering of 0..n−1 (Fisher–Yates, n − 1 draws).
   * @param n - how many integers (0 … n − 1)
   */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    this.permutationInto(order, n);
    return order;
  }

  /**
   * {@link Random.permutation} written into the first `n` places of `order` (the same draws and the same ordering),
   * for callers that draw many small permutations and keep one array for them.
   * @param order - where the permutation goes (at least `n` long)
   * @param n - how many integers (0 … n − 1)
   */
  permutationInto(order: Int32Array, n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new EngramError(`permutationInto: n must be a non-negative integer, got ${n}`);
    if (order.length < n) throw new EngramError(`permutationInto: the array holds ${order.length} places, ${n} needed`);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = order[i] as number;
      order[i] = order[j] as number;
      order[j] = t;
    }
  }

  /** An independent generator derived from this one (for per-worker or per-layer streams). */
  fork(): Random {
    return new Random(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
