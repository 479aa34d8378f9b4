/** A learning curve on a canvas: error bits per sequence against sequences seen, or perplexity against epochs. */

/** One point of the curve. */
export interface CurvePoint {
  /** Sequences seen (or epochs). */
  x: number;
  /** Error bits per sequence (mean over a chunk), or a perplexity. */
  y: number;
}

/** How to draw a curve besides its points. */
export interface CurveOptions {
  /** The x axis's name (default `sequences`). */
  xLabel?: string;
  /** The x axis reaches at least this far (default 100). */
  xMax?: number;
  /** A level to compare with, drawn as a dashed line and named at its right end. */
  reference?: { y: number; label: string };
}

const PADDING = { left: 44, right: 12, top: 12, bottom: 30 } as const;

/** A readable axis limit ≥ `value`: 1, 2 or 5 times a power of ten. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Mean of the points in windows of `window` sequences, to smooth the single-sequence noise. */
export function smooth(points: readonly CurvePoint[], window: number): CurvePoint[] {
  const out: CurvePoint[] = [];
  let sum = 0;
  let weight = 0;
  let start = points[0]?.x ?? 0;
  for (const p of points) {
    sum += p.y;
    weight++;
    if (p.x - start >= window) {
      out.push({ x: p.x, y: sum / weight });
      sum = 0;
      weight = 0;
      start = p.x;
    }
  }
  const last = points[points.length - 1];
  if (weight > 0 && last !== undefined) out.push({ x: last.x, y: sum / weight });
  return out;
}

/**
 * Draws the curve, sized to the canvas's CSS box.
 * @param canvas - where to draw
 * @param points - the curve, in order of x
 * @param label - the y axis's name
 * @param options - the x axis's name and extent, and a reference level
 */
export function drawCurve(canvas: HTMLCanvasElement, points: readonly CurvePoint[], label: string, options: CurveOptions = {}): void {
  const ratio = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth || 320;
  const height = canvas.clientHeight || 200;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const context = canvas.getContext('2d');
  if (context === null) return;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const plotWidth = width - PADDING.left - PADDING.right;
  const plotHeight = height - PADDING.top - PADDING.bottom;
  const xMax = niceCeiling(Math.max(options.xMax ?? 100, ...points.map((p) => p.x)));
  const yMax = niceCeiling(Math.max(1, options.reference?.y ?? 0, ...points.map((p) => p.y)));
  const px = (x: number): number => PADDING.left + (x / xMax) * plotWidth;
  const py = (y: number): number => PADDING.top + plotHeight - (y / yMax) * plotHeight;
  context.font = '11px system-ui, sans-serif';
  context.fillStyle = '#8a8fa3';
  context.strokeStyle = '#2b2f3d';
  context.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    context.beginPath();
    context.moveTo(PADDING.left, py(y));
    context.lineTo(width - PADDING.right, py(y));
    context.stroke();
    context.textAlign = 'right';
    context.fillText(String(Number(y.toPrecision(3))), PADDING.left - 6, py(y) + 4);
  }
  context.textAlign = 'center';
  for (let i = 0; i <= 4; i++) {
    const x = (xMax * i) / 4;
    context.fillText(x >= 1000 ? `${x / 1000}k` : String(x), px(x), height - PADDING.bottom + 16);
  }
  context.fillText(options.xLabel ?? 'sequences', PADDING.left + plotWidth / 2, height - 2);
  context.save();
  context.translate(11, PADDING.top + plotHeight / 2);
  context.rotate(-Math.PI / 2);
  context.fillText(label, 0, 0);
  context.restore();
  if (options.reference) {
    context.strokeStyle = '#8a8fa3';
    context.setLineDash([4, 4]);
    context.beginPath();
    context.moveTo(PADDING.left, py(options.reference.y));
    context.lineTo(width - PADDING.right, py(options.reference.y));
    context.stroke();
    context.setLineDash([]);
    context.textAlign = 'right';
    context.fillText(options.reference.label, width - PADDING.right - 2, py(options.reference.y) - 4);
  }
  if (points.length === 0) return;
  context.strokeStyle = '#ff9f5a';
  context.lineWidth = 2;
  context.beginPath();
  for (const [i, p] of points.entries()) {
    if (i === 0) context.moveTo(px(p.x), py(p.y));
    else context.lineTo(px(p.x), py(p.y));
  }
  context.stroke();
}
