/**
 * Every error Engram throws on purpose is an {@link EngramError}, so callers can tell a misuse
 * (a wrong shape, a malformed file) from a bug.
 */
export class EngramError extends Error {
  /** Always `EngramError`. */
  override name = 'EngramError';
}

/** A shape mismatch: the message names the op and every shape involved. */
export class ShapeError extends EngramError {
  /** Always `ShapeError`. */
  override name = 'ShapeError';
  /**
   * @param op the op that failed
   * @param detail what was wrong
   * @param shapes every shape involved
   */
  constructor(op: string, detail: string, shapes: readonly (readonly number[])[]) {
    super(`${op}: ${detail} (shapes ${shapes.map(formatShape).join(', ')})`);
  }
}

/**
 * Formats a shape the way error messages print it: `[2, 3]`.
 * @param shape - the shape
 */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A non-finite loss or gradient: training stops and names the step. */
export class NonFiniteError extends EngramError {
  /** Always `NonFiniteError`. */
  override name = 'NonFiniteError';
  /**
   * @param step the training step that produced it
   * @param what which quantity was not finite
   */
  constructor(
    /** The training step that produced it. */
    readonly step: number,
    what: string,
  ) {
    super(`training step ${step}: ${what} is not finite (NaN or ±Inf); stopped before updating the weights`);
  }
}
