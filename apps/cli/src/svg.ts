/** Minimal SVG building: heatmaps for weightings and bit patterns, and line charts for learning curves. */

/** Text made safe inside SVG markup. */
export const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Shades below this fraction of the maximum are indistinguishable from the white background. */
const INVISIBLE = 0.004;

/** A colour for v ∈ [0, 1]: white → dark blue. */
export function shade(v: number): string {
  const t = Math.max(0, Math.min(1, Number.isFinite(v) ? v : 0));
  const channel = (from: number, to: number) => Math.round(from + (to - from) * t);
  return `rgb(${channel(255, 8)},${channel(255, 48)},${channel(255, 107)})`;
}

/** A titled heatmap of `rows` (each a column of the picture: time runs left to right). */
export function heatmap(
  title: string,
  columns: readonly (readonly number[])[],
  x: number,
  y: number,
  cell: number,
  normalise = false,
): { svg: string; height: number } {
  const height = Math.max(0, ...columns.map((c) => c.length));
  let max = 1;
  if (normalise) max = Math.max(1e-12, ...columns.flatMap((c) => c.map(Math.abs)));
  const parts = [`<text x="${x}" y="${y - 4}" font-size="12" font-family="sans-serif">${escapeXml(title)}</text>`];
  columns.forEach((column, t) => {
    column.forEach((v, i) => {
      // The background is white: cells that would be drawn white are left out (most of a weighting).
      if (Math.abs(v) / max < INVISIBLE) return;
      parts.push(`<rect x="${x + t * cell}" y="${y + i * cell}" width="${cell}" height="${cell}" fill="${shade(Math.abs(v) / max)}"/>`);
    });
  });
  parts.push(`<rect x="${x}" y="${y}" width="${columns.length * cell}" height="${height * cell}" fill="none" stroke="#888" stroke-width="0.5"/>`);
  return { svg: parts.join(''), height: height * cell };
}

/** Wraps drawn parts in an SVG document with an accessible title. */
export function document(width: number, height: number, body: string, title = 'Engram figure'): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img"><title>${escapeXml(title)}</title><rect width="100%" height="100%" fill="white"/>${body}</svg>\n`;
}

/** Round tick values between `min` and `max`: about `target` of them, a step of 1, 2 or 5 times a power of ten. */
export function roundTicks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / target;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(6)));
  return ticks;
}

/** One line of a chart. */
export interface Series {
  /** Legend label. */
  label: string;
  /** Colour. */
  color: string;
  /** Points (x, y). */
  points: readonly [number, number][];
}

/**
 * A line chart, its y axis log-scaled by default (for error bits, which span orders of magnitude); a linear axis starts
 * at 0 unless `yMin` says where (perplexities that never come near 0), and the x axis at 0 unless `xMin` says where (a
 * curve drawn from a later epoch). The legend sits at the bottom left, where a
 * falling error curve leaves room, or at the top right (curves that level off low).
 */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: readonly Series[],
  options: { logY?: boolean; yMin?: number; xMin?: number; legend?: 'bottom-left' | 'top-right' } = {},
): string {
  const width = 720;
  const height = 420;
  const margin = { left: 70, right: 20, top: 40, bottom: 50 };
  const all = series.flatMap((s) => s.points);
  const logY = options.logY ?? true;
  const floor = 1e-3;
  const yValue = (v: number) => (logY ? Math.log10(Math.max(floor, v)) : v);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => yValue(p[1]));
  const xMin = Math.min(options.xMin ?? 0, ...xs);
  const xMax = Math.max(1, ...xs);
  // A log axis starts at the decade below the smallest value (error bits reach the floor, perplexities do not).
  const yMin = logY ? Math.floor(Math.min(...ys, Math.log10(floor) + 10)) : Math.min(options.yMin ?? 0, ...ys);
  const yMax = Math.max(yMin + 1, ...ys);
  const px = (v: number) => margin.left + ((v - xMin) / (xMax - xMin)) * (width - margin.left - margin.right);
  const py = (v: number) => height - margin.bottom - ((yValue(v) - yMin) / (yMax - yMin)) * (height - margin.top - margin.bottom);
  const parts: string[] = [
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-family="sans-serif">${escapeXml(title)}</text>`,
    `<line x1="${margin.left}" y1="${height - margin.bottom}" x2="${width - margin.right}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle" font-size="12" font-family="sans-serif">${escapeXml(xLabel)}</text>`,
    `<text x="16" y="${height / 2}" text-anchor="middle" font-size="12" font-family="sans-serif" transform="rotate(-90 16 ${height / 2})">${escapeXml(yLabel)}</text>`,
  ];
  const tick = (value: number, y: number): void => {
    parts.push(`<line x1="${margin.left}" y1="${y}" x2="${width - margin.right}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y + 4}" text-anchor="end" font-size="11" font-family="sans-serif">${value}</text>`);
  };
  if (logY) {
    for (let e = Math.ceil(yMin); e <= Math.floor(yMax); e++) tick(10 ** e, py(10 ** e));
  } else {
    for (const v of roundTicks(yMin, yMax)) tick(v, py(v));
  }
  for (const v of roundTicks(xMin, xMax)) {
    parts.push(
      `<text x="${px(v)}" y="${height - margin.bottom + 16}" text-anchor="middle" font-size="11" font-family="sans-serif">${Math.round(v).toLocaleString('en-US')}</text>`,
    );
  }
  series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    }
    const topRight = options.legend === 'top-right';
    const legendY = topRight ? margin.top + 14 + i * 18 : height - margin.bottom - 12 - (series.length - 1 - i) * 18;
    const legendX = topRight ? width - margin.right - 12 - 30 - 6.2 * Math.max(...series.map((t) => t.label.length)) : margin.left + 12;
    parts.push(`<rect x="${legendX}" y="${legendY - 4}" width="12" height="3" fill="${s.color}"/>`);
    parts.push(`<text x="${legendX + 18}" y="${legendY}" font-size="11" font-family="sans-serif">${escapeXml(s.label)}</text>`);
  });
  return document(width, height, parts.join(''), title);
}
