import { Random, type Tensor, add, embeddingBag, mul, randomNormal, randomUniform, reshape, sigmoid, softmax, sum, tensor } from '@engram/tensor';
import { gradientCheck } from '@engram/tensor/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  address,
  constrainHeadParameters,
  constrainInterface,
  headParameterTable,
  contentAddressing,
  convolutionalShift,
  headParameterLengths,
  headParameterSize,
  interpolate,
  memoryAttention,
  bagMemoryHopsAttention,
  memoryHopsAttention,
  read,
  sharpen,
  write,
} from './index.js';

const close = (actual: Tensor, expected: number[][], digits = 5): void => {
  const flat = actual.toArray();
  for (const [i, e] of expected.flat().entries()) expect(flat[i]).toBeCloseTo(e, digits);
};

// A 4 × 4 memory (batch 1) with orthogonal-ish rows, so cosine similarities are easy by hand.
const MEMORY = tensor([
  [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [1, 1, 0, 0],
    [0, 0, 0, 2],
  ],
]);

describe('content addressing (eq. 5–6), by hand on a 4 × 4 memory', () => {
  it.each([
    // key, β, expected weights: softmax(β · cos(k, M_i))
    { key: [1, 0, 0, 0], beta: 0, expected: [0.25, 0.25, 0.25, 0.25] },
    { key: [1, 0, 0, 0], beta: 1, similarities: [1, 0, Math.SQRT1_2, 0] },
    { key: [0, 0, 0, 5], beta: 10, similarities: [0, 0, 0, 1] },
    { key: [1, 1, 0, 0], beta: 2, similarities: [Math.SQRT1_2, Math.SQRT1_2, 1, 0] },
  ])('key $key, β = $beta', ({ key, beta, expected, similarities }) => {
    const w = contentAddressing(MEMORY, tensor([key]), tensor([[beta]]));
    const want =
      expected ??
      (() => {
        const e = (similarities as number[]).map((s) => Math.exp(beta * s));
        const total = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / total);
      })();
    close(w, [want]);
  });

  it('gives a zero-norm memory row a finite, uniform share (the named ε)', () => {
    const w = contentAddressing(
      tensor([
        [
          [0, 0],
          [0, 0],
        ],
      ]),
      tensor([[1, 0]]),
      tensor([[5]]),
    );
    close(w, [[0.5, 0.5]]);
  });
});

describe('location addressing (eq. 7–9), by hand', () => {
  const wc = tensor([[0.1, 0.2, 0.3, 0.4]]);
  const prev = tensor([[1, 0, 0, 0]]);
  it('interpolation: g = 1 keeps content, g = 0 keeps the previous weighting, g = 0.5 blends', () => {
    close(interpolate(wc, prev, tensor([[1]])), [[0.1, 0.2, 0.3, 0.4]]);
    close(interpolate(wc, prev, tensor([[0]])), [[1, 0, 0, 0]]);
    close(interpolate(wc, prev, tensor([[0.5]])), [[0.55, 0.1, 0.15, 0.2]]);
  });
  it('shift: +1 rotates forward, −1 backward, a spread blurs', () => {
    close(convolutionalShift(wc, tensor([[0, 0, 1]])), [[0.4, 0.1, 0.2, 0.3]]);
    close(convolutionalShift(wc, tensor([[1, 0, 0]])), [[0.2, 0.3, 0.4, 0.1]]);
    close(convolutionalShift(prev, tensor([[0.25, 0.5, 0.25]])), [[0.5, 0.25, 0, 0.25]]);
    // Five allowed shifts (on N = 5): +2.
    close(convolutionalShift(tensor([[0.1, 0.2, 0.3, 0.4, 0]]), tensor([[0, 0, 0, 0, 1]])), [[0.4, 0, 0.1, 0.2, 0.3]]);
  });
  it('sharpening: γ = 2 squares and renormalises', () => {
    const total = 0.01 + 0.04 + 0.09 + 0.16;
    close(sharpen(wc, tensor([[2]])), [[0.01 / total, 0.04 / total, 0.09 / total, 0.16 / total]]);
  });
});

