import { algorithmicTask } from '@engram/datasets';
import { type DncModel, inspectDnc } from '@engram/dnc';
import { type NtmModel, inspectSequence, wrongBits } from '@engram/ntm';
import { Random } from '@engram/tensor';
import type { AlgorithmicTaskName } from '@engram/datasets';
import { document, heatmap } from './svg.js';

/** One sequence run through a model, ready to draw. */
export interface Shown {
  /** Per step inputs. */
  inputs: number[][];
  /** Per step targets (zeros outside the answer). */
  targets: number[][];
  /** Which steps are scored. */
  scored: number[];
  /** What the model did at each step. */
  steps: ShownStep[];
  /** DNC: per write head, the link matrix at the last step (N rows of N). */
  links?: number[][][];
  /** Wrong bits over the scored steps. */
  errorBits: number;
}

/** One step of a shown sequence: what every model has, and the DNC's usage and read modes. */
export interface ShownStep {
  /** σ(y_t). */
  output: number[];
  /** Per write head, its weighting over the memory. */
  writeWeightings: number[][];
  /** Per read head, its weighting over the memory. */
  readWeightings: number[][];
  /** DNC: u_t over the locations. */
  usage?: number[];
  /** DNC: per read head, π_t (backward per write head, forward per write head, content). */
  readModes?: number[][];
}

/** The model `engram show` draws: an NTM or a DNC. */
export interface ShownModel {
  /** The NTM, when the run is one. */
  ntm: NtmModel | null;
  /** The DNC, when the run is one. */
  dnc: DncModel | null;
}

/** Runs one fresh sequence of the task (of `length`, for copy-like tasks) and records everything. */
export function showSequence(
  model: ShownModel,
  task: AlgorithmicTaskName,
  options: { length?: number; seed: number; taskOptions?: Record<string, number | undefined> },
): Shown {
  const base = options.taskOptions ?? {};
  const taskOptions =
    options.length !== undefined && (task === 'copy' || task === 'repeat-copy') ? { ...base, minLength: options.length, maxLength: options.length } : base;
  const sequence = algorithmicTask(task).sample(new Random(options.seed), taskOptions);
  const dnc = model.dnc === null ? null : inspectDnc(model.dnc, sequence.inputs);
  const steps: ShownStep[] = dnc ? dnc.steps : inspectSequence(model.ntm as NtmModel, sequence.inputs);
  const errorBits = wrongBits(
    steps.map((s) => s.output),
    sequence.targets,
    sequence.scored,
  ).length;
  return {
    inputs: sequence.inputs.map((r) => Array.from(r)),
    targets: sequence.targets.map((r) => Array.from(r)),
    scored: sequence.scored,
    steps,
    ...(dnc ? { links: dnc.links } : {}),
    errorBits,
  };
}

/**
 * The paper's Figure 6 as SVG: inputs, targets and outputs over time, then each head's write and
 * read weighting over the memory rows (time runs left to right).
 */
