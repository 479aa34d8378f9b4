/**
 * The NTM worker: picks the tensor backend (gpu.js WebGL2 on an OffscreenCanvas when the visitor
 * allows it and the browser can, otherwise the CPU's WebAssembly kernels), holds the pretrained
 * models and the one being trained, trains in chunks so it can still answer the page, and runs
 * sequences through either model with `inspectSequence`.
 */
import { DEFAULT_CURRICULUM, advanceCurriculum, algorithmicTask, curriculumCeiling, curriculumOptions, sampleBatch } from '@engram/datasets';
import { type NtmModel, NonFiniteError, inspectSequence, ntmFromSafetensors, ntmToSafetensors, trainBatch } from '@engram/ntm';
import { type Backend, type Optimizer, Random, countParameters, createCpuBackend, setDefaultBackend } from '@engram/tensor';
import { createGpuBackend } from '@engram/tensor/gpu';
import { type BackendChoice, type BackendTiming, CURRICULUM_WINDOW, type DemoTask, TRAIN_CHUNK_MS, type WorkerReply, type WorkerRequest } from './protocol.js';
import { TRAIN_OPTIONS, newNtm } from './recipe.js';
/** Length of the copy sequence `auto` times one training step on. */
const TIMING_LENGTH = 4;

interface Trainee {
  task: DemoTask;
  model: NtmModel;
  optimizer: Optimizer;
  rng: Random;
  seed: number;
  sequences: number;
  /** Curriculum level (longest length or item count), or null to train on the full range. */
  level: number | null;
  /** Error bits summed since the last curriculum decision. */
  windowBits: number;
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
  const rng = new Random(0);
  const { model, optimizer } = newNtm('copy', rng);
  const batch = sampleBatch(algorithmicTask('copy'), rng, 1, { minLength: TIMING_LENGTH, maxLength: TIMING_LENGTH });
  trainBatch(model, optimizer, batch, TRAIN_OPTIONS);
  const start = performance.now();
  trainBatch(model, optimizer, batch, TRAIN_OPTIONS);
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
  const rng = new Random(seed);
  const { model, optimizer } = newNtm(task, rng);
  return { task, model, optimizer, rng, seed, sequences: 0, level: curriculum ? DEFAULT_CURRICULUM.start : null, windowBits: 0 };
}

/** Trains for one chunk, reports it, and schedules the next while `training` holds. */
function trainChunk(): void {
  if (!training || trainee === null) return;
  const current = trainee;
  const generator = algorithmicTask(current.task);
  const ceiling = curriculumCeiling(current.task);
  const start = performance.now();
  let count = 0;
  let bits = 0;
  let loss = 0;
  try {
    do {
      const options = current.level === null ? {} : curriculumOptions(current.task, current.level);
      const batch = sampleBatch(generator, current.rng, 1, options);
      const result = trainBatch(current.model, current.optimizer, batch, { ...TRAIN_OPTIONS, step: current.sequences + 1 });
      current.sequences++;
      count++;
      bits += result.errorBits;
      loss += result.loss;
      current.windowBits += result.errorBits;
      if (current.sequences % CURRICULUM_WINDOW === 0) {
        if (current.level !== null) current.level = advanceCurriculum(current.level, current.windowBits / CURRICULUM_WINDOW, ceiling);
        current.windowBits = 0;
      }
    } while (performance.now() - start < TRAIN_CHUNK_MS);
  } catch (error) {
    training = false;
    const reason = error instanceof NonFiniteError ? error.message : `training failed: ${(error as Error).message}`;
    post({ type: 'stopped', reason });
    return;
  }
  const seconds = (performance.now() - start) / 1000;
  post({
    type: 'progress',
    task: current.task,
    progress: { sequences: current.sequences, errorBits: bits / count, loss: loss / count, sequencesPerSecond: count / seconds, count, level: current.level },
  });
  setTimeout(trainChunk, 0);
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
      if (training && !wasTraining) setTimeout(trainChunk, 0);
      if (!training && wasTraining) post({ type: 'stopped', reason: 'paused' });
      return;
    }
    case 'export': {
      if (trainee === null) throw new Error('no model to export yet');
      // The metadata `engram show` and `engram eval` read: `engram show --run <file>` works on it.
      const bytes = ntmToSafetensors(trainee.model, {
        task: trainee.task,
        taskOptions: '{}',
        step: String(trainee.sequences),
        seed: String(trainee.seed),
        source: 'engram demo',
      });
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      scope.postMessage({ type: 'exported', task: trainee.task, sequences: trainee.sequences, bytes: buffer }, [buffer]);
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
