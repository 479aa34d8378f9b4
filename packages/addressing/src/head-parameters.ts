import { EngramError, type Tensor, add, locationAddress, sigmoid, softmax, softplus, split } from '@engram/tensor';
import { contentAddressing } from './content.js';
import { SHARPEN_EPSILON, checkInterpolation, checkSharpening, checkShift, convolutionalShift, interpolate, sharpen } from './location.js';

/** The parameters one head emits, in the order they are laid out in the controller's output. */
export const HEAD_PARAMETERS = ['key', 'strength', 'gate', 'shift', 'sharpening', 'erase', 'add'] as const;
/** One head parameter's name. */
export type HeadParameter = (typeof HEAD_PARAMETERS)[number];

/** The paper's allowed shifts −1, 0, +1. */
export const DEFAULT_SHIFT_WIDTH = 3;

/** What a head looks like: the memory width it addresses, its shift range, read or write. */
export interface HeadLayout {
  /** Memory width M (the key, erase and add vectors' length). */
  memoryWidth: number;
  /** Number of allowed shifts S (odd; default {@link DEFAULT_SHIFT_WIDTH}). */
  shiftWidth?: number;
  /** Write heads also emit erase and add vectors. */
  kind: 'read' | 'write';
}

/**
 * The one table of parameter lengths: key M, strength 1, gate 1, shift S, sharpening 1, and for
 * write heads erase M and add M (0 for read heads).
 * @param layout - the head's shape: memory width and shift range
 */
export function headParameterLengths(layout: HeadLayout): Record<HeadParameter, number> {
  const shiftWidth = layout.shiftWidth ?? DEFAULT_SHIFT_WIDTH;
  if (!Number.isInteger(shiftWidth) || shiftWidth < 1 || shiftWidth % 2 !== 1) {
    throw new EngramError(`headParameterLengths: shiftWidth must be a positive odd integer, got ${shiftWidth}`);
  }
  const writes = layout.kind === 'write' ? layout.memoryWidth : 0;
  return { key: layout.memoryWidth, strength: 1, gate: 1, shift: shiftWidth, sharpening: 1, erase: writes, add: writes };
}

/**
 * Total length of a head's slice of the controller output.
 * @param layout - the head's shape: memory width and shift range
 */
export function headParameterSize(layout: HeadLayout): number {
  return Object.values(headParameterLengths(layout)).reduce((a, b) => a + b, 0);
}

/** A head's parameters after their constraining activations: valid by construction. */
export interface HeadParameters {
  /** k, `[batch, M]` (unconstrained). */
  key: Tensor;
  /** β = softplus(β̂) ≥ 0, `[batch, 1]`. */
  strength: Tensor;
  /** g = σ(ĝ) ∈ [0, 1], `[batch, 1]`. */
  gate: Tensor;
  /** s = softmax(ŝ), `[batch, S]`: a distribution over shifts. */
  shift: Tensor;
  /** γ = 1 + softplus(γ̂) ≥ 1, `[batch, 1]`. */
  sharpening: Tensor;
  /** e = σ(ê) ∈ [0, 1], `[batch, M]` (write heads only). */
  erase?: Tensor;
  /** a, `[batch, M]` (write heads only; unconstrained). */
  add?: Tensor;
}

/** The constraining activation of each parameter, all in one place. */
const ACTIVATIONS: Record<HeadParameter, (raw: Tensor) => Tensor> = {
  key: (raw) => raw,
  strength: (raw) => softplus(raw),
  gate: (raw) => sigmoid(raw),
  shift: (raw) => softmax(raw, -1),
  sharpening: (raw) => add(softplus(raw), 1),
  erase: (raw) => sigmoid(raw),
  add: (raw) => raw,
};

/** One parameter of a controller's interface vector: its name, its length and the activation that makes it valid. */
export interface InterfaceParameter<N extends string = string> {
  /** The parameter's name (the key of the result). */
  name: N;
  /** Its width in the raw vector. */
  length: number;
  /** The constraining activation (identity for an unconstrained vector). */
  activation: (raw: Tensor) => Tensor;
}

