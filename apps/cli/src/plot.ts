import { writeText } from './files.js';
import { readFile } from 'node:fs/promises';
import { lineChart } from './svg.js';

/** Reads a learning-curve CSV written by training. */
export async function readCurve(path: string): Promise<{ sequences: number; train: number; fresh: number | null }[]> {
  const lines = (await readFile(path, 'utf8')).trim().split('\n').slice(1);
  return lines
    .filter((l) => l.length > 0)
    .map((line) => {
      const [, sequences, , , train, fresh] = line.split(',');
      return { sequences: Number(sequences), train: Number(train), fresh: fresh === '' || fresh === undefined ? null : Number(fresh) };
    });
}

/** Most points drawn per curve. */
const MAX_POINTS = 1500;

/** Plots error bits per sequence against sequences seen (log scale) as an SVG. */
export async function plotCurve(csvPath: string, svgPath: string, title: string): Promise<void> {
  const rows = await readCurve(csvPath);
  const window = 25;
  const smoothed: [number, number][] = rows.map((row, i) => {
    const slice = rows.slice(Math.max(0, i - window + 1), i + 1);
    return [row.sequences, slice.reduce((a, r) => a + r.train, 0) / slice.length];
  });
  const fresh: [number, number][] = rows.flatMap((r) => (r.fresh === null ? [] : [[r.sequences, r.fresh] as [number, number]]));
  // At most MAX_POINTS points per line keeps the file small whatever the run's length.
  const every = Math.max(1, Math.ceil(smoothed.length / MAX_POINTS));
  const thinned = smoothed.filter((_, i) => i % every === 0 || i === smoothed.length - 1);
  await writeText(
    svgPath,
    lineChart(title, 'training sequences', 'error bits per sequence (log scale)', [
      { label: `training batches (mean of ${window})`, color: '#1f77b4', points: thinned },
      { label: 'fresh sequences', color: '#d62728', points: fresh },
    ]),
  );
}

/** Plots a MemN2N run's training and validation error (%) against epochs as an SVG. */
export async function plotMemnetCurve(csvPath: string, svgPath: string, title: string): Promise<void> {
  const rows = (await readFile(csvPath, 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .filter((l) => l.length > 0)
    .map((line) => line.split(','));
  const column = (index: number): [number, number][] =>
    rows.map((r) => [Number(r[0]) + 1, 100 * Number(r[index])] as [number, number]).filter((p) => Number.isFinite(p[1]));
  await writeText(
    svgPath,
    lineChart(
      title,
      'epoch',
      'error % (linear scale)',
      [
        { label: 'training questions (during the epoch)', color: '#1f77b4', points: column(4) },
        { label: 'validation questions (after the epoch)', color: '#d62728', points: column(6) },
      ],
      { logY: false },
    ),
  );
}
