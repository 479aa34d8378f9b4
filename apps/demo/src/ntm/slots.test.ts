import type { StepInspection } from '@engram/ntm';
import { describe, expect, it } from 'vitest';
import { describeRuns, usedSlots } from './slots.js';

const step = (read: number[], write: number[]): StepInspection => ({ readWeightings: [read], writeWeightings: [write] }) as unknown as StepInspection;

describe('usedSlots', () => {
  it('keeps the slots some head weights, with a margin, and cuts between runs', () => {
    const at = (i: number): number[] => Array.from({ length: 16 }, (_, j) => (j === i ? 1 : 0));
    const rows = usedSlots([step(at(0), at(12)), step(at(1), at(13))], 16);
    expect(rows).toEqual([0, 1, 2, 3, null, 10, 11, 12, 13, 14, 15]);
    expect(describeRuns(rows)).toBe('0–3, 10–15');
  });

  it('shows every slot when no head focuses anywhere', () => {
    const flat = new Array<number>(8).fill(1 / 64);
    expect(usedSlots([step(flat, flat)], 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(describeRuns([4])).toBe('4');
  });
});
