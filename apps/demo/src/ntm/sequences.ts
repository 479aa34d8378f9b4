/**
 * What the visitor edits: the content of a sequence (the bit vectors, and for repeat copy the count,
 * for associative recall the query), and how it becomes the task's input and target rows through
 * the task builders of @engram/datasets — the same code that makes the training data.
 */
import { type TaskSequence, associativeRecallSequence, copySequence, randomBits, repeatCopySequence } from '@engram/datasets';
import type { Random } from '@engram/tensor';
import type { DemoTask } from './protocol.js';
import { wrongBits } from '@engram/ntm';

/** The sliders a task offers, with the ranges the pretrained models were trained on. */
export interface TaskShape {
  /** Bits per vector. */
  width: number;
  /** Vectors per item (associative recall; 1 elsewhere). */
  itemLength: number;
  /** The length (or item-count) slider: its range, default, and the trained range. */
  length: { label: string; min: number; max: number; value: number; trained: [number, number] };
  /** The repeat slider (repeat copy only). */
  repeats?: { min: number; max: number; value: number; trained: [number, number] };
  /** One line on what the task asks. */
  description: string;
}

/** Per task: sizes and the ranges of its training data (@engram/datasets defaults, NTM §4). */
export const TASK_SHAPES: Record<DemoTask, TaskShape> = {
  copy: {
    width: 8,
    itemLength: 1,
    length: { label: 'Length', min: 1, max: 40, value: 10, trained: [1, 20] },
    description: 'Read a sequence of 8-bit vectors, then write it back after the delimiter.',
  },
  'repeat-copy': {
    width: 8,
    itemLength: 1,
    length: { label: 'Length', min: 1, max: 15, value: 5, trained: [1, 10] },
    repeats: { min: 1, max: 15, value: 3, trained: [1, 10] },
    description: 'Read a sequence and a repeat count, write the sequence that many times, then raise the end marker.',
  },
  'associative-recall': {
    width: 6,
    itemLength: 3,
    length: { label: 'Items', min: 2, max: 8, value: 4, trained: [2, 6] },
    description: 'Read items of three 6-bit vectors, then one of them as a query; answer with the item that followed it.',
  },
};

/** What the visitor chose: vectors grouped into items (one vector per item except for recall). */
export interface SequenceContent {
  task: DemoTask;
  /** `items[i][v]`: vector v of item i, `width` bits of 0 or 1. */
  items: Float32Array[][];
  /** Repeat count (repeat copy). */
  repeats: number;
  /** The queried item (associative recall; any but the last). */
  query: number;
}

/** Random content of the given size, from `rng`. */
export function randomContent(task: DemoTask, rng: Random, length: number, repeats: number): SequenceContent {
  const shape = TASK_SHAPES[task];
  const items = Array.from({ length }, () => Array.from({ length: shape.itemLength }, () => randomBits(rng, shape.width)));
  return { task, items, repeats, query: task === 'associative-recall' ? rng.int(0, length - 2) : 0 };
}

/** The same content at a new size: kept vectors stay, new ones are drawn from `rng`. */
export function resizeContent(content: SequenceContent, rng: Random, length: number, repeats: number): SequenceContent {
  const shape = TASK_SHAPES[content.task];
  const items = Array.from({ length }, (_, i) => content.items[i] ?? Array.from({ length: shape.itemLength }, () => randomBits(rng, shape.width)));
  return { ...content, items, repeats, query: Math.min(content.query, length - 2) };
}

/** The task's rows for this content, built by the @engram/datasets task builders. */
export function sequenceOf(content: SequenceContent): TaskSequence {
  switch (content.task) {
    case 'copy':
      return copySequence(content.items.map((item) => item[0] as Float32Array));
    case 'repeat-copy':
      return repeatCopySequence(
        content.items.map((item) => item[0] as Float32Array),
        content.repeats,
      );
    case 'associative-recall':
      return associativeRecallSequence(content.items, content.query);
  }
}

/** The output bits that differ from the target on scored steps (@engram/ntm's `wrongBits`), as `column,row` keys for the heatmap. */
export function wrongBitKeys(rows: TaskSequence, outputs: readonly (readonly number[])[]): Set<string> {
  return new Set(wrongBits(outputs, rows.targets, rows.scored).map((w) => `${w.step},${w.bit}`));
}