describe('read and write (eq. 2–4), by hand', () => {
  it('reads the weighted sum of rows', () => {
    close(read(MEMORY, tensor([[0.5, 0, 0.5, 0]])), [[1, 0.5, 0, 0]]);
  });
  it('erases then adds', () => {
    const m = write(MEMORY, [{ weighting: tensor([[0, 0, 1, 0]]), erase: tensor([[1, 0, 0, 0]]), add: tensor([[0, 0, 3, 0]]) }]);
    close(m, [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 1, 3, 0],
      [0, 0, 0, 2],
    ]);
  });
  it('applies every erase before any add, whatever the heads order', () => {
    const a = { weighting: tensor([[1, 0, 0, 0]]), erase: tensor([[0, 0, 0, 0]]), add: tensor([[0, 0, 7, 0]]) };
    const b = { weighting: tensor([[1, 0, 0, 0]]), erase: tensor([[1, 1, 1, 1]]), add: tensor([[0, 0, 0, 0]]) };
    const ab = write(MEMORY, [a, b]).toArray();
    expect(write(MEMORY, [b, a]).toArray()).toEqual(ab);
    expect(Array.from(ab.subarray(0, 4))).toEqual([0, 0, 7, 0]);
  });
});

describe('fused kernels equal the composed definitions', () => {
  it('content addressing and write, value and gradient', () => {
    const rng = new Random(21);
    const memory = randomNormal([3, 7, 4], rng);
    const key = randomNormal([3, 4], rng);
    const strength = randomUniform([3, 1], rng, 0.5, 3);
    const w = softmax(randomNormal([3, 7], rng), -1);
    const e = randomUniform([3, 4], rng, 0, 1);
    const a = randomNormal([3, 4], rng);
    for (const [fused, composed] of [
      [(m: Tensor, k: Tensor) => contentAddressing(m, k, strength), (m: Tensor, k: Tensor) => contentAddressing(m, k, strength, { fused: false })],
      [
        (m: Tensor, k: Tensor) => write(m, [{ weighting: w, erase: e, add: k }]),
        (m: Tensor, k: Tensor) => write(m, [{ weighting: w, erase: e, add: k }], { fused: false }),
      ],
    ] as [(m: Tensor, k: Tensor) => Tensor, (m: Tensor, k: Tensor) => Tensor][]) {
      const inputs = [memory, key === undefined ? a : key];
      const f = fused(memory, inputs[1] as Tensor).toArray();
      const c = composed(memory, inputs[1] as Tensor).toArray();
      for (const [i, v] of f.entries()) expect(v).toBeCloseTo(c[i] as number, 5);
      expect(gradientCheck(fused, [memory, a]).maxError).toBeLessThan(2e-2);
    }
  });
});

describe('several write heads, fused', () => {
  it('equal the composed write bit for bit, with the same gradients, for 2, 3 and 5 heads', () => {
    const rng = new Random(33);
    for (const count of [2, 3, 5]) {
      const memory = randomNormal([2, 6, 5], rng);
      const heads = Array.from({ length: count }, () => ({
        weighting: softmax(randomNormal([2, 6], rng), -1),
        erase: randomUniform([2, 5], rng, 0, 1),
        add: randomNormal([2, 5], rng),
      }));
      const fused = write(memory, heads);
      const composed = write(memory, heads, { fused: false });
      expect(Array.from(fused.toArray())).toEqual(Array.from(composed.toArray()));
      // Gradients with respect to the memory and every head's vectors, through a weighted sum.
      const weights = randomNormal([2, 6, 5], rng);
      const gradients = (fusedPath: boolean) => {
        const leaves = [memory, ...heads.flatMap((h) => [h.weighting, h.erase, h.add])].map((t) => tensor(t.toArray(), t.shape, { requiresGrad: true }));
        const [m, ...rest] = leaves as [Tensor, ...Tensor[]];
        const hs = heads.map((_, h) => ({ weighting: rest[3 * h] as Tensor, erase: rest[3 * h + 1] as Tensor, add: rest[3 * h + 2] as Tensor }));
        write(m, hs, { fused: fusedPath }).mul(weights).sum().backward();
        return leaves.map((t) => Array.from(t.grad?.toArray() ?? []));
      };
      const [f, c] = [gradients(true), gradients(false)];
      for (const [i, grad] of f.entries()) for (const [j, v] of grad.entries()) expect(v).toBeCloseTo(c[i]?.[j] as number, 5);
    }
  });

  it('pass finite differences', () => {
    const rng = new Random(34);
    const memory = randomNormal([1, 4, 3], rng);
    const second = { weighting: softmax(randomNormal([1, 4], rng), -1), erase: randomUniform([1, 3], rng, 0, 1), add: randomNormal([1, 3], rng) };
    const check = gradientCheck(
      (m: Tensor, w: Tensor, e: Tensor, a: Tensor) => write(m, [{ weighting: w, erase: e, add: a }, second]),
      [memory, softmax(randomNormal([1, 4], rng), -1), randomUniform([1, 3], rng, 0.1, 0.9), randomNormal([1, 3], rng)],
    );
    expect(check.maxError).toBeLessThan(2e-2);
  });
});

