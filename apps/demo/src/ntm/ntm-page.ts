/**
 * The NTM page: task picker, the visitor's sequence (sliders, random or painted bits), the run's
 * input / target / output and every head's weightings and the memory as heatmaps, and live training
 * with a learning curve. All model work happens in the worker (ntm-worker.ts).
 */
import type { TaskSequence } from '@engram/datasets';
import type { StepInspection } from '@engram/ntm';
import { Random } from '@engram/tensor';
import { type CurvePoint, drawCurve, smooth } from '../shared/curve.js';
import { byId, count, fetchBytes, parameter } from '../shared/dom.js';
import { cellAt, drawHeatmap } from '../shared/heatmap.js';
import type { BackendChoice, BackendTiming, DemoTask, ModelChoice, TrainingProgress, WorkerReply, WorkerRequest } from './protocol.js';
import { describeRuns, usedSlots } from './slots.js';
import { type SequenceContent, TASK_SHAPES, randomContent, resizeContent, sequenceOf, wrongBitKeys } from './sequences.js';

/** Seed of the visitor's random bits, so a fresh page shows the same first sequence. */
const CONTENT_SEED = 2014;
/** Pixels per time step and per bit in the bit grids. */
const BIT_CELL = 14;
/** Pixels per bit in the grid the visitor paints on (larger, to hit with a finger). */
const CONTENT_CELL = 18;
/** Pixels per time step in the weighting maps, and per memory column. */
const TIME_CELL = 12;
const MEMORY_CELL = 8;
/** While training, the trainee's run is refreshed this often (ms) when it is the model shown. */
const TRAINEE_REFRESH_MS = 2000;
/** The error and loss stats average over this many recent sequences. */
const RECENT = 500;
const TASKS: readonly DemoTask[] = ['copy', 'repeat-copy', 'associative-recall'];

interface Trace {
  task: DemoTask;
  rows: TaskSequence;
  steps: StepInspection[];
  model: ModelChoice;
  milliseconds: number;
}

/** What the page shows, exposed as `window.engramNtm` for the curious (and the browser test). */
interface PageState {
  task: DemoTask;
  backend: string | null;
  usingGpu: boolean;
  /** What `auto` measured, when it chose. */
  timing: BackendTiming | null;
  /** When (performance.now()) the first run was drawn, and when `auto`'s timing came: the first comes first. */
  firstTraceAt: number | null;
  timedAt: number | null;
  content: SequenceContent;
  trace: Trace | null;
  time: number;
  model: ModelChoice;
  training: boolean;
  progress: TrainingProgress[];
  pretrainedSequences: Partial<Record<DemoTask, number>>;
  /** The last model downloaded: its file name and size. */
  exported: { name: string; bytes: number } | null;
  errors: string[];
}

const contentRng = new Random(CONTENT_SEED);
const initialTask = (TASKS as readonly string[]).includes(parameter('task', 'copy')) ? (parameter('task', 'copy') as DemoTask) : 'copy';
const shape0 = TASK_SHAPES[initialTask];
const state: PageState = {
  task: initialTask,
  backend: null,
  usingGpu: false,
  timing: null,
  firstTraceAt: null,
  timedAt: null,
  content: randomContent(initialTask, contentRng, shape0.length.value, shape0.repeats?.value ?? 1),
  trace: null,
  time: 0,
  model: 'pretrained',
  training: false,
  progress: [],
  pretrainedSequences: {},
  exported: null,
  errors: [],
};
(globalThis as unknown as { engramNtm: PageState }).engramNtm = state;

