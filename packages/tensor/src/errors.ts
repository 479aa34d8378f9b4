/**
 * Every error Engram throws on purpose is an {@link EngramError}, so callers can tell a misuse
 * (a wrong shape, a malformed file) from a bug.
 */
export class EngramError extends Error {
  override name = 'EngramError';
}

/** A shape mismatch: the message names the op and every shape involved. */
export class ShapeError extends EngramError {
  override name = 'ShapeError';
  constructor(op: string, detail: string, shapes: readonly (readonly number[])[]) {
    super(`${op}: ${detail} (shapes ${shapes.map(formatShape).join(', ')})`);
  }
}

/** Formats a shape the way error messages print it: `[2, 3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
