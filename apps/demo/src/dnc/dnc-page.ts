/**
 * The DNC page: a pretrained repeat-copy DNC runs on the visitor's sequence (sliders, random or clicked
 * bits), and every part of its memory access is drawn as a heatmap over time: the write weighting, the
 * allocation weighting, the usage, each read head's weighting and read mode, and the link matrix at the
 * last step. The model is small (16 × 16 memory), so it runs on the page's own thread.
 */
import { type TaskSequence, randomBits, repeatCopySequence } from '@engram/datasets';
import { type DncInspection, dncFromSafetensors, inspectDnc } from '@engram/dnc';
import { wrongBits } from '@engram/ntm';
import { Random } from '@engram/tensor';
import { byId, fetchBytes } from '../shared/dom.js';
import { cellAt, drawHeatmap } from '../shared/heatmap.js';

/** The model file and the task options it was trained with (deepmind/dnc's repeat-copy defaults). */
const MODEL = 'models/dnc-repeat-copy.safetensors';
const TRAINED = { width: 4, minLength: 1, maxLength: 2, minRepeats: 1, maxRepeats: 2 } as const;
/** Seed of the first random bits (a sequence the model gets right; about 1 in 27 of length 2 with 2 repeats it does not). */
const CONTENT_SEED = 2017;
const BIT_CELL = 16;
const TIME_CELL = 14;
const SLOT_CELL = 10;

/** What the page shows, exposed as `window.engramDnc` for the curious (and the browser test). */
interface PageState {
  /** The visitor's vectors (each `TRAINED.width` bits). */
  vectors: Float32Array[];
  repeats: number;
  rows: TaskSequence | null;
  trace: DncInspection | null;
  wrong: number | null;
  errors: string[];
}

const rng = new Random(CONTENT_SEED);
const state: PageState = {
  vectors: [randomBits(rng, TRAINED.width), randomBits(rng, TRAINED.width)],
  repeats: 2,
  rows: null,
  trace: null,
  wrong: null,
  errors: [],
};
(globalThis as unknown as { engramDnc: PageState }).engramDnc = state;

const lengthInput = byId<HTMLInputElement>('length');
const repeatsInput = byId<HTMLInputElement>('repeats');
let model: ReturnType<typeof dncFromSafetensors>['model'] | null = null;

/** A captioned canvas inside `parent`, drawn with `columns`. */
function map(parent: HTMLElement, caption: string, columns: readonly ArrayLike<number>[], cell: number, rowCell = SLOT_CELL, max = 1): void {
  const figure = document.createElement('figure');
  const label = document.createElement('figcaption');
  label.textContent = caption;
  const scroll = document.createElement('div');
  scroll.className = 'scroll';
  const canvas = document.createElement('canvas');
  scroll.append(canvas);
  figure.append(label, scroll);
  parent.append(figure);
  drawHeatmap(canvas, columns, { cellWidth: cell, cellHeight: rowCell, max, gap: 1 });
}

