/**
 * The conformance suite, run on every backend: each op's value against the TypeScript reference
 * backend, and its gradient against central finite differences accumulated in float64.
 */
import { describe, expect, it } from 'vitest';
import { type Backend, Random, type Tensor, createCpuBackend, mul, noGrad, referenceKernels, sum, tensor } from '../index.js';
import { type InputSpec, type OpCase, opCases } from './conformance-cases.js';

/** Step of the central difference. Large enough that float32 rounding in the op stays small. */
const FD_STEP = 1e-2;
/** Relative-plus-absolute tolerances for values and gradients. */
const VALUE_TOLERANCE = 1e-4;
const GRADIENT_TOLERANCE = 2e-2;

const reference = createCpuBackend({ simd: false });

function draw(spec: InputSpec, rng: Random): Float32Array {
  const low = spec.low ?? -2;
  const high = spec.high ?? 2;
  const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    let v = rng.uniform(low, high);
    while (spec.awayFromZero !== undefined && Math.abs(v) < spec.awayFromZero) v = rng.uniform(low, high);
    data[i] = v;
  }
  return data;
}

function close(actual: Float32Array, expected: Float32Array, tolerance: number): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} vs ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= tolerance * (1 + Math.abs(e)))) return `element ${i}: ${a} vs expected ${e}`;
  }
  return null;
}

function runCase(c: OpCase, backend: Backend, data: Float32Array[], requiresGrad: boolean): { inputs: Tensor[]; out: Tensor } {
  const inputs = c.inputs.map((spec, i) =>
    tensor(data[i] as Float32Array, spec.shape, { backend, requiresGrad: requiresGrad && !(c.noGrad ?? []).includes(i) }),
  );
  return { inputs, out: c.run(...inputs) };
}

/** Registers the suite for one backend. */
export function conformanceSuite(label: string, makeBackend: () => Backend, tolerances: { valueTolerance?: number } = {}): void {
  const valueTolerance = tolerances.valueTolerance ?? VALUE_TOLERANCE;
  describe(`conformance: ${label}`, () => {
    const backend = makeBackend();
    it('implements every kernel it claims (the reference backend has each of them)', () => {
      const kernels = backend.kernels as unknown as Record<string, unknown>;
      for (const name of Object.keys(referenceKernels)) expect(typeof kernels[name], `kernel ${name}`).toBe('function');
    });
    for (const c of opCases) {
      it(`${c.name}: value matches the reference`, () => {
        const rng = new Random(7);
        const data = c.inputs.map((spec) => draw(spec, rng));
        const expected = runCase(c, reference, data, false).out;
        const actual = runCase(c, backend, data, false).out;
        expect(actual.shape).toEqual(expected.shape);
        expect(close(actual.toArray(), expected.toArray(), valueTolerance)).toBeNull();
      });

      // An op with no differentiable input (sign, step, equal) has only its value checked.
      const differentiable = c.inputs.some((_, i) => !(c.noGrad ?? []).includes(i));
      it.runIf(differentiable)(`${c.name}: gradient matches finite differences`, () => {
        const rng = new Random(11);
        const data = c.inputs.map((spec) => draw(spec, rng));
        const { inputs, out } = runCase(c, backend, data, true);
        // A random projection makes the loss sensitive to every output element.
        const projection = Float32Array.from({ length: out.size }, () => rng.uniform(-1, 1));
        const weights = tensor(projection, out.shape, { backend });
        sum(mul(out, weights)).backward();
        const lossAt = (values: Float32Array[]): number =>
          noGrad(() => {
            const o = runCase(c, backend, values, false).out;
            const p = o.dataSync();
            let total = 0;
            for (let i = 0; i < p.length; i++) total += (p[i] as number) * (projection[i] as number);
            return total;
          });
        c.inputs.forEach((_, k) => {
          if ((c.noGrad ?? []).includes(k)) return;
          const input = inputs[k] as Tensor;
          expect(input.grad, `input ${k} got no gradient`).not.toBeNull();
          const analytic = (input.grad as Tensor).toArray();
          const numeric = new Float32Array(analytic.length);
          for (let i = 0; i < numeric.length; i++) {
            const plus = data.map((d) => d.slice());
            const minus = data.map((d) => d.slice());
            (plus[k] as Float32Array)[i] = ((data[k] as Float32Array)[i] as number) + FD_STEP;
            (minus[k] as Float32Array)[i] = ((data[k] as Float32Array)[i] as number) - FD_STEP;
            numeric[i] = (lossAt(plus) - lossAt(minus)) / (2 * FD_STEP);
          }
          expect(close(analytic, numeric, GRADIENT_TOLERANCE), `gradient of input ${k}`).toBeNull();
        });
      });
    }
  });
}

/**
 * Fails when some kernel is exercised by no conformance case: runs every case (value and backward) on a
 * backend whose kernels record their calls, then compares with the reference backend's kernel list.
 */
export function kernelCoverageSuite(): void {
  it('every kernel is exercised by some conformance case (value or gradient)', () => {
    const called = new Set<string>();
    const base = createCpuBackend({ simd: false });
    const kernels = Object.fromEntries(
      Object.entries(base.kernels as unknown as Record<string, (...args: unknown[]) => unknown>).map(([name, kernel]) => [
        name,
        (...args: unknown[]) => {
          called.add(name);
          return kernel(...args);
        },
      ]),
    );
    const recording = { ...base, kernels } as unknown as Backend;
    const rng = new Random(3);
    for (const c of opCases) {
      const data = c.inputs.map((spec) => draw(spec, rng));
      const { out } = runCase(c, recording, data, true);
      if (out.requiresGrad)
        sum(
          mul(
            out,
            tensor(
              Float32Array.from({ length: out.size }, () => rng.uniform(-1, 1)),
              out.shape,
              { backend: recording },
            ),
          ),
        ).backward();
    }
    const missing = Object.keys(referenceKernels).filter((name) => !called.has(name));
    expect(missing, 'kernels no conformance case reaches').toEqual([]);
  });
}
