import { describe, expect, it } from 'vitest';
import { Random, type Tensor, matmul, mul, randomUniform, sum, tensor } from './index.js';
import { splitEvenly, startWebGradientWorkers } from './web-workers.js';
import { startGradientWorkers, webWorkerOnThread } from './workers.js';

// Node has no Web Worker: webWorkerOnThread runs the Web Worker script on a worker thread behind the same interface.
// The browser itself runs these workers in the demo's browser test.
const fixture = new URL('./test-support/web-gradient-worker-fixture.mjs', import.meta.url);
const nodeWorkerAsWeb = (script: URL = fixture) => webWorkerOnThread(script);

const shape = [5, 3];
const model = (): Tensor => randomUniform(shape, new Random(7), -1, 1, { requiresGrad: true });
function lossOf(w: Tensor, x: Float32Array): number {
  const y = matmul(tensor(x, [x.length / 5, 5]), w);
  const loss = sum(mul(y, y));
  loss.backward();
  return loss.item();
}

describe('web gradient workers', () => {
  it('give the same bits as the Node pool, and one thread’s result up to the order of sums', async () => {
    const rng = new Random(3);
    const x = Float32Array.from({ length: 12 * 5 }, () => rng.next() * 2 - 1);
    const w = model();
    for (const threads of [2, 3]) {
      const web = await startWebGradientWorkers({ create: () => nodeWorkerAsWeb(), params: [w], init: { shape }, threads });
      const node = await startGradientWorkers({
        script: new URL('./test-support/gradient-worker-fixture.mjs', import.meta.url),
        params: [w],
        init: { shape },
        threads,
      });
      try {
        for (let step = 0; step < 2; step++) {
          w.grad = null;
          const single = lossOf(w, x);
          const expected = (w.grad as unknown as Tensor).dataSync().slice();
          const shards = splitEvenly(12, threads).map(([a, b]) => ({ x: x.slice(a * 5, b * 5) }));
          const grads: Float32Array[] = [];
          for (const pool of [web, node]) {
            w.grad = null;
            const results = await pool.run(shards, (shard) => ({ loss: lossOf(w, shard.x), rows: shard.x.length / 5 }));
            expect(results.map((r) => r.rows)).toEqual(splitEvenly(12, threads).map(([a, b]) => b - a));
            expect(results.reduce((s, r) => s + r.loss, 0)).toBeCloseTo(single, 3);
            grads.push((w.grad as Tensor | null)?.dataSync().slice() ?? new Float32Array());
          }
          expect(grads[0]).toEqual(grads[1]);
          for (let i = 0; i < expected.length; i++) expect(grads[0]?.[i]).toBeCloseTo(expected[i] as number, 4);
          // The next step's weights reach the workers.
          w.assign(w.dataSync().map((v) => v * 0.5));
        }
      } finally {
        await web.close();
        await node.close();
      }
      w.assign(model().dataSync().slice());
    }
  });

  it('refuse a replica of another shape, a failing setup, a failing shard, a crash and a bad thread count, each with a message', async () => {
    const w = model();
    const start = (init: object, threads = 2) => startWebGradientWorkers({ create: () => nodeWorkerAsWeb(), params: [w], init: { shape, ...init }, threads });
    await expect(start({ extraParameter: true })).rejects.toThrow(/replica's parameters \(2\) differ from the model's \(1\)/);
    await expect(start({ refuse: true })).rejects.toThrow(/setup refused/);
    await expect(
      startWebGradientWorkers({ create: () => nodeWorkerAsWeb(new URL('./no-such-worker.mjs', import.meta.url)), params: [w], init: {}, threads: 2 }),
    ).rejects.toThrow(/gradient worker: /);
    for (const threads of [0, 1.5, 65]) await expect(start({}, threads)).rejects.toThrow(/threads must be an integer in 1\.\.64/);
    const x = new Float32Array(10).fill(0.5);
    const workers = await start({});
    try {
      w.grad = null;
      expect(await workers.run([{ x }], (s) => lossOf(w, s.x))).toHaveLength(1);
      await expect(workers.run([{ x }, { x }, { x }], () => 0)).rejects.toThrow(/expected 1\.\.2 shards/);
      await expect(workers.run([{ x }, { x, fail: 'B' }], (s) => lossOf(w, s.x))).rejects.toThrow(/shard B failed/);
      await expect(workers.run([{ x }, { x }], (s) => lossOf(w, s.x))).rejects.toThrow(/shard B failed/);
    } finally {
      await workers.close();
    }
    const crashing = await start({ crash: true });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await expect(crashing.run([{ x }, { x }], (s) => lossOf(w, s.x))).rejects.toThrow(/the worker crashed/);
    } finally {
      await crashing.close();
    }
  });

  it('run on this thread alone with one thread, starting no worker', async () => {
    let started = 0;
    const workers = await startWebGradientWorkers({
      create: () => {
        started++;
        return nodeWorkerAsWeb();
      },
      params: [model()],
      init: { shape },
      threads: 1,
    });
    expect(workers.threads).toBe(1);
    expect(await workers.run([7], (n) => n * 2)).toEqual([14]);
    expect(started).toBe(0);
    await workers.close();
  });
});
