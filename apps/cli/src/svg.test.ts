import { describe, expect, it } from 'vitest';
import { lineChart } from './svg.js';

/** The x axis's tick labels of a chart, left to right. */
const xTicks = (svg: string) => [...svg.matchAll(/<text x="[\d.]+" y="386" text-anchor="middle"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

describe('lineChart', () => {
  const series = [
    {
      label: 'run',
      color: '#000',
      points: [
        [2, 250],
        [3, 200],
        [4, 190],
      ] as [number, number][],
    },
  ];
  it('starts the x axis at 0 by default, and where xMin says', () => {
    expect(xTicks(lineChart('t', 'epoch', 'perplexity', series, { logY: false }))[0]).toBe('0');
    const from1 = lineChart('t', 'epoch', 'perplexity', series, { logY: false, xMin: 1 });
    expect(xTicks(from1)).toEqual(['1', '2', '3', '4']);
    // The first point sits one tick in from the left margin (70 px), of three ticks' width (720 − 70 − 20 px).
    expect(from1).toContain(`d="M${(70 + 630 / 3).toFixed(1)},`);
  });
  it('never cuts off a point left of xMin: the axis reaches the smallest x', () => {
    expect(xTicks(lineChart('t', 'epoch', 'perplexity', series, { logY: false, xMin: 3 }))[0]).toBe('2');
  });
});
