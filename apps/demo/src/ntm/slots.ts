/** Which memory slots the maps show: the ones some head uses, in runs. */
import type { StepInspection } from '@engram/ntm';

/** A slot is shown when some head puts at least this much weight on it at some step. */
export const SLOT_SHOWN = 0.02;
/** Slots shown around the used ones. */
export const SLOT_MARGIN = 2;

/**
 * The slots some head uses (weight ≥ SLOT_SHOWN at some step, with a margin), in order, with null
 * between separate runs — so the maps show the parts of memory that matter and mark the cuts.
 */
export function usedSlots(steps: readonly StepInspection[], slots: number): (number | null)[] {
  const used = new Array<boolean>(slots).fill(false);
  for (const step of steps)
    for (const weighting of [...step.readWeightings, ...step.writeWeightings])
      weighting.forEach((w, i) => {
        if (w >= SLOT_SHOWN) for (let j = i - SLOT_MARGIN; j <= i + SLOT_MARGIN; j++) if (j >= 0 && j < slots) used[j] = true;
      });
  if (!used.includes(true)) return Array.from({ length: slots }, (_, i) => i);
  const rows: (number | null)[] = [];
  used.forEach((u, i) => {
    if (!u) return;
    if (rows.length > 0 && rows[rows.length - 1] !== i - 1) rows.push(null);
    rows.push(i);
  });
  return rows;
}

/** "0–3, 98–127" for the rows of {@link usedSlots}. */
export function describeRuns(rows: readonly (number | null)[]): string {
  const runs: string[] = [];
  let start: number | null = null;
  let previous: number | null = null;
  for (const row of [...rows, null]) {
    if (row === null) {
      if (start !== null) runs.push(start === previous ? String(start) : `${start}–${previous}`);
      start = null;
    } else {
      if (start === null) start = row;
      previous = row;
    }
  }
  return runs.join(', ');
}