const el = {
  taskPicker: byId('task-picker'),
  description: byId('task-description'),
  backendStatus: byId('backend-status'),
  modelChoice: byId<HTMLSelectElement>('model-choice'),
  length: byId<HTMLInputElement>('length'),
  lengthLabel: byId('length-label'),
  lengthValue: byId<HTMLOutputElement>('length-value'),
  repeatsField: byId('repeats-field'),
  repeats: byId<HTMLInputElement>('repeats'),
  repeatsValue: byId<HTMLOutputElement>('repeats-value'),
  queryField: byId('query-field'),
  query: byId<HTMLInputElement>('query'),
  queryValue: byId<HTMLOutputElement>('query-value'),
  rangeNote: byId('range-note'),
  randomise: byId<HTMLButtonElement>('randomise'),
  clear: byId<HTMLButtonElement>('clear'),
  contentGrid: byId<HTMLCanvasElement>('content-grid'),
  verdict: byId('verdict'),
  runInfo: byId('run-info'),
  inputGrid: byId<HTMLCanvasElement>('input-grid'),
  targetGrid: byId<HTMLCanvasElement>('target-grid'),
  outputGrid: byId<HTMLCanvasElement>('output-grid'),
  time: byId<HTMLInputElement>('time'),
  timeValue: byId<HTMLOutputElement>('time-value'),
  slotRange: byId('slot-range'),
  heads: byId('heads'),
  play: byId<HTMLButtonElement>('play'),
  memoryMap: byId<HTMLCanvasElement>('memory-map'),
  trainToggle: byId<HTMLButtonElement>('train-toggle'),
  trainReset: byId<HTMLButtonElement>('train-reset'),
  download: byId<HTMLButtonElement>('download'),
  seed: byId<HTMLInputElement>('seed'),
  curriculum: byId<HTMLInputElement>('curriculum'),
  backendChoice: byId<HTMLSelectElement>('backend-choice'),
  statSequences: byId('stat-sequences'),
  statSpeed: byId('stat-speed'),
  statError: byId('stat-error'),
  statLoss: byId('stat-loss'),
  statLevel: byId('stat-level'),
  curve: byId<HTMLCanvasElement>('curve'),
  trainStatus: byId('train-status'),
};

// ---------------------------------------------------------------------------------------------
// The worker

let worker: Worker;
let lastTraineeRefresh = 0;

function send(request: WorkerRequest, transfer: Transferable[] = []): void {
  worker.postMessage(request, transfer);
}

function showError(message: string): void {
  state.errors.push(message);
  el.trainStatus.textContent = message;
  el.trainStatus.classList.add('error');
}

