// A worker script for gradient-workers.test.ts: a replica of the test's model (y = x·W, loss Σ y²), built
// from the package's dist/ (worker threads run JavaScript, not the TypeScript sources).
import { Random, matmul, mul, randomUniform, sum, tensor } from '../../dist/index.js';
import { serveGradients } from '../../dist/workers.js';

serveGradients((init) => {
  if (init.refuse) throw new Error('setup refused');
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
});
