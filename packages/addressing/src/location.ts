import { EngramError, type Tensor, add, circularConvolution, div, mul, pow, sub, sum } from '@engram/tensor';
import { type ValidateOptions, expectShape, expectValues } from './validate.js';

/** ε added before raising to γ in {@link sharpen}, so 0^γ has a finite gradient with respect to γ. */
export const SHARPEN_EPSILON = 1e-12;

function weightingShape(op: string, what: string, w: Tensor): [number, number] {
  if (w.rank !== 2) throw new EngramError(`${op}: ${what} must have shape [batch, N], got [${w.shape.join(', ')}]`);
  return [w.shape[0] as number, w.shape[1] as number];
}

/** The input checks of {@link interpolate}, also run by the fused `address`. */
export function checkInterpolation(content: Tensor, previous: Tensor, gate: Tensor, options: ValidateOptions = {}): void {
  const op = 'interpolate';
  const [batch, slots] = weightingShape(op, 'content weighting w_c', content);
  expectShape(op, 'previous weighting w_{t−1}', previous, [batch, slots]);
  expectShape(op, 'interpolation gate g', gate, [batch, 1]);
  if (options.validate !== false) expectValues(op, 'interpolation gate g', gate, (v) => v >= 0 && v <= 1, 'in [0, 1]');
}

/**
 * Interpolation gate (NTM eq. 7): blends the content weighting with the previous step's
 * weighting, w_g = g · w_c + (1 − g) · w_{t−1}. g = 1 uses content only; g = 0 keeps the old focus.
 *
 * @param content w_c, `[batch, N]`
 * @param previous w_{t−1}, `[batch, N]`
 * @param gate g ∈ [0, 1], `[batch, 1]`
 * @param options - `validate` checks the shapes and that the gate lies in [0, 1]
 */
export function interpolate(content: Tensor, previous: Tensor, gate: Tensor, options: ValidateOptions = {}): Tensor {
  checkInterpolation(content, previous, gate, options);
  return add(mul(gate, content), mul(sub(1, gate), previous));
}

/**
 * Convolutional shift (NTM eq. 8): rotates the focus by a distribution over allowed shifts,
 * w̃(i) = Σ_j w_g(j) · s(i − j), indices modulo N. The shift weighting has an odd length S and
 * stands for shifts −(S−1)/2 … (S−1)/2 (S = 3 is the paper's −1, 0, +1; any odd S works).
 *
 * @param weighting w_g, `[batch, N]`
 * @param shift s, `[batch, S]`, non-negative and summing to 1
 * @param options - `validate` checks that the shift is a distribution of odd width no wider than the memory
 */
export function convolutionalShift(weighting: Tensor, shift: Tensor, options: ValidateOptions = {}): Tensor {
  checkShift(weighting, shift, options);
  return circularConvolution(weighting, shift);
}

/** The input checks of {@link convolutionalShift}, also run by the fused `address`. */
export function checkShift(weighting: Tensor, shift: Tensor, options: ValidateOptions = {}): void {
  const op = 'convolutionalShift';
  const [batch, slots] = weightingShape(op, 'weighting w_g', weighting);
  const width = shift.shape[1] ?? 0;
  if (shift.rank !== 2 || shift.shape[0] !== batch || width % 2 !== 1 || width > slots) {
    throw new EngramError(
      `convolutionalShift: shift weighting s must have shape [${batch}, S] with S odd and ≤ N = ${slots}, got [${shift.shape.join(', ')}] (weighting [${weighting.shape.join(', ')}])`,
    );
  }
  if (options.validate !== false) expectValues(op, 'shift weighting s', shift, (v) => v >= 0, '≥ 0');
}

/** The input checks of {@link sharpen}, also run by the fused `address`. */
export function checkSharpening(weighting: Tensor, sharpening: Tensor, options: ValidateOptions = {}): void {
  const op = 'sharpen';
  const [batch] = weightingShape(op, 'weighting w̃', weighting);
  expectShape(op, 'sharpening γ', sharpening, [batch, 1]);
  if (options.validate !== false) expectValues(op, 'sharpening γ', sharpening, (v) => v >= 1, '≥ 1');
}

/**
 * Sharpening (NTM eq. 9): counters the blur of the shift, w(i) = w̃(i)^γ / Σ_j w̃(j)^γ, γ ≥ 1.
 * γ = 1 is the identity on a normalised weighting.
 *
 * @param weighting w̃, `[batch, N]`
 * @param sharpening γ ≥ 1, `[batch, 1]`
 * @param options - `validate` checks that γ ≥ 1; `epsilon` keeps the normalising sum above zero
 */
export function sharpen(weighting: Tensor, sharpening: Tensor, options: ValidateOptions & { epsilon?: number } = {}): Tensor {
  checkSharpening(weighting, sharpening, options);
  const powered = pow(add(weighting, options.epsilon ?? SHARPEN_EPSILON), sharpening);
  return div(powered, sum(powered, -1, true));
}
