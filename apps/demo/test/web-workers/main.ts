/**
 * The browser test's page for `createNtmWebWorkers` (test/web-workers.test.ts builds it with Vite, as an app
 * would bundle @engram/ntm): trains a small NTM on copy for a few batches on 1, 2 and 3 threads and compares
 * the weights (and a small DNC on 1 and 2), then times batch-16 NTM training on 1 and 2 threads. The result goes to
 * `engramWebWorkers`.
 */
import { DNC_RECIPE, dncRecurrent, newDnc } from '@engram/dnc';
import { createDncWebWorkers } from '@engram/dnc/web-workers';
import { NTM_RECIPE, newNtm, ntmToSafetensors, trainNtm } from '@engram/ntm';
import { createNtmWebWorkers } from '@engram/ntm/web-workers';
import { parameterList } from '@engram/tensor';

/** What the page leaves in `engramWebWorkers` for the test. */
export interface WebWorkersResult {
  /** Per thread count, the largest difference of any weight from the one-thread run's. */
  differences: Record<number, number>;
  /** The DNC on 2 threads: the largest difference of any weight from its one-thread run's. */
  dncDifference: number | null;
  /** Per thread count, the threads the workers used. */
  used: Record<number, number>;
  /** Sequences per second at batch 16 (copy, lengths 1..20, the paper's model), per thread count. */
  sequencesPerSecond: Record<number, number>;
  cores: number;
  done: boolean;
  error: string | null;
}
const result: WebWorkersResult = {
  differences: {},
  dncDifference: null,
  used: {},
  sequencesPerSecond: {},
  cores: navigator.hardwareConcurrency,
  done: false,
  error: null,
};
(globalThis as unknown as { engramWebWorkers: WebWorkersResult }).engramWebWorkers = result;

const small = {
  config: { controller: { kind: 'lstm' as const, hiddenSize: 16, layers: 1 }, memorySlots: 10, memoryWidth: 5 },
  taskOptions: { width: 4, maxLength: 4 },
};
const recipe = { ...NTM_RECIPE, optimizer: 'adam' as const, learningRate: 1e-2, batch: 6, clipValue: 0, clipNorm: 10 };

async function weightsAfterTraining(threads: number): Promise<Float32Array> {
  const run = newNtm('copy', 4, { ...small, recipe });
  const workers = threads > 1 ? await createNtmWebWorkers(run.model, threads, recipe.batch) : null;
  try {
    await trainNtm(run.model, 'copy', {
      recipe,
      taskOptions: small.taskOptions,
      maxSequences: recipe.batch * 8,
      resume: run,
      ...(workers ? { gradients: workers } : {}),
    });
  } finally {
    await workers?.close();
  }
  result.used[threads] = workers?.threads ?? 1;
  const bytes = ntmToSafetensors(run.model);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength - (bytes.byteLength % 4)));
}

async function dncWeights(threads: number): Promise<number[]> {
  const taskOptions = { width: 4, minLength: 1, maxLength: 3 };
  const recipe = { ...DNC_RECIPE, learningRate: 3e-3, batch: 6 };
  const config = { controller: { kind: 'lstm' as const, hiddenSize: 16, layers: 1 }, memorySlots: 8, memoryWidth: 8, readHeads: 1 };
  const { model, ...resume } = newDnc('copy', 3, { taskOptions, recipe, config });
  const workers = threads > 1 ? await createDncWebWorkers(model, threads, recipe.batch) : null;
  try {
    await trainNtm(dncRecurrent(model), 'copy', { recipe, resume, taskOptions, maxSequences: 6 * recipe.batch, ...(workers ? { gradients: workers } : {}) });
  } finally {
    await workers?.close();
  }
  return parameterList(model.params).flatMap((p) => Array.from(p.toArray()));
}

async function speed(threads: number): Promise<number> {
  const batch = 16;
  const run = newNtm('copy', 1, { recipe: { ...NTM_RECIPE, batch } });
  const workers = threads > 1 ? await createNtmWebWorkers(run.model, threads, batch) : null;
  // Timed from the end of the first (warm-up) batch, for about three seconds of training.
  let first = 0;
  let steps = 0;
  try {
    await trainNtm(run.model, 'copy', {
      recipe: { ...NTM_RECIPE, batch },
      timeLimit: 3,
      resume: run,
      ...(workers ? { gradients: workers } : {}),
      onStep: () => {
        if (steps++ === 0) first = performance.now();
      },
    });
  } finally {
    await workers?.close();
  }
  return ((steps - 1) * batch) / ((performance.now() - first) / 1000);
}

try {
  const one = await weightsAfterTraining(1);
  for (const threads of [2, 3]) {
    const many = await weightsAfterTraining(threads);
    let worst = many.length === one.length ? 0 : Number.POSITIVE_INFINITY;
    for (let i = 0; i < Math.min(one.length, many.length); i++) worst = Math.max(worst, Math.abs((many[i] as number) - (one[i] as number)) || 0);
    result.differences[threads] = worst;
  }
  const [dncOne, dncTwo] = [await dncWeights(1), await dncWeights(2)];
  result.dncDifference = dncOne.length === dncTwo.length ? Math.max(...dncOne.map((w, i) => Math.abs(w - (dncTwo[i] as number)))) : Number.POSITIVE_INFINITY;
  for (const threads of [1, 2]) result.sequencesPerSecond[threads] = await speed(threads);
} catch (error) {
  result.error = error instanceof Error ? `${error.message}\n${error.stack}` : String(error);
}
result.done = true;
document.querySelector('#status')?.replaceChildren(result.error ? 'failed' : 'done');
