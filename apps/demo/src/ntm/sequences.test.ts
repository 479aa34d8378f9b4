import { associativeRecallTask, copyTask, repeatCopyTask } from '@engram/datasets';
import { Random } from '@engram/tensor';
import { describe, expect, it } from 'vitest';
import { TASK_SHAPES, randomContent, resizeContent, sequenceOf, wrongBitKeys } from './sequences.js';

describe("the visitor's sequences", () => {
  it('have the widths the tasks (and so the pretrained models) expect', () => {
    const generators = { copy: copyTask, 'repeat-copy': repeatCopyTask, 'associative-recall': associativeRecallTask } as const;
    for (const task of ['copy', 'repeat-copy', 'associative-recall'] as const) {
      const content = randomContent(task, new Random(1), TASK_SHAPES[task].length.value, 3);
      const sequence = sequenceOf(content);
      expect(sequence.inputs[0]).toHaveLength(generators[task].inputWidth({}));
      expect(sequence.targets[0]).toHaveLength(generators[task].outputWidth({}));
    }
  });

  it('keep the bits already drawn when resized, and keep the query inside the items', () => {
    const content = randomContent('associative-recall', new Random(2), 5, 1);
    content.query = 3;
    const smaller = resizeContent(content, new Random(3), 3, 1);
    expect(smaller.items).toEqual(content.items.slice(0, 3));
    expect(smaller.query).toBe(1);
    const larger = resizeContent(smaller, new Random(3), 6, 1);
    expect(larger.items.slice(0, 3)).toEqual(smaller.items);
    expect(larger.items).toHaveLength(6);
  });

  it('count wrong output bits on scored steps only', () => {
    const rows = sequenceOf({ task: 'copy', items: [[Float32Array.from([1, 0])]], repeats: 1, query: 0 });
    // Steps: the vector, the delimiter, the answer (scored).
    const outputs = [
      [0.9, 0.9],
      [0.9, 0.9],
      [0.8, 0.6],
    ];
    expect([...wrongBitKeys(rows, outputs)]).toEqual(['2,1']);
  });
});