describe('fused memory-network attention equals the composed ops', () => {
  it('in softmax and linear-start mode, with and without a mask, values and gradients', () => {
    const rng = new Random(11);
    const q = randomNormal([3, 4], rng);
    const m = randomNormal([3, 6, 4], rng);
    const c = randomNormal([3, 6, 4], rng);
    const mask = tensor([
      [1, 1, 1, 0, 0, 0],
      [1, 1, 1, 1, 1, 1],
      [1, 0, 0, 0, 0, 0],
    ]);
    for (const options of [{}, { softmax: false }]) {
      for (const withMask of [mask, undefined]) {
        const fused = memoryAttention(q, m, c, withMask, options);
        const composed = memoryAttention(q, m, c, withMask, { ...options, fused: false });
        for (const key of ['weights', 'output'] as const) {
          const expected = composed[key].toArray();
          for (const [i, v] of fused[key].toArray().entries()) expect(v).toBeCloseTo(expected[i] as number, 5);
        }
      }
    }
    for (const fused of [true, false]) {
      const report = gradientCheck((a: Tensor, b: Tensor, d: Tensor) => memoryAttention(a, b, d, mask, { fused }).output, [q, m, c]);
      expect(report.maxError).toBeLessThan(2e-2);
    }
  });
});

describe('fused memory hops equal the composed hops', () => {
  it('values and gradients (m, c, u, H) for any hops, linear units, linear start and mask', () => {
    const rng = new Random(12);
    const mask = tensor([
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
    ]);
    for (const hops of [1, 3]) {
      for (const linearUnits of [0, 2, 4]) {
        for (const options of [{ mask }, { softmax: false, mask }, {}]) {
          const inputs = [randomNormal([2, 4], rng), randomNormal([2, 5, 4], rng), randomNormal([2, 5, 4], rng), randomNormal([4, 4], rng, 0, 0.5)];
          const projections = [randomNormal([2, 4], rng), ...Array.from({ length: hops }, () => randomNormal([2, 5], rng))];
          const run = (fused: boolean) => {
            const leaves = inputs.map((x) => tensor(x.toArray(), x.shape, { requiresGrad: true }));
            const [u, m, c, hop] = leaves as [Tensor, Tensor, Tensor, Tensor];
            const result = memoryHopsAttention(u, m, c, hop, hops, { ...options, linearUnits, fused });
            const parts = [result.output, ...result.weights].map((x, i) => sum(mul(x, projections[i] as Tensor)));
            parts.reduce((a, b) => add(a, b)).backward();
            return { values: [result.output, ...result.weights].map((x) => x.toArray()), grads: leaves.map((x) => (x.grad as Tensor).toArray()) };
          };
          const fused = run(true);
          const composed = run(false);
          for (const key of ['values', 'grads'] as const) {
            fused[key].forEach((array, j) => {
              const expected = composed[key][j] as Float32Array;
              for (const [i, v] of array.entries()) {
                const e = expected[i] as number;
                expect(Math.abs(v - e), `${key} ${j}[${i}]: ${v} vs ${e}, ${hops} hops, ${linearUnits} linear`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(e)));
              }
            });
          }
        }
      }
    }
  });

  it('over bags of table rows: the values and the tables’ gradients of embedding the memories first', () => {
    const rng = new Random(13);
    const rows = 6;
    const [batch, slots, words, d, hops] = [2, 4, 2, 5, 3];
    const indices = Int32Array.from({ length: batch * slots * words }, () => rng.int(0, rows - 1));
    const weightIndices = Int32Array.from({ length: indices.length }, () => rng.int(0, 1));
    const weights = randomNormal([2, d], rng);
    const mask = tensor([
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ]);
    const inputs = [randomNormal([batch, d], rng), randomNormal([rows, d], rng), randomNormal([rows, d], rng), randomNormal([d, d], rng, 0, 0.5)];
    const run = (bagged: boolean) => {
      const leaves = inputs.map((x) => tensor(x.toArray(), x.shape, { requiresGrad: true }));
      const [u, a, c, hop] = leaves as [Tensor, Tensor, Tensor, Tensor];
      const memory = (table: Tensor) => reshape(embeddingBag(table, indices, weights, weightIndices, words), [batch, slots, d]);
      const result = bagged
        ? bagMemoryHopsAttention(u, [a, c], { indices, weights, weightIndices, words }, hop, hops, { mask, linearUnits: 2 })
        : memoryHopsAttention(u, memory(a), memory(c), hop, hops, { mask, linearUnits: 2, fused: false });
      sum(mul(result.output, result.output)).backward();
      return [result.output.toArray(), ...leaves.map((x) => (x.grad as Tensor).toArray())];
    };
    const bagged = run(true);
    const composed = run(false);
    bagged.forEach((array, j) => {
      for (const [i, v] of array.entries()) expect(Math.abs(v - (composed[j]?.[i] as number)), `${j}[${i}]`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(v)));
    });
  });

  it('over bags of table rows with adjacent tying: the values and the K + 1 tables’ gradients of reading hop by hop', () => {
    const rng = new Random(14);
    const rows = 5;
    const [batch, slots, words, d, hops] = [3, 4, 3, 6, 3];
    const indices = Int32Array.from({ length: batch * slots * words }, () => rng.int(0, rows - 1));
    const weightIndices = Int32Array.from({ length: indices.length }, () => rng.int(0, 1));
    const weights = randomNormal([2, d], rng);
    const mask = tensor(
      Float32Array.from({ length: batch * slots }, (_, i) => (i % slots === 3 ? 0 : 1)),
      [batch, slots],
    );
    const inputs = [randomNormal([batch, d], rng), ...Array.from({ length: hops + 1 }, () => randomNormal([rows, d], rng))];
    const run = (bagged: boolean) => {
      const leaves = inputs.map((x) => tensor(x.toArray(), x.shape, { requiresGrad: true }));
      const [u0, ...tables] = leaves as [Tensor, ...Tensor[]];
      const memory = (table: Tensor) => reshape(embeddingBag(table, indices, weights, weightIndices, words), [batch, slots, d]);
      let output: Tensor;
      if (bagged) output = bagMemoryHopsAttention(u0, tables, { indices, weights, weightIndices, words }, null, hops, { mask }).output;
      else {
        output = u0;
        for (let k = 0; k < hops; k++) output = add(output, memoryAttention(output, memory(tables[k] as Tensor), memory(tables[k + 1] as Tensor), mask).output);
      }
      sum(mul(output, output)).backward();
      return [output.toArray(), ...leaves.map((x) => (x.grad as Tensor).toArray())];
    };
    const bagged = run(true);
    const composed = run(false);
    bagged.forEach((array, j) => {
      for (const [i, v] of array.entries()) expect(Math.abs(v - (composed[j]?.[i] as number)), `${j}[${i}]`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(v)));
    });
  });

  it('rejects a hop matrix of the wrong shape, naming it', () => {
    const rng = new Random(1);
    expect(() =>
      memoryHopsAttention(randomNormal([1, 3], rng), randomNormal([1, 2, 3], rng), randomNormal([1, 2, 3], rng), randomNormal([3, 2], rng), 2),
    ).toThrow(/hop matrix H/);
  });
});

