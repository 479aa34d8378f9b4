import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MatmulArgs } from '../backend.js';
import { Random } from '../random.js';
import { referenceMatmul } from './reference-kernels.js';
import { OPERAND_CACHE_BYTES, loadWasmMatmul } from './wasm-matmul.js';

const wasm = loadWasmMatmul();

function randomArray(n: number, rng: Random): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}

function maxError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe.runIf(wasm !== null)('WebAssembly SIMD matmul', () => {
  const kernel = wasm as NonNullable<typeof wasm>;

  it('matches the TypeScript reference for any shape, transposition and batching', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 3 }),
          m: fc.integer({ min: 1, max: 19 }),
          k: fc.integer({ min: 1, max: 40 }),
          n: fc.integer({ min: 1, max: 37 }),
          transA: fc.boolean(),
          transB: fc.boolean(),
          batchedA: fc.boolean(),
          batchedB: fc.boolean(),
          seed: fc.integer(),
        }),
        ({ seed, ...args }: MatmulArgs & { seed: number }) => {
          const rng = new Random(seed);
          const a = randomArray((args.batchedA ? args.batch : 1) * args.m * args.k, rng);
          const b = randomArray((args.batchedB ? args.batch : 1) * args.k * args.n, rng);
          expect(maxError(kernel.matmul(a, b, args), referenceMatmul(a, b, args))).toBeLessThan(1e-4);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps reused operands correct in its cache, across an arena reset', () => {
    const rng = new Random(4);
    const args: MatmulArgs = { batch: 1, m: 5, k: 129, n: 400, transA: false, transB: false, batchedA: false, batchedB: false };
    const weight = randomArray(129 * 400, rng);
    const input = randomArray(5 * 129, rng);
    const expected = referenceMatmul(input, weight, args);
    for (let i = 0; i < 3; i++) expect(maxError(kernel.matmul(input, weight, args), expected)).toBeLessThan(1e-4);
    // The transposed use of the same array is a different cached form.
    const transposedArgs = { ...args, m: 5, k: 400, n: 129, transB: true };
    const grad = randomArray(5 * 400, rng);
    for (let i = 0; i < 3; i++) expect(maxError(kernel.matmul(grad, weight, transposedArgs), referenceMatmul(grad, weight, transposedArgs))).toBeLessThan(1e-4);
    // Fill the arena with other operands until it must be emptied, then reuse the first again.
    const fillers = Math.ceil(OPERAND_CACHE_BYTES / (129 * 400 * 4)) + 2;
    for (let i = 0; i < fillers; i++) {
      const other = randomArray(129 * 400, rng);
      kernel.matmul(input, other, args);
      kernel.matmul(input, other, args);
    }
    expect(maxError(kernel.matmul(input, weight, args), expected)).toBeLessThan(1e-4);
  });
});