/**
 * The NTM head's interface table for a layout: {@link HEAD_PARAMETERS} in order, with their lengths and activations (zero-length parameters left out).
 * @param layout - the head's shape: memory width and shift range
 */
export function headParameterTable(layout: HeadLayout): InterfaceParameter<HeadParameter>[] {
  const lengths = headParameterLengths(layout);
  return HEAD_PARAMETERS.filter((name) => lengths[name] > 0).map((name) => ({ name, length: lengths[name], activation: ACTIVATIONS[name] }));
}

/**
 * Splits a raw interface vector `[batch, Σ lengths]` by a table and applies each parameter's activation, so
 * the memory only ever sees valid parameters. Any memory model brings its own table (the NTM's is
 * {@link headParameterTable}; the DNC's interface vector is another).
 *
 * @param raw the controller's output for this interface, `[batch, Σ lengths]`
 * @param table the parameters in the order they are laid out
 * @param what names the interface in errors
 */
export function constrainInterface<N extends string>(raw: Tensor, table: readonly InterfaceParameter<N>[], what = 'interface'): Record<N, Tensor> {
  const size = table.reduce((n, p) => n + p.length, 0);
  if (raw.rank !== 2 || raw.shape[1] !== size)
    throw new EngramError(`constrainInterface: ${what} needs [batch, ${size}] raw parameters, got [${raw.shape.join(', ')}]`);
  const pieces = split(
    raw,
    table.map((p) => p.length),
    1,
  );
  const out = {} as Record<N, Tensor>;
  table.forEach((p, i) => {
    out[p.name] = p.activation(pieces[i] as Tensor);
  });
  return out;
}

/**
 * Splits a head's raw slice of the controller output (`[batch, headParameterSize(layout)]`) by the
 * NTM's table ({@link headParameterTable}) and applies every constraining activation.
 * @param raw - the controller's raw head output, [batch, headParameterSize(layout)]
 * @param layout - the head's shape: memory width and shift range
 */
export function constrainHeadParameters(raw: Tensor, layout: HeadLayout): HeadParameters {
  return constrainInterface(raw, headParameterTable(layout), `a ${layout.kind} head with M = ${layout.memoryWidth}`) as unknown as HeadParameters;
}

/**
 * The full NTM addressing of one head (Fig. 2), in the paper's order: content addressing →
 * interpolation with the previous weighting → convolutional shift → sharpening. By default the
 * last three run as one fused kernel (`locationAddress`); `{ fused: false }` composes them from
 * {@link interpolate}, {@link convolutionalShift} and {@link sharpen}, and the tests check both agree.
 *
 * @param memory M_t, `[batch, N, M]`
 * @param previous w_{t−1}, `[batch, N]`
 * @param params - the head's constrained parameters for this step (key k, strength β, gate g, shift s, sharpening γ), from `constrainHeadParameters`
 * @param options - `validate` checks shapes and ranges (off in training loops); `fused` (default true) runs the one-kernel location addressing
 * @returns w_t, `[batch, N]`
 */
export function address(memory: Tensor, previous: Tensor, params: HeadParameters, options: { validate?: boolean; fused?: boolean } = {}): Tensor {
  const content = contentAddressing(memory, params.key, params.strength, options);
  if (options.fused !== false) {
    // Steps 2–4 as one kernel forward and one backward (locationAddress), instead of ~25 ops.
    // The same input checks as the composed steps, without computing them.
    checkInterpolation(content, previous, params.gate, options);
    checkShift(content, params.shift, options);
    checkSharpening(content, params.sharpening, options);
    return locationAddress(content, previous, params.gate, params.shift, params.sharpening, SHARPEN_EPSILON);
  }
  const gated = interpolate(content, previous, params.gate, options);
  const shifted = convolutionalShift(gated, params.shift, options);
  return sharpen(shifted, params.sharpening, options);
}