describe('fused addressing equals the composed steps', () => {
  it('value and gradient of address()', () => {
    const rng = new Random(22);
    const memory = randomNormal([2, 9, 4], rng);
    const previous = softmax(randomNormal([2, 9], rng), -1);
    const raw = randomNormal([2, headParameterSize({ kind: 'read', memoryWidth: 4, shiftWidth: 5 })], rng, 0, 2);
    const layout = { kind: 'read', memoryWidth: 4, shiftWidth: 5 } as const;
    const fused = address(memory, previous, constrainHeadParameters(raw, layout)).toArray();
    const composed = address(memory, previous, constrainHeadParameters(raw, layout), { fused: false }).toArray();
    for (const [i, v] of fused.entries()) expect(v).toBeCloseTo(composed[i] as number, 5);
    const report = gradientCheck((m, p, r) => address(m, p, constrainHeadParameters(r, layout)), [memory, previous, raw]);
    expect(report.maxError).toBeLessThan(2e-2);
  });
});

describe('memory-network attention', () => {
  // Three slots; the third is masked in both cases, so its large values must not leak.
  const m = tensor([
    [
      [1, 0],
      [0, 1],
      [5, 5],
    ],
  ]);
  const c = tensor([
    [
      [1, 2],
      [3, 4],
      [100, 100],
    ],
  ]);
  it('attends by inner product and masks empty slots', () => {
    const { weights, output } = memoryAttention(tensor([[2, 0]]), m, c, tensor([[1, 1, 0]]));
    const p0 = Math.exp(2) / (Math.exp(2) + 1);
    close(weights, [[p0, 1 - p0, 0]]);
    close(output, [[p0 * 1 + (1 - p0) * 3, p0 * 2 + (1 - p0) * 4]], 4);
  });

  it('linear start drops the softmax: p = uᵀm, masked slots 0', () => {
    const { weights, output } = memoryAttention(tensor([[2, 0.5]]), m, c, tensor([[1, 1, 0]]), { softmax: false });
    close(weights, [[2, 0.5, 0]]);
    close(output, [[2 * 1 + 0.5 * 3, 2 * 2 + 0.5 * 4]], 4);
  });
});

