import { webWorkerOnThread } from '@engram/tensor/workers';
import { describe, expect, it } from 'vitest';
import { NTM_RECIPE, newNtm, ntmToSafetensors, trainNtm } from './index.js';
import { createNtmWebWorkers } from './web-workers.js';
import { createNtmWorkers } from './workers.js';

// Node has no Web Worker: webWorkerOnThread runs the shipped dist/ntm-web-worker.js on a worker thread behind the same
// interface. The browser itself runs it in the demo's browser test.
const webWorker = () => webWorkerOnThread(new URL('../dist/ntm-web-worker.js', import.meta.url));

describe('NTM on Web Workers', () => {
  const small = {
    config: { controller: { kind: 'lstm' as const, hiddenSize: 16, layers: 1 }, memorySlots: 10, memoryWidth: 5 },
    taskOptions: { width: 4, maxLength: 4 },
  };
  const recipe = { ...NTM_RECIPE, optimizer: 'adam' as const, learningRate: 1e-2, batch: 5, clipValue: 0, clipNorm: 10 };

  it('trains to the same bits as worker_threads with the same threads (the same split and order of sums)', async () => {
    const options = { recipe, taskOptions: small.taskOptions, maxSequences: 5 * 8 };
    const train = async (start: 'web' | 'node', threads: number) => {
      const run = newNtm('copy', 4, { ...small, recipe });
      const workers = start === 'web' ? await createNtmWebWorkers(run.model, threads, 5, { create: webWorker }) : await createNtmWorkers(run.model, threads, 5);
      const curve: number[] = [];
      try {
        await trainNtm(run.model, 'copy', { ...options, resume: run, gradients: workers, onStep: (r) => void curve.push(r.loss) });
      } finally {
        await workers.close();
      }
      return { curve, weights: ntmToSafetensors(run.model), used: workers.threads };
    };
    for (const threads of [2, 3]) {
      const [web, node] = [await train('web', threads), await train('node', threads)];
      expect(web.used).toBe(threads);
      expect(web.curve).toEqual(node.curve);
      expect(web.weights).toEqual(node.weights);
    }
  });
});
