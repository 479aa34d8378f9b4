import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RMSProp, Random, SGD, type Tensor, add, gradientNorm, matmul, mul, randomUniform, sum, tensor } from './index.js';
import { PARALLEL_SUM_MIN_FLOATS, splitEvenly, startGradientWorkers } from './workers.js';

const script = new URL('./test-support/gradient-worker-fixture.mjs', import.meta.url);
const shape = [5, 3];

/** The main thread's copy of the fixture's model, with weights unlike the replicas' own (Random(0)). */
function model(): Tensor {
  return randomUniform(shape, new Random(7), -1, 1, { requiresGrad: true });
}

/** Σ (x·W)² over the rows of x, with its gradient left in w.grad. */
function lossOf(w: Tensor, x: Float32Array): number {
  const y = matmul(tensor(x, [x.length / 5, 5]), w);
  const loss = sum(mul(y, y));
  loss.backward();
  return loss.item();
}

/** The layered fixture's loss (replica-fixture.mjs) on this thread: Σ_i Σ (x·W_i)² without W_unused, its gradients left in the W_i. */
function layeredLoss(ws: readonly Tensor[], x: Float32Array, unused: number): number {
  const input = tensor(x, [x.length / 5, 5]);
  const terms = ws
    .filter((_, i) => i !== unused)
    .map((w) => {
      const y = matmul(input, w);
      return sum(mul(y, y));
    });
  const loss = terms.reduce((a, b) => add(a, b));
  loss.backward();
  return loss.item();
}

