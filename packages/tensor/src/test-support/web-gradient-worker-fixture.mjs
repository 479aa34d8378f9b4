// A worker script for web-gradient-workers.test.ts: the same replica as gradient-worker-fixture.mjs, served by
// serveWebGradients through a stand-in for a Web Worker's global scope (a worker_threads port posing as `self`).
import { parentPort } from 'node:worker_threads';
import { Random, matmul, mul, randomUniform, sum, tensor } from '../../dist/index.js';
import { serveWebGradients } from '../../dist/web-workers.js';

const scope = { onmessage: null, postMessage: (message, transfer) => parentPort.postMessage(message, transfer) };
parentPort.on('message', (data) => scope.onmessage?.({ data }));

serveWebGradients((init) => {
  if (init.refuse) throw new Error('setup refused');
  if (init.crash)
    setTimeout(() => {
      throw new Error('the worker crashed');
    });
  const w = randomUniform(init.shape, new Random(0), -1, 1, { requiresGrad: true });
  const extra = init.extraParameter ? [randomUniform([1], new Random(0), -1, 1, { requiresGrad: true })] : [];
  return {
    params: [w, ...extra],
    compute(shard) {
      if (shard.fail) throw new Error(`shard ${shard.fail} failed`);
      const x = tensor(shard.x, [shard.x.length / init.shape[0], init.shape[0]]);
      const y = matmul(x, w);
      const loss = sum(mul(y, y));
      loss.backward();
      return { loss: loss.item(), rows: shard.x.length / init.shape[0] };
    },
  };
}, scope);
