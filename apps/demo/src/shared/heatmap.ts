/**
 * Heatmaps on a canvas: a grid of values in [0, 1] (or scaled into it), one cell per value, drawn
 * with a perceptual colour map. Columns are time steps everywhere in the demo.
 */

/** Colour stops of a magma-like map, dark (0) to light (1). */
const STOPS: readonly [number, number, number][] = [
  [12, 8, 38],
  [84, 22, 110],
  [160, 48, 120],
  [232, 96, 88],
  [252, 176, 110],
  [252, 253, 191],
];

/** Ends of the diverging map: negative values go blue, positive orange, zero stays dark. */
const NEGATIVE: readonly [number, number, number] = [52, 195, 255];
const POSITIVE: readonly [number, number, number] = [255, 190, 110];
const ZERO: readonly [number, number, number] = [12, 8, 38];
/** Drawn for a NaN value: a separator between runs of rows. */
const SEPARATOR = '#171a23';

/** The diverging map at v ∈ [−1, 1] (clamped), as an RGB triple. */
export function divergingColour(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(-1, v));
  const end = x < 0 ? NEGATIVE : POSITIVE;
  const f = Math.sqrt(Math.abs(x));
  return [ZERO[0] + (end[0] - ZERO[0]) * f, ZERO[1] + (end[1] - ZERO[1]) * f, ZERO[2] + (end[2] - ZERO[2]) * f];
}

/** The colour map at v ∈ [0, 1] (clamped), as an RGB triple. */
export function colour(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i] as [number, number, number];
  const b = STOPS[i + 1] as [number, number, number];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** How to draw a heatmap. */
export interface HeatmapOptions {
  /** Cell width in CSS pixels. */
  cellWidth: number;
  /** Cell height in CSS pixels. */
  cellHeight: number;
  /** Value drawn darkest (default 0). */
  min?: number;
  /** Value drawn lightest (default 1). */
  max?: number;
  /** Column to outline (the time step being looked at). */
  highlightColumn?: number;
  /** Cells to mark with a red outline, as `column,row` keys. */
  marked?: ReadonlySet<string>;
  /** Line between cells (CSS pixels, default 0). */
  gap?: number;
  /** `sequential` (default): min dark to max light. `diverging`: ±max(|min|, |max|) blue / orange, 0 dark. */
  palette?: 'sequential' | 'diverging';
  /** Columns drawn faded (steps that are not scored, say). */
  faded?: ReadonlySet<number>;
}

/**
 * Draws `columns[c][r]` (column c, row r) onto `canvas`, sizing it for the device's pixel ratio so
 * cells stay sharp on phones.
 */
export function drawHeatmap(canvas: HTMLCanvasElement, columns: readonly ArrayLike<number>[], options: HeatmapOptions): void {
  const rows = columns.reduce((most, column) => Math.max(most, column.length), 0);
  const { cellWidth, cellHeight } = options;
  const gap = options.gap ?? 0;
  const min = options.min ?? 0;
  const span = (options.max ?? 1) - min || 1;
  const ratio = globalThis.devicePixelRatio || 1;
  const width = columns.length * cellWidth;
  const height = rows * cellHeight;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  const context = canvas.getContext('2d');
  if (context === null) return;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.fillStyle = SEPARATOR;
  context.fillRect(0, 0, width, height);
  const limit = Math.max(Math.abs(min), Math.abs(options.max ?? 1)) || 1;
  const paint = options.palette === 'diverging' ? (v: number) => divergingColour(v / limit) : (v: number) => colour((v - min) / span);
  columns.forEach((column, c) => {
    const alpha = options.faded?.has(c) ? 0.35 : 1;
    for (let r = 0; r < column.length; r++) {
      const value = column[r] as number;
      if (Number.isNaN(value)) {
        context.fillStyle = SEPARATOR;
        context.fillRect(c * cellWidth, r * cellHeight, cellWidth, cellHeight);
        continue;
      }
      const [red, green, blue] = paint(value);
      context.fillStyle = `rgba(${red | 0},${green | 0},${blue | 0},${alpha})`;
      context.fillRect(c * cellWidth, r * cellHeight, cellWidth - gap, cellHeight - gap);
    }
  });
  if (options.marked && options.marked.size > 0) {
    context.strokeStyle = '#ff3b30';
    context.lineWidth = Math.max(1, Math.min(cellWidth, cellHeight) / 5);
    for (const key of options.marked) {
      const [c, r] = key.split(',').map(Number) as [number, number];
      context.strokeRect(c * cellWidth + 1, r * cellHeight + 1, cellWidth - 2 - gap, cellHeight - 2 - gap);
    }
  }
  if (options.highlightColumn !== undefined && options.highlightColumn >= 0 && options.highlightColumn < columns.length) {
    context.strokeStyle = '#34c3ff';
    context.lineWidth = 1.5;
    context.strokeRect(options.highlightColumn * cellWidth + 0.75, 0.75, cellWidth - 1.5, height - 1.5);
  }
}

/** The cell under a pointer event, or null when outside. */
export function cellAt(canvas: HTMLCanvasElement, event: MouseEvent, cellWidth: number, cellHeight: number): { column: number; row: number } | null {
  const box = canvas.getBoundingClientRect();
  const column = Math.floor((event.clientX - box.left) / cellWidth);
  const row = Math.floor((event.clientY - box.top) / cellHeight);
  if (column < 0 || row < 0 || event.clientX > box.right || event.clientY > box.bottom) return null;
  return { column, row };
}
