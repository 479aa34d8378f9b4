/**
 * The NTM worker: picks the tensor backend (gpu.js WebGL2 on an OffscreenCanvas when the visitor
 * allows it, the browser can and it is faster here, otherwise the CPU's WebAssembly kernels; `auto`
 * starts on the CPU and times WebGL2 after the first run is on screen), holds the pretrained
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
  if (choice === 'gpu') {
    // The reason for a fallback comes back in the result; the page shows it, so no console warning.
    const result = await createGpuBackend({ module: await import('gpu.js'), onFallback: () => {} });
    setDefaultBackend(result.backend);
    post({ type: 'ready', backend: result.backend.description, usingGpu: result.usingGpu, ...fallback(result.fallbackReason) });
    return;
  }
  setDefaultBackend(cpu);
  // auto: the page's first run comes from the CPU at once; WebGL2 is timed after it (see timeBackends).
  timingPending = choice === 'auto';
  post({ type: 'ready', backend: cpu.description, usingGpu: false, ...(timingPending ? { timingPending } : {}) });
}

const fallback = (reason: string | undefined): { fallbackReason?: string } => (reason ? { fallbackReason: reason } : {});

/** The CPU backend of `auto` and `cpu`: models made on it stay on it. */
const cpu: Backend = createCpuBackend();
/** `auto` still has to time WebGL2 against the CPU (it does so after the first trace is posted). */
let timingPending = false;
/** The pretrained files as received, so that a move to WebGL2 can load them there. */
const pretrainedFiles = new Map<DemoTask, { bytes: Uint8Array; source: string }>();

/**
 * `auto`: measures a training step on WebGL2 and on the CPU and keeps the faster. For a model this
 * small that is often the CPU: each of the ~170 ops per time step is its own GPU kernel. Moving to
 * WebGL2 loads the pretrained models there again and starts the model to train afresh; once training
 * has begun the CPU is kept, so that no training is lost.
 */
async function timeBackends(): Promise<void> {
  timingPending = false;
  const result = await createGpuBackend({ module: await import('gpu.js'), onFallback: () => {} });
  if (!result.usingGpu) {
    post({ type: 'ready', backend: cpu.description, usingGpu: false, ...fallback(result.fallbackReason) });
    return;
  }
  const timing: BackendTiming = { gpu: trainingSpeed(result.backend), cpu: trainingSpeed(cpu) };
  const trained = training || (trainee !== null && trainee.snapshot.training.sequences > 0);
  const useGpu = timing.gpu > timing.cpu && !trained;
  setDefaultBackend(useGpu ? result.backend : cpu);
  const kept = timing.gpu > timing.cpu && trained ? { note: 'kept the CPU: training had already begun there' } : {};
  post({ type: 'ready', backend: useGpu ? result.backend.description : cpu.description, usingGpu: useGpu, timing, ...kept });
  if (!useGpu) return;
  for (const [task, file] of pretrainedFiles) loadPretrained(task, file.bytes, file.source);
  if (trainee !== null) {
    trainee = resetTrainee(trainee.task, trainee.seed, trainee.curriculum);
    post({ type: 'reset-done', task: trainee.task, seed: trainee.seed, parameters: countParameters(trainee.model.params) });
  }
}

/** Loads a pretrained model onto the current backend and tells the page. */
function loadPretrained(task: DemoTask, bytes: Uint8Array, source: string): void {
  const { model, metadata } = ntmFromSafetensors(bytes, new Random(0), source);
  if (metadata.task !== task) throw new Error(`${source}: holds a model for '${metadata.task}', not '${task}'`);
  pretrained.set(task, model);
  pretrainedFiles.set(task, { bytes, source });
  post({ type: 'loaded', task, sequencesTrained: Number(metadata.step ?? 0) });
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
    case 'pretrained':
      loadPretrained(request.task, new Uint8Array(request.bytes), request.source);
      return;
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
      if (timingPending)
        setTimeout(
          () =>
            timeBackends().catch((error: unknown) =>
              post({ type: 'error', message: `timing WebGL2 failed: ${error instanceof Error ? error.message : String(error)}` }),
            ),
          0,
        );
      return;
    }
  }
}

scope.onmessage = (event) => {
  handle(event.data).catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
};
