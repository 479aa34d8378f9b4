/**
 * The NTM worker: picks the tensor backend (gpu.js WebGL2 on an OffscreenCanvas when the visitor
 * allows it and the browser can, otherwise the CPU's WebAssembly kernels), holds the pretrained
 * models and the one being trained, trains in chunks so it can still answer the page, and runs
 * sequences through either model with `inspectSequence`.
 */
import { algorithmicTask, sampleBatch } from '@engram/datasets';
import {
  NTM_RECIPE,
  type NtmModel,
  type NtmTrainingSnapshot,
  inspectSequence,
  newNtm,
  ntmFromSafetensors,
  ntmToSafetensors,
  trainBatch,
  trainNtm,
} from '@engram/ntm';
import { type Backend, Random, countParameters, createCpuBackend, setDefaultBackend } from '@engram/tensor';
import { createGpuBackend } from '@engram/tensor/gpu';
import { type BackendChoice, type BackendTiming, type DemoTask, TRAIN_CHUNK_MS, type WorkerReply, type WorkerRequest } from './protocol.js';
/** Length of the copy sequence `auto` times one training step on. */
const TIMING_LENGTH = 4;

interface Trainee {
  task: DemoTask;
  model: NtmModel;
  /** Where training stands: `trainNtm` continues it exactly after a pause. */
  snapshot: NtmTrainingSnapshot;
  seed: number;
  curriculum: boolean;
}

const scope = self as unknown as {
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
};
const post = (message: WorkerReply): void => scope.postMessage(message);

let ready: Promise<void> | null = null;
const pretrained = new Map<DemoTask, NtmModel>();
let trainee: Trainee | null = null;
let training = false;

/** Sequences per second of a training step on `backend` (after one step that compiles its kernels). */
function trainingSpeed(backend: Backend): number {
  setDefaultBackend(backend);
  const { model, optimizer } = newNtm('copy', 0);
  const batch = sampleBatch(algorithmicTask('copy'), new Random(0), 1, { minLength: TIMING_LENGTH, maxLength: TIMING_LENGTH });
  const options = { clipValue: NTM_RECIPE.clipValue };
  trainBatch(model, optimizer, batch, options);
  const start = performance.now();
  trainBatch(model, optimizer, batch, options);
  return 1000 / Math.max(performance.now() - start, 1e-3);
}

async function init(choice: BackendChoice): Promise<void> {
  if (choice === 'cpu') {
    const cpu = createCpuBackend();
    setDefaultBackend(cpu);
    post({ type: 'ready', backend: cpu.description, usingGpu: false });
    return;
  }
  // The reason for a fallback comes back in the result; the page shows it, so no console warning.
  const result = await createGpuBackend({ module: await import('gpu.js'), onFallback: () => {} });
  const reason = result.fallbackReason ? { fallbackReason: result.fallbackReason } : {};
  if (choice === 'gpu' || !result.usingGpu) {
    setDefaultBackend(result.backend);
    post({ type: 'ready', backend: result.backend.description, usingGpu: result.usingGpu, ...reason });
    return;
  }
  // auto: keep whichever trains faster here. For a model this small that is often the CPU: each of
  // the ~170 ops per time step is its own GPU kernel.
  const cpu = createCpuBackend();
  const timing: BackendTiming = { gpu: trainingSpeed(result.backend), cpu: trainingSpeed(cpu) };
  const useGpu = timing.gpu > timing.cpu;
  const backend = useGpu ? result.backend : cpu;
  setDefaultBackend(backend);
  post({ type: 'ready', backend: backend.description, usingGpu: useGpu, timing });
}

function resetTrainee(task: DemoTask, seed: number, curriculum: boolean): Trainee {
  const { model, ...snapshot } = newNtm(task, seed);
  return { task, model, snapshot, seed, curriculum };
}

/** Trains (the paper's recipe, @engram/ntm's loop) while `training` holds, posting progress about every chunk. */
async function trainWhileRunning(current: Trainee): Promise<void> {
  let chunkStart = performance.now();
  let count = 0;
  let bits = 0;
  let loss = 0;
  const outcome = await trainNtm(current.model, current.task, {
    resume: current.snapshot,
    curriculum: current.curriculum,
    evaluation: false,
    checkpointEvery: Number.POSITIVE_INFINITY,
    shouldStop: () => !training || trainee !== current,
    onStep: (r) => {
      count++;
      bits += r.errorBits;
      loss += r.loss;
      const elapsed = performance.now() - chunkStart;
      if (elapsed < TRAIN_CHUNK_MS) return;
      post({
        type: 'progress',
        task: current.task,
        progress: { sequences: r.sequences, errorBits: bits / count, loss: loss / count, sequencesPerSecond: count / (elapsed / 1000), count, level: r.level },
      });
      chunkStart = performance.now();
      count = 0;
      bits = 0;
      loss = 0;
    },
  });
  if (outcome.kind === 'non-finite') {
    training = false;
    post({ type: 'stopped', reason: outcome.message ?? 'a non-finite value' });
  }
}

async function handle(request: WorkerRequest): Promise<void> {
  if (request.type === 'init') {
    ready = init(request.backend);
    await ready;
    return;
  }
  await ready;
  switch (request.type) {
    case 'pretrained': {
      const { model, metadata } = ntmFromSafetensors(new Uint8Array(request.bytes), new Random(0), request.source);
      if (metadata.task !== request.task) throw new Error(`${request.source}: holds a model for '${metadata.task}', not '${request.task}'`);
      pretrained.set(request.task, model);
      post({ type: 'loaded', task: request.task, sequencesTrained: Number(metadata.step ?? 0) });
      return;
    }
    case 'reset': {
      training = false;
      trainee = resetTrainee(request.task, request.seed, request.curriculum);
      post({ type: 'reset-done', task: request.task, seed: request.seed, parameters: countParameters(trainee.model.params) });
      return;
    }
    case 'train': {
      const wasTraining = training;
      training = request.run && trainee !== null;
      if (training && !wasTraining && trainee !== null)
        trainWhileRunning(trainee).catch((error: unknown) => {
          training = false;
          post({ type: 'stopped', reason: `training failed: ${error instanceof Error ? error.message : String(error)}` });
        });
      if (!training && wasTraining) post({ type: 'stopped', reason: 'paused' });
      return;
    }
    case 'export': {
      if (trainee === null) throw new Error('no model to export yet');
      // The metadata `engram show` and `engram eval` read: `engram show --run <file>` works on it.
      const bytes = ntmToSafetensors(trainee.model, {
        task: trainee.task,
        taskOptions: '{}',
        step: String(trainee.snapshot.training.sequences),
        seed: String(trainee.seed),
        source: 'engram demo',
      });
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      scope.postMessage({ type: 'exported', task: trainee.task, sequences: trainee.snapshot.training.sequences, bytes: buffer }, [buffer]);
      return;
    }
    case 'inspect': {
      const model = request.model === 'pretrained' ? pretrained.get(request.task) : trainee?.task === request.task ? trainee.model : undefined;
      if (model === undefined) throw new Error(`no ${request.model} model for '${request.task}' yet`);
      const start = performance.now();
      const steps = inspectSequence(model, request.inputs, { memory: true });
      post({ type: 'trace', id: request.id, steps, milliseconds: performance.now() - start });
      return;
    }
  }
}

scope.onmessage = (event) => {
  handle(event.data).catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
};