describe('invariants (fast-check)', () => {
  const batchWeighting = (rng: Random, n: number): Tensor => softmax(randomNormal([2, n], rng), -1);
  const isDistribution = (w: Tensor): boolean => {
    const data = w.toArray();
    const n = w.shape[1] as number;
    for (let b = 0; b < (w.shape[0] as number); b++) {
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = data[b * n + i] as number;
        if (!(v >= 0)) return false;
        total += v;
      }
      if (Math.abs(total - 1) > 1e-4) return false;
    }
    return true;
  };

  it('every weighting is non-negative and sums to 1', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 3, max: 12 }), (seed, n) => {
        const rng = new Random(seed);
        const raw = randomNormal([2, headParameterSize({ kind: 'read', memoryWidth: 5 })], rng, 0, 3);
        const params = constrainHeadParameters(raw, { kind: 'read', memoryWidth: 5 });
        const memory = randomNormal([2, n, 5], rng);
        const prev = batchWeighting(rng, n);
        return isDistribution(contentAddressing(memory, params.key, params.strength)) && isDistribution(address(memory, prev, params));
      }),
      { numRuns: 100 },
    );
  });

  it('γ = 1 sharpening is the identity', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const w = batchWeighting(new Random(seed), 6);
        const out = sharpen(w, tensor([[1], [1]])).toArray();
        return w.toArray().every((v, i) => Math.abs(v - (out[i] as number)) < 1e-6);
      }),
    );
  });

  it('a one-hot shift is a circular roll', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 4 }), (seed, hot) => {
        const w = batchWeighting(new Random(seed), 7);
        const shift = Array.from({ length: 5 }, (_, i) => (i === hot ? 1 : 0));
        const out = convolutionalShift(w, tensor([shift, shift])).toArray();
        const data = w.toArray();
        const by = hot - 2;
        for (let b = 0; b < 2; b++) {
          for (let i = 0; i < 7; i++) if (Math.abs((out[b * 7 + i] as number) - (data[b * 7 + ((((i - by) % 7) + 7) % 7)] as number)) > 1e-6) return false;
        }
        return true;
      }),
    );
  });

  it('an interpolation gate of 0 returns the previous weighting', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const rng = new Random(seed);
        const prev = batchWeighting(rng, 5);
        return interpolate(batchWeighting(rng, 5), prev, tensor([[0], [0]]))
          .toArray()
          .every((v, i) => v === prev.toArray()[i]);
      }),
    );
  });

  it('erase = 1 with add = 0 clears the addressed row', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 3 }), (seed, row) => {
        const memory = randomNormal([1, 4, 3], new Random(seed));
        const weighting = tensor([[0, 1, 2, 3].map((i) => (i === row ? 1 : 0))]);
        const out = write(memory, [{ weighting, erase: tensor([[1, 1, 1]]), add: tensor([[0, 0, 0]]) }]).toArray();
        const before = memory.toArray();
        return out.every((v, i) => (Math.floor(i / 3) === row ? v === 0 : v === before[i]));
      }),
    );
  });
});

