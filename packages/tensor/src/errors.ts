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

/** Formats a shape the way error messages print it: `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