describe('gradient workers', () => {
  it('sum the replicas’ gradients into the model’s: N threads give one thread’s result up to the order of sums', async () => {
    const rng = new Random(3);
    const x = Float32Array.from({ length: 12 * 5 }, () => rng.next() * 2 - 1);
    const w = model();
    const single = lossOf(w, x);
    const expected = (w.grad as Tensor).dataSync().slice();
    for (const threads of [2, 3]) {
      const workers = await startGradientWorkers({ script, params: [w], init: { shape }, threads });
      try {
        for (let step = 0; step < 2; step++) {
          w.grad = null;
          const shards = splitEvenly(12, threads).map(([a, b]) => ({ x: x.slice(a * 5, b * 5) }));
          const results = await workers.run(shards, (shard) => ({ loss: lossOf(w, shard.x), rows: shard.x.length / 5 }));
          expect(results.map((r) => r.rows)).toEqual(splitEvenly(12, threads).map(([a, b]) => b - a));
          expect(results.reduce((s, r) => s + r.loss, 0)).toBeCloseTo(single, 3);
          const got = (w.grad as Tensor | null)?.dataSync() ?? new Float32Array();
          for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i] as number, 4);
        }
        // New weights reach the workers: after a change every thread computes with it.
        w.assign(new Float32Array(15).fill(0));
        w.grad = null;
        const results = await workers.run(
          splitEvenly(12, threads).map(([a, b]) => ({ x: x.slice(a * 5, b * 5) })),
          (shard) => ({ loss: lossOf(w, shard.x), rows: 0 }),
        );
        expect(results.map((r) => r.loss)).toEqual(results.map(() => 0));
      } finally {
        await workers.close();
      }
      w.assign(model().dataSync().slice());
    }
  });

  it('share the sum of large gradients among the threads: the same bits as adding each shard’s gradients in worker order', async () => {
    // 35,003 floats in three parameters, the middle one without a gradient: each thread's stretch of the sum
    // (PARALLEL_SUM_MIN_FLOATS and up) crosses parameter boundaries.
    const init = { shape, widths: [4000, 1, 3000], unused: 1 };
    expect(5 * (4000 + 1 + 3000)).toBeGreaterThanOrEqual(PARALLEL_SUM_MIN_FLOATS);
    const rng = new Random(11);
    const ws = init.widths.map((width) => randomUniform([5, width], rng, -1, 1, { requiresGrad: true }));
    const layered = (x: Float32Array): number => layeredLoss(ws, x, init.unused);
    const x = Float32Array.from({ length: 9 * 5 }, () => rng.next() * 2 - 1);
    for (const threads of [2, 3]) {
      const shards = splitEvenly(9, threads).map(([a, b]) => ({ x: x.slice(a * 5, b * 5) }));
      // Each shard's gradients on this thread alone, then added in shard order, rounding each sum to float32.
      const expected = ws.map((w) => new Float32Array(w.size));
      shards.forEach((shard, s) => {
        for (const w of ws) w.grad = null;
        layered(shard.x);
        ws.forEach((w, i) => {
          const g = w.grad?.dataSync() ?? new Float32Array(w.size);
          const into = expected[i] as Float32Array;
          for (let j = 0; j < g.length; j++) into[j] = s === 0 ? (g[j] as number) : Math.fround((into[j] as number) + (g[j] as number));
        });
      });
      const workers = await startGradientWorkers({ script, params: ws, init, threads });
      try {
        for (const w of ws) w.grad = null;
        await workers.run(shards, (shard) => layered(shard.x));
        for (const [i, w] of ws.entries()) expect(w.grad?.dataSync()).toEqual(expected[i]);
        expect(ws[init.unused]?.grad?.dataSync().every((g) => g === 0)).toBe(true);
      } finally {
        await workers.close();
      }
    }
  });

  it('share plain SGD’s step among the threads: the same bits as optimizer.step, the next step computed with the new weights', async () => {
    const init = { shape, widths: [4000, 1, 3000], unused: 1 };
    const rng = new Random(12);
    const ws = init.widths.map((width) => randomUniform([5, width], rng, -1, 1, { requiresGrad: true }));
    const x = Float32Array.from({ length: 9 * 5 }, () => rng.next() * 2 - 1);
    const layered = (params: readonly Tensor[], rows: Float32Array): number => layeredLoss(params, rows, init.unused);
    /** The same parameters' values with the same gradients: what optimizer.step on this thread alone does with them. */
    const copies = () =>
      ws.map((w) => {
        const copy = tensor(w.dataSync().slice(), w.shape, { requiresGrad: true });
        copy.grad = w.grad === null ? null : tensor(w.grad.dataSync().slice(), w.shape);
        return copy;
      });
    const bits = (params: readonly Tensor[]) => params.map((p) => Array.from(p.dataSync()));
    for (const threads of [2, 3]) {
      const shards = splitEvenly(9, threads).map(([a, b]) => ({ x: x.slice(a * 5, b * 5) }));
      const workers = await startGradientWorkers({ script, params: ws, init, threads });
      try {
        for (const [k, options] of [{ gradientScale: 0.3 }, { gradientScale: 0.9, clipValue: 0.05 }, {}].entries()) {
          for (const w of ws) w.grad = null;
          await workers.run(shards, (shard) => layered(ws, shard.x));
          // Each thread summed the squares of its stretch: the norm of the summed gradients, up to the order of sums.
          expect(workers.gradientNorm()).toBeCloseTo(gradientNorm(ws), 2);
          expect(Math.abs(workers.gradientNorm() / gradientNorm(ws) - 1)).toBeLessThan(1e-12);
          const reference = copies();
          new SGD(reference, 0.1).step(options);
          const optimizer = new SGD(ws, 0.1);
          await workers.step(optimizer, options);
          expect(optimizer.stepCount).toBe(1);
          expect(bits(ws)).toEqual(bits(reference));
          // The next step's shards run with these weights on every thread: the loss of the whole batch on this thread
          // with them equals the threads' sum (the workers got the weights the step wrote, not older ones).
          if (k === 0) {
            const alone = copies();
            const whole = layered(alone, x);
            for (const w of ws) w.grad = null;
            const results = await workers.run(shards, (shard) => ({ loss: layered(ws, shard.x) }));
            expect(results.reduce((a, r) => a + r.loss, 0)).toBeCloseTo(whole, 2);
            await workers.step(new SGD(ws, 0.1));
          }
        }
        // A gradient changed after the sum, or an optimizer with slots: optimizer.step on this thread, as without workers.
        for (const w of ws) w.grad = null;
        await workers.run(shards, (shard) => layered(ws, shard.x));
        const first = ws[0] as Tensor;
        first.grad = tensor(
          (first.grad as Tensor).dataSync().map((g) => g * 2),
          first.shape,
        );
        expect(workers.gradientNorm()).toBe(gradientNorm(ws));
        const changed = copies();
        new SGD(changed, 0.1).step();
        await workers.step(new SGD(ws, 0.1));
        expect(bits(ws)).toEqual(bits(changed));
        for (const w of ws) w.grad = null;
        await workers.run(shards, (shard) => layered(ws, shard.x));
        const withSlots = copies();
        new RMSProp(withSlots, 0.01).step();
        await workers.step(new RMSProp(ws, 0.01));
        expect(bits(ws)).toEqual(bits(withSlots));
      } finally {
        await workers.close();
      }
    }
  });

  it('refuse a replica of another shape, a failing setup, a failing shard, and a bad thread count, each with a message', async () => {
    const w = model();
    await expect(startGradientWorkers({ script, params: [w], init: { shape, extraParameter: true }, threads: 2 })).rejects.toThrow(
      /replica's parameters \(2\) differ from the model's \(1\)/,
    );
    await expect(startGradientWorkers({ script, params: [w], init: { shape, refuse: true }, threads: 2 })).rejects.toThrow(/setup refused/);
    for (const threads of [0, 1.5, 65])
      await expect(startGradientWorkers({ script, params: [w], init: { shape }, threads })).rejects.toThrow(/threads must be an integer in 1\.\.64/);
    const workers = await startGradientWorkers({ script, params: [w], init: { shape }, threads: 2 });
    try {
      const x = new Float32Array(10).fill(0.5);
      // Fewer shards than threads: the worker sits the step out, and only this thread's gradients count.
      w.grad = null;
      expect(await workers.run([{ x }], (s) => lossOf(w, s.x))).toHaveLength(1);
      const alone = (w.grad as Tensor | null)?.dataSync().slice();
      w.grad = null;
      lossOf(w, x);
      expect(alone).toEqual((w.grad as Tensor | null)?.dataSync());
      await expect(workers.run([{ x }, { x }, { x }], () => 0)).rejects.toThrow(/expected 1\.\.2 shards/);
      await expect(workers.run([], () => 0)).rejects.toThrow(/expected 1\.\.2 shards/);
      await expect(workers.run([{ x }, { x, fail: 'B' }], (s) => lossOf(w, s.x))).rejects.toThrow(/shard B failed/);
      // The failed step leaves the workers unusable rather than out of step.
      await expect(workers.run([{ x }, { x }], (s) => lossOf(w, s.x))).rejects.toThrow(/shard B failed/);
    } finally {
      await workers.close();
    }
  });

  it('run on this thread alone with one thread, or when a step splits into one shard at most', async () => {
    const w = model();
    for (const options of [{ threads: 1 }, { threads: 3, most: 1 }]) {
      const workers = await startGradientWorkers({ script, params: [w], init: { shape }, ...options });
      expect(workers.threads).toBe(1);
      const results = await workers.run([7], (n) => n * 2);
      expect(results).toEqual([14]);
      await workers.close();
    }
    await expect(startGradientWorkers({ script, params: [w], init: { shape }, threads: 2, most: 0 })).rejects.toThrow(
      /'most' .* must be a positive integer, got 0/,
    );
  });

  it('split any length into consecutive parts that cover it and differ in size by at most one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 64 }), (length, parts) => {
        const split = splitEvenly(length, parts);
        expect(split).toHaveLength(parts);
        expect(split[0]?.[0]).toBe(0);
        expect(split.at(-1)?.[1]).toBe(length);
        const sizes = split.map(([a, b]) => b - a);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        split.forEach(([, b], i) => {
          if (i + 1 < split.length) expect(split[i + 1]?.[0]).toBe(b);
        });
      }),
    );
  });
});
