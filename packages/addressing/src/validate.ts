import { EngramError, ShapeError, type Tensor } from '@engram/tensor';

/** Throws a {@link ShapeError} naming `op` and `what` unless `t` has exactly `expected` shape. */
export function expectShape(op: string, what: string, t: Tensor, expected: readonly number[]): void {
  if (t.rank !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(op, `${what} must have shape [${expected.join(', ')}]`, [t.shape, expected]);
  }
}

/** Throws an {@link EngramError} naming `op` and `what` unless every value satisfies `ok`. */
export function expectValues(op: string, what: string, t: Tensor, ok: (v: number) => boolean, requirement: string): void {
  const data = t.dataSync();
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!ok(v)) throw new EngramError(`${op}: ${what} must be ${requirement}, got ${v} at position ${i}`);
  }
}

/** Options shared by the raw addressing functions. */
export interface ValidateOptions {
  /**
   * Check parameter values (β ≥ 0, g ∈ [0, 1], γ ≥ 1, shift weights ≥ 0). Default true. The NTM
   * turns it off: its parameters come through {@link constrainHeadParameters}, which guarantees
   * them, and reading values back stalls a GPU pipeline.
   */
  validate?: boolean;
}

/** Checks that a memory is `[batch, N, M]` and returns that shape. */
export function memoryShape(op: string, memory: Tensor): [number, number, number] {
  if (memory.rank !== 3) throw new ShapeError(op, 'memory M must have shape [batch, N, M]', [memory.shape]);
  return [memory.shape[0] as number, memory.shape[1] as number, memory.shape[2] as number];
}
