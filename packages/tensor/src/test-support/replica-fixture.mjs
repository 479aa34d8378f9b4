// The replica both gradient-worker fixtures serve (y = x·W, loss Σ y²), built from the package's dist/ (worker threads
// run JavaScript, not the TypeScript sources). `init` can make it refuse, crash, or have a parameter too many.
import { Random, add, matmul, mul, randomUniform, sum, tensor } from '../../dist/index.js';

export function setupReplica(init) {
  if (init.refuse) throw new Error('setup refused');
  // The crash comes 200 ms after setup, so that the pool has its ready reply first: Node does not order a worker's
  // messages and its error event, and a crash at once could overtake the reply (CI saw it under load, at 0 ms and
  // again at 20 ms with three training runs on the two cores). The tests wait 1 s before they run a step.
  if (init.crash)
    setTimeout(() => {
      throw new Error('the worker crashed');
    }, 200);
  if (init.widths) return layeredReplica(init);
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
}

// Several parameters W_i of shape [rows, widths[i]], the loss Σ_i Σ (x·W_i)² leaving out W_unused (its gradient stays
// null): gradients large enough for the threads to share their sum, with a parameter that gets none.
function layeredReplica(init) {
  const rows = init.shape[0];
  const ws = init.widths.map((width, i) => randomUniform([rows, width], new Random(i), -1, 1, { requiresGrad: true }));
  return {
    params: ws,
    compute(shard) {
      const x = tensor(shard.x, [shard.x.length / rows, rows]);
      let loss = null;
      ws.forEach((w, i) => {
        if (i === init.unused) return;
        const y = matmul(x, w);
        const term = sum(mul(y, y));
        loss = loss === null ? term : add(loss, term);
      });
      loss.backward();
      return { loss: loss.item(), rows: shard.x.length / rows };
    },
  };
}