describe('gradients against finite differences', () => {
  const rng = new Random(8);
  const memory = randomNormal([2, 5, 3], rng);
  const w = softmax(randomNormal([2, 5], rng), -1);
  const positive = (shape: number[]) => randomUniform(shape, rng, 0.5, 2);
  it.each([
    [
      'contentAddressing',
      (m: Tensor, k: Tensor, b: Tensor) => contentAddressing(m, k, b, { validate: false }),
      [memory, randomNormal([2, 3], rng), positive([2, 1])],
    ],
    [
      'interpolate',
      (a: Tensor, b: Tensor, g: Tensor) => interpolate(a, b, g, { validate: false }),
      [w, softmax(randomNormal([2, 5], rng), -1), randomUniform([2, 1], rng, 0.1, 0.9)],
    ],
    ['convolutionalShift', (a: Tensor, s: Tensor) => convolutionalShift(a, s, { validate: false }), [w, positive([2, 3])]],
    ['sharpen', (a: Tensor, g: Tensor) => sharpen(a, g, { validate: false }), [w, positive([2, 1]).add(1)]],
    ['read', (m: Tensor, a: Tensor) => read(m, a), [memory, w]],
    [
      'write',
      (m: Tensor, a: Tensor, e: Tensor, d: Tensor) => write(m, [{ weighting: a, erase: e, add: d }]),
      [memory, w, randomUniform([2, 3], rng, 0, 1), randomNormal([2, 3], rng)],
    ],
    [
      'memoryAttention',
      (q: Tensor, m: Tensor, c: Tensor) => memoryAttention(q, m, c).output,
      [randomNormal([2, 3], rng), memory, randomNormal([2, 5, 3], rng)],
    ],
    [
      'address (all four steps through the constrained parameters)',
      (m: Tensor, prev: Tensor, raw: Tensor) => address(m, prev, constrainHeadParameters(raw, { kind: 'read', memoryWidth: 3 })),
      [memory, w, randomNormal([2, headParameterSize({ kind: 'read', memoryWidth: 3 })], rng)],
    ],
  ] as [string, (...xs: Tensor[]) => Tensor, Tensor[]][])('%s', (_, fn, inputs) => {
    expect(gradientCheck(fn, inputs).maxError).toBeLessThan(2e-2);
  });
});

