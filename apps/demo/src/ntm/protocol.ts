/**
 * Messages between the NTM page and its worker. The worker owns every model and the tensor backend;
 * the page only sends plain data and draws what comes back.
 */
import type { StepInspection } from '@engram/ntm';

/** The three tasks the demo offers (names as in @engram/datasets). */
export type DemoTask = 'copy' | 'repeat-copy' | 'associative-recall';

/**
 * Which backend the visitor asked for: `auto` starts on the CPU, then measures a training step on
 * WebGL2 (when the browser has it) and on the CPU and keeps the faster; `gpu` insists on WebGL2 (the CPU only if there is
 * none); `cpu` is the WebAssembly CPU backend.
 */
export type BackendChoice = 'auto' | 'gpu' | 'cpu';

/** Sequences per second of one training step on a short copy sequence, per backend, as `auto` measured them. */
export interface BackendTiming {
  gpu: number;
  cpu: number;
}

/** Which model a sequence runs through: the shipped one or the one being trained on the page. */
export type ModelChoice = 'pretrained' | 'trainee';

/** Page → worker. */
export type WorkerRequest =
  | { type: 'init'; backend: BackendChoice }
  | { type: 'pretrained'; task: DemoTask; bytes: ArrayBuffer; source: string }
  | { type: 'reset'; task: DemoTask; seed: number; curriculum: boolean }
  | { type: 'train'; run: boolean }
  | { type: 'export' }
  | { type: 'inspect'; id: number; task: DemoTask; model: ModelChoice; inputs: Float32Array[] };

/** What one chunk of training measured (a chunk is ~{@link TRAIN_CHUNK_MS} of steps). */
export interface TrainingProgress {
  /** Sequences trained on so far (batch 1: also the step count). */
  sequences: number;
  /** Mean error bits per sequence over this chunk. */
  errorBits: number;
  /** Mean loss over this chunk, nats per sequence. */
  loss: number;
  /** Sequences per second over this chunk. */
  sequencesPerSecond: number;
  /** How many sequences this chunk trained on. */
  count: number;
  /** The curriculum's current longest length (item count for recall); null without a curriculum. */
  level: number | null;
}

/** Worker → page. */
export type WorkerReply =
  | {
      type: 'ready';
      backend: string;
      usingGpu: boolean;
      fallbackReason?: string;
      /** `auto` before it has timed WebGL2: the CPU runs meanwhile, and another `ready` follows. */
      timingPending?: boolean;
      timing?: BackendTiming;
      /** Why the faster backend was not taken. */
      note?: string;
    }
  | { type: 'loaded'; task: DemoTask; sequencesTrained: number }
  | { type: 'reset-done'; task: DemoTask; seed: number; parameters: number }
  | { type: 'progress'; task: DemoTask; progress: TrainingProgress }
  | { type: 'stopped'; reason: string }
  | { type: 'trace'; id: number; steps: StepInspection[]; milliseconds: number }
  | { type: 'exported'; task: DemoTask; sequences: number; bytes: ArrayBuffer }
  | { type: 'error'; message: string };

/** How long the worker trains between two progress messages (and between looking at its inbox). */
export const TRAIN_CHUNK_MS = 250;
