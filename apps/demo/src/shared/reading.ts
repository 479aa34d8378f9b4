/**
 * What the two language-model pages draw alike: a text as word chips, the earlier words a memory weighed outlined by
 * weight, and a memory network's attention at one position (a heatmap, a row per hop, and each hop's strongest words).
 */
import { colour, drawHeatmap } from './heatmap.js';

/** One hop's attention over the words in memory, as `inspectMemnetLm` gives it. */
export interface HopAttention {
  /** The text positions of the words in memory, oldest first. */
  positions: number[];
  /** The attention on each. */
  weights: number[];
  /** The attention on the empty memories (before N words). */
  empty: number;
}

/** An RGB triple as CSS. */
export const rgb = ([r, g, b]: [number, number, number]): string => `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`;
/** A probability as a percentage, with two decimals below 1%. */
export const percent = (p: number): string => `${(100 * p).toFixed(p < 0.01 ? 2 : 1)}%`;
/** A word as the pages show it: `<eos>` as ¶. */
export const shownWord = (w: string): string => (w === '<eos>' ? '¶' : w);

/**
 * A word of the text as a button (`.word`, `.eos` for a sentence's end), its index in `data-index`.
 * @param word - the word
 * @param index - its position in the text
 */
export function wordChip(word: string, index: number): HTMLButtonElement {
  const chip = document.createElement('button');
  chip.type = 'button';
  chip.className = word === '<eos>' ? 'word eos' : 'word';
  chip.textContent = shownWord(word);
  chip.dataset.index = String(index);
  return chip;
}

/**
 * Marks word `selected` and outlines the words a memory weighed, each by its weight against the strongest (the weight
 * also in `data-recall`; empty for the others).
 * @param container - the element holding the word chips
 * @param selected - the index of the word being predicted
 * @param recalled - the positions weighed and their weights
 */
export function outlineRecalled(container: HTMLElement, selected: number, recalled: readonly { position: number; weight: number }[]): void {
  const strongest = Math.max(1e-12, ...recalled.map((r) => r.weight));
  const weightAt = new Map(recalled.map((r) => [r.position, r.weight]));
  for (const chip of container.querySelectorAll<HTMLButtonElement>('.word')) {
    const i = Number(chip.dataset.index);
    chip.classList.toggle('selected', i === selected);
    const weight = weightAt.get(i);
    chip.style.outline = weight === undefined ? '' : `2px solid ${rgb(colour(weight / strongest))}`;
    chip.dataset.recall = weight === undefined ? '' : weight.toFixed(4);
  }
}

/**
 * Draws a memory network's attention at one position: every hop over the words in memory as a heatmap (a row per hop,
 * a column per word, oldest on the left), and under it each hop's `top` strongest words (with the attention left on
 * the empty memories, if any).
 * @param canvas - the heatmap's canvas
 * @param list - the list for each hop's strongest words
 * @param hops - each hop's attention
 * @param words - the text's words, by position
 * @param options - the heatmap's cell size (CSS pixels) and the words listed per hop
 */
export function drawHopAttention(
  canvas: HTMLCanvasElement,
  list: HTMLElement,
  hops: readonly HopAttention[],
  words: readonly string[],
  options: { cellWidth: number; cellHeight: number; top: number },
): void {
  const slots = hops[0]?.positions.length ?? 0;
  const columns = Array.from({ length: slots }, (_, i) => hops.map((h) => h.weights[i] as number));
  const strongest = Math.max(1e-12, ...hops.flatMap((h) => h.weights));
  drawHeatmap(canvas, columns, { cellWidth: options.cellWidth, cellHeight: options.cellHeight, max: strongest });
  list.replaceChildren(
    ...hops.map((h, k) => {
      const row = document.createElement('li');
      const best = h.positions
        .map((position, i) => ({ position, weight: h.weights[i] as number }))
        .sort((a, b) => b.weight - a.weight)
        .slice(0, options.top);
      // Fewer than N words before the position: the rest of the attention is on the empty memories.
      const empty = h.empty > 0 ? ` (empty memories ${percent(h.empty)})` : '';
      row.textContent = `hop ${k + 1}: ${best.map((b) => `${shownWord(words[b.position] ?? '?')} ${percent(b.weight)}`).join(', ')}${empty}`;
      return row;
    }),
  );
}