describe('head parameters', () => {
  it('lays out one table of lengths', () => {
    expect(headParameterLengths({ kind: 'write', memoryWidth: 20 })).toEqual({ key: 20, strength: 1, gate: 1, shift: 3, sharpening: 1, erase: 20, add: 20 });
    expect(headParameterSize({ kind: 'read', memoryWidth: 20, shiftWidth: 5 })).toBe(28);
  });
  it('constrains every parameter into its valid range', () => {
    const raw = randomNormal([3, headParameterSize({ kind: 'write', memoryWidth: 4 })], new Random(2), 0, 10);
    const p = constrainHeadParameters(raw, { kind: 'write', memoryWidth: 4 });
    expect(p.strength.toArray().every((v) => v >= 0)).toBe(true);
    expect(p.gate.toArray().every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(p.sharpening.toArray().every((v) => v >= 1)).toBe(true);
    expect(p.erase?.toArray().every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(p.shift.shape).toEqual([3, 3]);
  });
});

describe('bad input names what was wrong', () => {
  it.each([
    [
      'a key of the wrong width',
      () => contentAddressing(MEMORY, tensor([[1, 0, 0]]), tensor([[1]])),
      /contentAddressing: key k must have shape \[1, 4\].*\[1, 3\]/,
    ],
    ['a negative strength', () => contentAddressing(MEMORY, tensor([[1, 0, 0, 0]]), tensor([[-1]])), /contentAddressing: key strength β must be ≥ 0, got -1/],
    [
      'a shift weighting of even length',
      () => convolutionalShift(tensor([[1, 0, 0, 0]]), tensor([[0.5, 0.5]])),
      /convolutionalShift: shift weighting s must have shape \[1, S\] with S odd/,
    ],
    ['a shift weighting longer than N', () => convolutionalShift(tensor([[1, 0, 0]]), tensor([[0.2, 0.2, 0.2, 0.2, 0.2]])), /S odd and ≤ N = 3/],
    [
      'a gate outside [0, 1]',
      () => interpolate(tensor([[1, 0]]), tensor([[0, 1]]), tensor([[1.5]])),
      /interpolate: interpolation gate g must be in \[0, 1\], got 1.5/,
    ],
    ['γ below 1', () => sharpen(tensor([[1, 0]]), tensor([[0.5]])), /sharpen: sharpening γ must be ≥ 1, got 0.5/],
    [
      'raw head parameters of the wrong size',
      () => constrainHeadParameters(tensor([[1, 2]]), { kind: 'read', memoryWidth: 4 }),
      /needs \[batch, 10\] raw parameters, got \[1, 2\]/,
    ],
    ['an even shift width', () => headParameterLengths({ kind: 'read', memoryWidth: 4, shiftWidth: 2 }), /shiftWidth must be a positive odd integer/],
    [
      'a write erase vector of the wrong width',
      () => write(MEMORY, [{ weighting: tensor([[1, 0, 0, 0]]), erase: tensor([[1]]), add: tensor([[1, 1, 1, 1]]) }]),
      /write head 0 erase vector e must have shape \[1, 4\]/,
    ],
  ])('%s', (_, run, message) => {
    expect(run).toThrow(message);
  });
});

describe('interface tables', () => {
  it('constrain any memory model’s interface vector by its own table, and the NTM head by its table', () => {
    const raw = tensor([[1, -2, 3, 0.5]]);
    const table = [
      { name: 'gate', length: 1, activation: (x: Tensor) => sigmoid(x) },
      { name: 'vector', length: 3, activation: (x: Tensor) => x },
    ] as const;
    const out = constrainInterface(raw, table, 'a toy interface');
    expect(out.gate.item()).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(Array.from(out.vector.toArray())).toEqual([-2, 3, 0.5]);
    expect(() => constrainInterface(tensor([[1, 2]]), table, 'a toy interface')).toThrow(/a toy interface needs \[batch, 4\]/);
    const layout = { kind: 'write' as const, memoryWidth: 2 };
    expect(headParameterTable(layout).map((p) => `${p.name}:${p.length}`)).toEqual([
      'key:2',
      'strength:1',
      'gate:1',
      'shift:3',
      'sharpening:1',
      'erase:2',
      'add:2',
    ]);
  });
});
