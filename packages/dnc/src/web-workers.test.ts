import { trainNtm } from '@engram/ntm';
import { parameterList } from '@engram/tensor';
import { webWorkerOnThread } from '@engram/tensor/workers';
import { describe, expect, it } from 'vitest';
import { DNC_RECIPE, dncRecurrent, newDnc } from './index.js';
import { createDncWebWorkers } from './web-workers.js';
import { createDncWorkers } from './workers.js';

// Node has no Web Worker: webWorkerOnThread runs the shipped dist/dnc-web-worker.js on a worker thread behind the same
// interface. The browser itself runs it in the demo's browser test.
const webWorker = () => webWorkerOnThread(new URL('../dist/dnc-web-worker.js', import.meta.url));

describe('DNC on Web Workers', () => {
  const taskOptions = { width: 4, minLength: 1, maxLength: 3 };
  const recipe = { ...DNC_RECIPE, learningRate: 3e-3, batch: 6 };
  const config = { controller: { kind: 'lstm' as const, hiddenSize: 16, layers: 1 }, memorySlots: 8, memoryWidth: 8, readHeads: 1 };

  it('trains to the same bits as worker_threads with the same threads', async () => {
    const train = async (start: 'web' | 'node', threads: number) => {
      const { model, ...resume } = newDnc('copy', 3, { taskOptions, recipe, config });
      const workers =
        start === 'web' ? await createDncWebWorkers(model, threads, recipe.batch, { create: webWorker }) : await createDncWorkers(model, threads, recipe.batch);
      const losses: number[] = [];
      try {
        await trainNtm(dncRecurrent(model), 'copy', {
          recipe,
          resume,
          taskOptions,
          maxSequences: 6 * recipe.batch,
          gradients: workers,
          onStep: (r) => void losses.push(r.loss),
        });
      } finally {
        await workers.close();
      }
      return { losses, weights: parameterList(model.params).flatMap((p) => Array.from(p.toArray())), used: workers.threads };
    };
    for (const threads of [2, 3]) {
      const [web, node] = [await train('web', threads), await train('node', threads)];
      expect(web.used).toBe(threads);
      expect(web.losses).toEqual(node.losses);
      expect(web.weights).toEqual(node.weights);
    }
  });
});