function startWorker(choice: BackendChoice): void {
  worker?.terminate();
  worker = new Worker(new URL('./ntm-worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<WorkerReply>) => onReply(event.data);
  worker.onerror = (event) => showError(`the worker failed: ${event.message}`);
  state.backend = null;
  state.training = false;
  state.pretrainedSequences = {};
  state.timing = null;
  state.firstTraceAt = null;
  state.timedAt = null;
  el.backendStatus.textContent = 'starting…';
  send({ type: 'init', backend: choice });
  void selectTask(state.task);
}

async function loadPretrained(task: DemoTask): Promise<void> {
  const source = `models/${task}.safetensors`;
  const bytes = await fetchBytes(source);
  send({ type: 'pretrained', task, bytes, source }, [bytes]);
}

function resetTrainee(): void {
  state.training = false;
  state.progress = [];
  send({ type: 'reset', task: state.task, seed: Number(el.seed.value) || 0, curriculum: el.curriculum.checked });
  renderTraining();
}

/** The run asked for last; a trace for any earlier one is out of date and dropped. */
let pending: { id: number; rows: TaskSequence; model: ModelChoice; task: DemoTask } | null = null;
function inspect(): void {
  pending = { id: (pending?.id ?? 0) + 1, rows: sequenceOf(state.content), model: state.model, task: state.task };
  send({ type: 'inspect', id: pending.id, task: pending.task, model: pending.model, inputs: pending.rows.inputs });
}

function onReply(reply: WorkerReply): void {
  switch (reply.type) {
    case 'ready': {
      state.backend = reply.backend;
      state.usingGpu = reply.usingGpu;
      state.timing = reply.timing ?? null;
      if (reply.timing) state.timedAt = performance.now();
      const name = reply.usingGpu ? 'gpu.js WebGL2' : 'CPU (WebAssembly)';
      const timing = reply.timing;
      el.backendStatus.textContent = timing
        ? `Backend: ${name}, ${reply.note ?? 'the faster here'} (a training step measured: WebGL2 ${rate(timing.gpu)}, CPU ${rate(timing.cpu)} sequences/s)`
        : reply.timingPending
          ? `Backend: ${name}; timing WebGL2…`
          : `Backend: ${name}`;
      el.backendStatus.title = reply.fallbackReason ? `${reply.backend}. ${reply.fallbackReason}` : reply.backend;
      document.body.dataset.backend = reply.usingGpu ? 'webgl2' : 'cpu';
      return;
    }
    case 'loaded':
      state.pretrainedSequences[reply.task] = reply.sequencesTrained;
      if (reply.task === state.task) {
        setPretrainedLabel(`pretrained (${count(reply.sequencesTrained)} sequences)`);
        if (state.model === 'pretrained') inspect();
      }
      return;
    case 'reset-done':
      el.trainStatus.classList.remove('error');
      el.trainStatus.textContent = `New model: ${count(reply.parameters)} parameters, seed ${reply.seed}.`;
      if (state.model === 'trainee') inspect();
      return;
    case 'progress':
      if (reply.task !== state.task) return;
      state.progress.push(reply.progress);
      renderTraining();
      if (state.model === 'trainee' && performance.now() - lastTraineeRefresh > TRAINEE_REFRESH_MS) {
        lastTraineeRefresh = performance.now();
        inspect();
      }
      return;
    case 'stopped':
      state.training = false;
      if (reply.reason === 'paused') el.trainStatus.textContent = `Paused after ${count(lastProgress()?.sequences ?? 0)} sequences.`;
      else showError(reply.reason);
      renderTraining();
      return;
    case 'trace': {
      if (pending === null || reply.id !== pending.id) return;
      state.firstTraceAt ??= performance.now();
      state.trace = { task: pending.task, rows: pending.rows, steps: reply.steps, model: pending.model, milliseconds: reply.milliseconds };
      state.time = Math.min(state.time, reply.steps.length - 1);
      if (state.time < 0 || !timeTouched) state.time = firstScoredStep(pending.rows);
      renderTrace();
      return;
    }
    case 'exported': {
      const name = `engram-ntm-${reply.task}-${reply.sequences}.safetensors`;
      const url = URL.createObjectURL(new Blob([reply.bytes], { type: 'application/octet-stream' }));
      const link = Object.assign(document.createElement('a'), { href: url, download: name });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      state.exported = { name, bytes: reply.bytes.byteLength };
      el.trainStatus.textContent = `Saved ${name}. In a terminal: engram show --run ${name}`;
      return;
    }
    case 'error':
      showError(reply.message);
      return;
  }
}

/** Sequences per second, to two significant figures. */
const rate = (perSecond: number): string => (perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toPrecision(2));

function setPretrainedLabel(text: string): void {
  const option = el.modelChoice.querySelector<HTMLOptionElement>('option[value="pretrained"]');
  if (option) option.textContent = text;
}

const lastProgress = (): TrainingProgress | undefined => state.progress[state.progress.length - 1];
let timeTouched = false;
const firstScoredStep = (rows: TaskSequence): number => Math.max(0, rows.scored.indexOf(1) - 1);

// ---------------------------------------------------------------------------------------------
// The visitor's sequence

async function selectTask(task: DemoTask): Promise<void> {
  state.task = task;
  state.trace = null;
  timeTouched = false;
  const shape = TASK_SHAPES[task];
  for (const button of el.taskPicker.querySelectorAll<HTMLButtonElement>('button')) {
    button.setAttribute('aria-pressed', String(button.dataset.task === task));
  }
  el.description.textContent = shape.description;
  el.lengthLabel.textContent = shape.length.label;
  Object.assign(el.length, { min: String(shape.length.min), max: String(shape.length.max), value: String(shape.length.value) });
  el.repeatsField.hidden = shape.repeats === undefined;
  if (shape.repeats) Object.assign(el.repeats, { min: String(shape.repeats.min), max: String(shape.repeats.max), value: String(shape.repeats.value) });
  el.queryField.hidden = task !== 'associative-recall';
  state.content = randomContent(task, contentRng, shape.length.value, shape.repeats?.value ?? 1);
  syncSliders();
  renderContent();
  resetTrainee();
  // The worker keeps the pretrained models it has loaded: fetch each only once.
  const trained = state.pretrainedSequences[task];
  if (trained !== undefined) {
    setPretrainedLabel(`pretrained (${count(trained)} sequences)`);
    if (state.model === 'pretrained') inspect();
    return;
  }
  setPretrainedLabel('pretrained');
  try {
    await loadPretrained(task);
  } catch (error) {
    showError(`could not load the pretrained model: ${(error as Error).message}`);
  }
}

function syncSliders(): void {
  const shape = TASK_SHAPES[state.task];
  const length = state.content.items.length;
  el.length.value = String(length);
  el.lengthValue.textContent = String(length);
  el.repeats.value = String(state.content.repeats);
  el.repeatsValue.textContent = String(state.content.repeats);
  Object.assign(el.query, { min: '1', max: String(length - 1), value: String(state.content.query + 1) });
  el.queryValue.textContent = String(state.content.query + 1);
  const outside: string[] = [];
  const [lo, hi] = shape.length.trained;
  if (length < lo || length > hi) outside.push(`${shape.length.label.toLowerCase()} ${length} (trained on ${lo}–${hi})`);
  if (shape.repeats) {
    const [rlo, rhi] = shape.repeats.trained;
    if (state.content.repeats < rlo || state.content.repeats > rhi) outside.push(`${state.content.repeats} repeats (trained on ${rlo}–${rhi})`);
  }
  el.rangeNote.textContent =
    outside.length > 0
      ? `Beyond the training range: ${outside.join(', ')}. This tests generalisation, as in the paper.`
      : `Within the training range (${shape.length.label.toLowerCase()} ${lo}–${hi}${shape.repeats ? `, repeats ${shape.repeats.trained[0]}–${shape.repeats.trained[1]}` : ''}).`;
}

/** The editable grid: the content's vectors as columns, items one after another. */
function renderContent(): void {
  drawHeatmap(el.contentGrid, state.content.items.flat(), { cellWidth: CONTENT_CELL, cellHeight: CONTENT_CELL, gap: 2 });
}

function contentChanged(): void {
  syncSliders();
  renderContent();
  inspect();
}

let painting: number | null = null;
function paint(event: PointerEvent): void {
  const cell = cellAt(el.contentGrid, event, CONTENT_CELL, CONTENT_CELL);
  if (cell === null) return;
  const shape = TASK_SHAPES[state.task];
  const item = state.content.items[Math.floor(cell.column / shape.itemLength)];
  const vector = item?.[cell.column % shape.itemLength];
  if (vector === undefined || cell.row >= vector.length) return;
  if (painting === null) painting = vector[cell.row] === 1 ? 0 : 1;
  if (vector[cell.row] !== painting) {
    vector[cell.row] = painting;
    renderContent();
  }
}

// ---------------------------------------------------------------------------------------------
// The run

/** One canvas per head, write heads first, before the memory map; made again when the head count changes. */
function headMaps(writeHeads: number, readHeads: number): HTMLCanvasElement[] {
  const existing = [...el.heads.querySelectorAll<HTMLCanvasElement>('canvas.head-map')];
  if (existing.length === writeHeads + readHeads) return existing;
  for (const canvas of existing) canvas.closest('figure')?.remove();
  const memory = el.heads.firstElementChild;
  const made: HTMLCanvasElement[] = [];
  const add = (label: string, count: number): void => {
    for (let h = 0; h < count; h++) {
      const figure = document.createElement('figure');
      const caption = document.createElement('figcaption');
      caption.innerHTML = `${label} weighting w<sub>t</sub>${count > 1 ? ` (head ${h + 1})` : ''} <span class="muted small">(slots × time)</span>`;
      const scroll = document.createElement('div');
      scroll.className = 'scroll';
      const canvas = document.createElement('canvas');
      canvas.className = 'head-map';
      canvas.setAttribute('aria-label', `${label.toLowerCase()} weighting${count > 1 ? ` of head ${h + 1}` : ''}`);
      scroll.append(canvas);
      figure.append(caption, scroll);
      el.heads.insertBefore(figure, memory);
      made.push(canvas);
    }
  };
  add('Write', writeHeads);
  add('Read', readHeads);
  return made;
}

/** Steps per second when playing the run. */
const PLAY_STEPS_PER_SECOND = 6;
let playing: ReturnType<typeof setInterval> | null = null;
function togglePlay(): void {
  if (playing !== null) {
    clearInterval(playing);
    playing = null;
    el.play.textContent = '▶ Play';
    return;
  }
  const steps = state.trace?.steps.length ?? 0;
  if (steps === 0) return;
  timeTouched = true;
  if (state.time >= steps - 1) state.time = -1;
  el.play.textContent = '❚❚ Pause';
  playing = setInterval(() => {
    const last = (state.trace?.steps.length ?? 1) - 1;
    state.time = Math.min(state.time + 1, last);
    renderTrace();
    if (state.time >= last) togglePlay();
  }, 1000 / PLAY_STEPS_PER_SECOND);
}

function renderTrace(): void {
  const trace = state.trace;
  if (trace === null) return;
  const { rows, steps } = trace;
  const outputs = steps.map((s) => s.output);
  const wrong = wrongBitKeys(rows, outputs);
  const scoredBits = rows.scored.reduce((sum, s, t) => sum + s * (rows.targets[t]?.length ?? 0), 0);
  el.verdict.textContent = wrong.size === 0 ? `All ${scoredBits} bits right` : `${wrong.size} of ${scoredBits} bits wrong`;
  el.verdict.dataset.wrong = String(wrong.size);
  el.verdict.className = wrong.size === 0 ? 'good' : 'bad';
  const modelName = trace.model === 'pretrained' ? 'pretrained model' : `your model (${count(lastProgress()?.sequences ?? 0)} sequences)`;
  el.runInfo.textContent = `${modelName}, ${steps.length} steps, ${trace.milliseconds.toFixed(0)} ms`;
  drawHeatmap(el.inputGrid, rows.inputs, { cellWidth: BIT_CELL, cellHeight: BIT_CELL, gap: 1, highlightColumn: state.time });
  drawHeatmap(el.targetGrid, rows.targets, { cellWidth: BIT_CELL, cellHeight: BIT_CELL, gap: 1, highlightColumn: state.time });
  const unscored = new Set(rows.scored.flatMap((scored, t) => (scored === 1 ? [] : [t])));
  drawHeatmap(el.outputGrid, outputs, { cellWidth: BIT_CELL, cellHeight: BIT_CELL, gap: 1, marked: wrong, highlightColumn: state.time, faded: unscored });
  el.time.max = String(steps.length - 1);
  el.time.value = String(state.time);
  el.timeValue.textContent = `${state.time + 1} / ${steps.length}`;
  const slots = steps[0]?.writeWeightings[0]?.length ?? 0;
  const shownSlots = usedSlots(steps, slots);
  const pick = (values: readonly number[]): number[] => shownSlots.map((slot) => (slot === null ? Number.NaN : (values[slot] ?? 0)));
  const rowHeight = shownSlots.length <= 48 ? 6 : 3;
  el.slotRange.textContent = shownSlots.length === slots ? `all ${slots} slots` : `slots ${describeRuns(shownSlots)} of ${slots} (the others get no weight)`;
  const heatOptions = { cellWidth: TIME_CELL, cellHeight: rowHeight, highlightColumn: state.time };
  const writeHeads = steps[0]?.writeWeightings.length ?? 0;
  const readHeads = steps[0]?.readWeightings.length ?? 0;
  const maps = headMaps(writeHeads, readHeads);
  maps.forEach((canvas, i) => {
    const weightings = (s: StepInspection): number[] => (i < writeHeads ? s.writeWeightings[i] : s.readWeightings[i - writeHeads]) ?? [];
    drawHeatmap(
      canvas,
      steps.map((s) => pick(weightings(s))),
      heatOptions,
    );
  });
  const memory = steps[state.time]?.memory ?? [];
  let largest = 1e-6;
  for (const step of steps) for (const row of step.memory ?? []) for (const v of row) largest = Math.max(largest, Math.abs(v));
  // Memory as columns: column j holds element j of every shown slot.
  const width = memory[0]?.length ?? 0;
  const columns = Array.from({ length: width }, (_, j) => pick(memory.map((row) => row[j] ?? 0)));
  drawHeatmap(el.memoryMap, columns, { cellWidth: MEMORY_CELL, cellHeight: rowHeight, min: -largest, max: largest, palette: 'diverging' });
}

// ---------------------------------------------------------------------------------------------
// Training

let curveDrawn = 0;
function renderTraining(): void {
  const last = lastProgress();
  el.trainToggle.textContent = state.training ? 'Pause' : last ? 'Resume training' : 'Start training';
  el.statSequences.textContent = count(last?.sequences ?? 0);
  el.statSpeed.textContent = last ? last.sequencesPerSecond.toFixed(last.sequencesPerSecond < 10 ? 1 : 0) : '–';
  let n = 0;
  let bits = 0;
  let loss = 0;
  for (let i = state.progress.length - 1; i >= 0 && n < RECENT; i--) {
    const p = state.progress[i] as TrainingProgress;
    n += p.count;
    bits += p.errorBits * p.count;
    loss += p.loss * p.count;
  }
  el.statError.textContent = n > 0 ? (bits / n).toFixed(2) : '–';
  el.statLoss.textContent = n > 0 ? (loss / n).toFixed(2) : '–';
  el.statLevel.textContent = last?.level == null ? (el.curriculum.checked && !last ? String(2) : 'full') : String(last.level);
  const now = performance.now();
  if (now - curveDrawn > 400 || !state.training) {
    curveDrawn = now;
    const points: CurvePoint[] = state.progress.map((p) => ({ x: p.sequences, y: p.errorBits }));
    drawCurve(el.curve, smooth(points, Math.max(50, (last?.sequences ?? 0) / 150)), 'error bits / sequence');
  }
  document.body.dataset.training = String(state.training);
}

// ---------------------------------------------------------------------------------------------
// Wiring

el.taskPicker.addEventListener('click', (event) => {
  const task = (event.target as HTMLElement).closest<HTMLButtonElement>('button')?.dataset.task as DemoTask | undefined;
  if (task && task !== state.task) void selectTask(task);
});
el.modelChoice.addEventListener('change', () => {
  state.model = el.modelChoice.value as ModelChoice;
  inspect();
});
el.length.addEventListener('input', () => {
  state.content = resizeContent(state.content, contentRng, Number(el.length.value), state.content.repeats);
  contentChanged();
});
el.repeats.addEventListener('input', () => {
  state.content = { ...state.content, repeats: Number(el.repeats.value) };
  contentChanged();
});
el.query.addEventListener('input', () => {
  state.content = { ...state.content, query: Number(el.query.value) - 1 };
  contentChanged();
});
el.randomise.addEventListener('click', () => {
  state.content = randomContent(state.task, contentRng, state.content.items.length, state.content.repeats);
  contentChanged();
});
el.clear.addEventListener('click', () => {
  for (const item of state.content.items) for (const vector of item) vector.fill(0);
  contentChanged();
});
el.contentGrid.addEventListener('pointerdown', (event) => {
  painting = null;
  el.contentGrid.setPointerCapture(event.pointerId);
  paint(event);
});
el.contentGrid.addEventListener('pointermove', (event) => {
  if (event.buttons !== 0 && painting !== null) paint(event);
});
el.contentGrid.addEventListener('pointerup', () => {
  if (painting !== null) inspect();
  painting = null;
});
el.play.addEventListener('click', togglePlay);
el.time.addEventListener('input', () => {
  timeTouched = true;
  state.time = Number(el.time.value);
  renderTrace();
});
el.trainToggle.addEventListener('click', () => {
  state.training = !state.training;
  if (state.training) el.trainStatus.textContent = 'Training…';
  send({ type: 'train', run: state.training });
  renderTraining();
});
el.trainReset.addEventListener('click', resetTrainee);
el.download.addEventListener('click', () => send({ type: 'export' }));
el.curriculum.addEventListener('change', resetTrainee);
el.seed.addEventListener('change', resetTrainee);
el.backendChoice.addEventListener('change', () => startWorker(el.backendChoice.value as BackendChoice));
addEventListener('resize', () => renderTraining());

const requested = parameter('backend', 'auto');
el.backendChoice.value = requested === 'cpu' || requested === 'gpu' ? requested : 'auto';
startWorker(el.backendChoice.value as BackendChoice);