export function renderSvg(shown: Shown, title: string): string {
  const cell = 6;
  const x = 20;
  let y = 50;
  const parts = [`<text x="${x}" y="24" font-size="15" font-family="sans-serif">${title}</text>`];
  const add = (label: string, columns: number[][], normalise = false) => {
    const h = heatmap(label, columns, x, y, cell, normalise);
    parts.push(h.svg);
    y += h.height + 30;
  };
  // Draw only the memory rows some head addressed (plus a margin), not all N.
  const weightings = shown.steps.flatMap((s) => [...s.writeWeightings, ...s.readWeightings]);
  const used = weightings.flatMap((w) => w.flatMap((v, i) => (v > 0.01 ? [i] : [])));
  const lastRow = Math.min((weightings[0]?.length ?? 1) - 1, Math.max(0, ...used) + 2);
  const crop = (w: number[]) => w.slice(0, lastRow + 1);
  add('inputs', shown.inputs);
  add(
    'targets',
    shown.targets.map((row, t) => (shown.scored[t] ? row : row.map(() => 0))),
  );
  add(
    'outputs',
    shown.steps.map((s, t) => (shown.scored[t] ? s.output : s.output.map(() => 0))),
  );
  for (const h of (shown.steps[0]?.writeWeightings ?? []).keys()) {
    add(
      `write weighting, head ${h + 1} (memory rows 0–${lastRow} ↓)`,
      shown.steps.map((s) => crop(s.writeWeightings[h] as number[])),
    );
  }
  for (const h of (shown.steps[0]?.readWeightings ?? []).keys()) {
    add(
      `read weighting, head ${h + 1} (memory rows 0–${lastRow} ↓)`,
      shown.steps.map((s) => crop(s.readWeightings[h] as number[])),
    );
  }
  if (shown.steps[0]?.usage !== undefined) {
    add(
      `usage (memory locations 0–${lastRow} ↓)`,
      shown.steps.map((s) => crop(s.usage as number[])),
    );
    for (const h of (shown.steps[0]?.readModes ?? []).keys())
      add(
        `read mode, head ${h + 1} (backward, forward per write head, content ↓)`,
        shown.steps.map((s) => (s.readModes as number[][])[h] as number[]),
      );
  }
  for (const [h, link] of (shown.links ?? []).entries()) add(`link matrix L at the last step, write head ${h + 1} (column j: written after j ↓)`, link, true);
  const width = x * 2 + Math.max(...shown.inputs.map(() => cell)) * shown.inputs.length + 220;
  return document(Math.max(width, 420), y, parts.join(''), title);
}

const SHADES = [' ', '░', '▒', '▓', '█'];
const glyph = (v: number): string => SHADES[Math.max(0, Math.min(4, Math.round(v * 4)))] as string;

/**
 * A compact terminal view: one text row per channel, one character per time step; weightings show
 * only the memory rows that were ever addressed.
 */
export function renderTerminal(shown: Shown): string {
  const lines: string[] = [];
  const block = (label: string, columns: number[][]) => {
    const height = columns[0]?.length ?? 0;
    lines.push(label);
    for (let i = 0; i < height; i++) lines.push(`  │${columns.map((c) => glyph(c[i] as number)).join('')}│`);
  };
  const weightings = (label: string, columns: number[][]) => {
    const rows =
      (columns[0]?.length ?? 0) > 0
        ? Array.from({ length: (columns[0] as number[]).length }, (_, i) => i).filter((i) => columns.some((c) => (c[i] as number) > 0.05))
        : [];
    lines.push(`${label} (the ${rows.length} memory rows with weight > 0.05)`);
    for (const i of rows) lines.push(`${String(i).padStart(4)}│${columns.map((c) => glyph(c[i] as number)).join('')}│`);
  };
  block('input', shown.inputs);
  block(
    'target',
    shown.targets.map((row, t) => (shown.scored[t] ? row : row.map(() => 0))),
  );
  block(
    'output',
    shown.steps.map((s, t) => (shown.scored[t] ? s.output : s.output.map(() => 0))),
  );
  for (const h of (shown.steps[0]?.writeWeightings ?? []).keys()) {
    weightings(
      `write head ${h + 1}`,
      shown.steps.map((s) => s.writeWeightings[h] as number[]),
    );
  }
  for (const h of (shown.steps[0]?.readWeightings ?? []).keys()) {
    weightings(
      `read head ${h + 1}`,
      shown.steps.map((s) => s.readWeightings[h] as number[]),
    );
  }
  if (shown.steps[0]?.usage !== undefined) {
    weightings(
      'usage',
      shown.steps.map((s) => s.usage as number[]),
    );
    for (const h of (shown.steps[0]?.readModes ?? []).keys())
      block(
        `read mode ${h + 1} (backward, forward per write head, content)`,
        shown.steps.map((s) => (s.readModes as number[][])[h] as number[]),
      );
  }
  lines.push(`error: ${shown.errorBits} wrong bits in this sequence`);
  return lines.join('\n');
}