function render(): void {
  byId('length-value').textContent = String(state.vectors.length);
  byId('repeats-value').textContent = String(state.repeats);
  const beyond = state.vectors.length > TRAINED.maxLength || state.repeats > TRAINED.maxRepeats;
  byId('range-note').textContent =
    `Trained on lengths 1–${TRAINED.maxLength} and 1–${TRAINED.maxRepeats} repeats${beyond ? ': this sequence is beyond that range.' : '.'}`;
  drawHeatmap(byId<HTMLCanvasElement>('content-grid'), state.vectors, { cellWidth: BIT_CELL, cellHeight: BIT_CELL, gap: 1 });
  if (model === null) return;
  const rows = repeatCopySequence(state.vectors, state.repeats, TRAINED);
  const started = performance.now();
  const trace = inspectDnc(model, rows.inputs);
  const milliseconds = performance.now() - started;
  const outputs = trace.steps.map((s) => s.output);
  const wrong = wrongBits(outputs, rows.targets, rows.scored);
  Object.assign(state, { rows, trace, wrong: wrong.length });
  const scoredBits = rows.scored.reduce((n, s) => n + s, 0) * (rows.targets[0]?.length ?? 0);
  const verdict = byId('verdict');
  verdict.textContent = wrong.length === 0 ? `All ${scoredBits} bits right` : `${wrong.length} of ${scoredBits} bits wrong`;
  verdict.dataset.wrong = String(wrong.length);
  byId('run-info').textContent = `${rows.inputs.length} steps in ${milliseconds.toFixed(1)} ms`;
  const faded = new Set(rows.scored.flatMap((s, t) => (s ? [] : [t])));
  drawHeatmap(byId<HTMLCanvasElement>('input-grid'), rows.inputs, {
    cellWidth: TIME_CELL,
    cellHeight: BIT_CELL,
    gap: 1,
    min: -1.5,
    max: 1.5,
    palette: 'diverging',
  });
  drawHeatmap(byId<HTMLCanvasElement>('target-grid'), rows.targets, { cellWidth: TIME_CELL, cellHeight: BIT_CELL, gap: 1, faded });
  drawHeatmap(byId<HTMLCanvasElement>('output-grid'), outputs, {
    cellWidth: TIME_CELL,
    cellHeight: BIT_CELL,
    gap: 1,
    faded,
    marked: new Set(wrong.map((w) => `${w.step},${w.bit}`)),
  });
  const memory = byId('memory-maps');
  memory.replaceChildren();
  map(
    memory,
    'Write weighting',
    trace.steps.map((s) => s.writeWeightings[0] as number[]),
    TIME_CELL,
  );
  map(
    memory,
    'Allocation weighting (where memory is free)',
    trace.steps.map((s) => s.allocations[0] as number[]),
    TIME_CELL,
  );
  map(
    memory,
    'Usage',
    trace.steps.map((s) => s.usage),
    TIME_CELL,
  );
  for (const h of (trace.steps[0]?.readWeightings ?? []).keys())
    map(
      memory,
      `Read weighting, head ${h + 1}`,
      trace.steps.map((s) => s.readWeightings[h] as number[]),
      TIME_CELL,
    );
  const modes = byId('mode-maps');
  modes.replaceChildren();
  for (const h of (trace.steps[0]?.readModes ?? []).keys())
    map(
      modes,
      `Read mode, head ${h + 1} (backward, forward, content)`,
      trace.steps.map((s) => s.readModes[h] as number[]),
      TIME_CELL,
      BIT_CELL,
    );
  for (const [h, link] of trace.links.entries()) map(modes, `Link matrix, write head ${h + 1}`, link, SLOT_CELL);
}

lengthInput.addEventListener('input', () => {
  const length = Number(lengthInput.value);
  state.vectors = Array.from({ length }, (_, i) => state.vectors[i] ?? randomBits(rng, TRAINED.width));
  render();
});
repeatsInput.addEventListener('input', () => {
  state.repeats = Number(repeatsInput.value);
  render();
});
byId('randomise').addEventListener('click', () => {
  state.vectors = state.vectors.map(() => randomBits(rng, TRAINED.width));
  render();
});
byId<HTMLCanvasElement>('content-grid').addEventListener('click', (event) => {
  const cell = cellAt(byId<HTMLCanvasElement>('content-grid'), event, BIT_CELL, BIT_CELL);
  const vector = cell === null ? undefined : state.vectors[cell.column];
  if (cell === null || vector === undefined || cell.row >= vector.length) return;
  vector[cell.row] = 1 - (vector[cell.row] as number);
  render();
});

render();
fetchBytes(MODEL)
  .then((bytes) => {
    const loaded = dncFromSafetensors(new Uint8Array(bytes), MODEL);
    model = loaded.model;
    const heldOut =
      loaded.metadata.heldOutBits === undefined ? '' : `; ${loaded.metadata.heldOutBits} wrong bits per sequence on 1,000 fresh ones of the trained range`;
    byId('model-status').textContent = `Model: ${MODEL.split('/').pop()} (${loaded.metadata.step ?? '?'} steps of batch 16${heldOut})`;
    render();
  })
  .catch((error: Error) => {
    state.errors.push(error.message);
    byId('model-status').textContent = `The model could not be loaded: ${error.message}`;
  });
