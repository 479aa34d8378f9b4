import { Random } from '@engram/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advanceCurriculum,
  associativeRecallSequence,
  associativeRecallTask,
  copySequence,
  copyTask,
  curriculumOptions,
  packSequences,
  prioritySortTask,
  repeatCopySequence,
  repeatCopyTask,
  sampleBatch,
  sliceSequences,
} from './index.js';

const rows = (data: Float32Array, width: number): number[][] =>
  Array.from({ length: data.length / width }, (_, i) => Array.from(data.subarray(i * width, (i + 1) * width)));

describe('copy', () => {
  it('lays out sequence, delimiter, then the answer with a mask', () => {
    const s = copyTask.sample(new Random(1), { minLength: 3, maxLength: 3, width: 4 });
    expect(s.inputs).toHaveLength(7);
    expect(Array.from(s.inputs[3] as Float32Array)).toEqual([0, 0, 0, 0, 1]);
    expect(s.scored).toEqual([0, 0, 0, 0, 1, 1, 1]);
    for (let t = 0; t < 3; t++) expect(Array.from(s.targets[4 + t] as Float32Array)).toEqual(Array.from((s.inputs[t] as Float32Array).subarray(0, 4)));
    for (let t = 4; t < 7; t++) expect(Array.from(s.inputs[t] as Float32Array).every((v) => v === 0)).toBe(true);
  });

  it('is seeded and stays in its length range', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 30 }), (seed, max) => {
        const a = sampleBatch(copyTask, new Random(seed), 4, { maxLength: max });
        const b = sampleBatch(copyTask, new Random(seed), 4, { maxLength: max });
        return (
          a.inputs.every((v, i) => v === b.inputs[i]) &&
          a.info.every((info) => (info.length as number) >= 1 && (info.length as number) <= max) &&
          a.steps <= 2 * max + 1
        );
      }),
    );
  });

  it('pads a batch and masks the padding', () => {
    const batch = sampleBatch(copyTask, new Random(3), 8, { maxLength: 10 });
    const masked = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: batch.steps }, (_, t) => batch.mask[t * 8 + b] as number).reduce((x, y) => x + y, 0),
    );
    expect(masked).toEqual(batch.info.map((i) => i.length));
    expect(batch.inputs.length).toBe(batch.steps * 8 * 9);
  });

  it('cuts a batch into shards of sequences that pack the same as those sequences alone, trailing unscored steps dropped', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 1, max: 12 }), (seed, size, max) => {
        const rng = new Random(seed);
        const sequences = Array.from({ length: size }, () => copyTask.sample(rng, { maxLength: max }));
        const whole = packSequences(sequences, 9, 8);
        const from = Math.abs(seed) % size;
        const to = Math.min(size, from + 1 + (Math.abs(seed >> 3) % size));
        const shard = sliceSequences(whole, from, to);
        const alone = packSequences(sequences.slice(from, to), 9, 8);
        expect(shard.steps).toBe(alone.steps);
        expect(Array.from(shard.inputs)).toEqual(Array.from(alone.inputs));
        expect(Array.from(shard.targets)).toEqual(Array.from(alone.targets));
        expect(Array.from(shard.mask)).toEqual(Array.from(alone.mask));
        expect(shard.info).toEqual(alone.info);
      }),
    );
    const batch = sampleBatch(copyTask, new Random(1), 4, {});
    for (const [from, to] of [
      [2, 2],
      [-1, 2],
      [0, 5],
      [0.5, 2],
    ] as const)
      expect(() => sliceSequences(batch, from, to)).toThrow(/sliceSequences: sequences .* are not a non-empty part of a batch of 4/);
  });

  it('names a bad option', () => {
    expect(() => copyTask.sample(new Random(1), { minLength: 5, maxLength: 2 })).toThrow(/copy: maxLength must be an integer in \[5, ∞\], got 2/);
  });
});

describe('repeat copy', () => {
  it('gives the normalised repeat count on the delimiter step and an end marker', () => {
    const s = repeatCopyTask.sample(new Random(2), { minLength: 2, maxLength: 2, minRepeats: 3, maxRepeats: 3, width: 3 });
    expect(s.inputs).toHaveLength(2 + 1 + 6 + 1);
    expect(s.inputs[2]?.[3]).toBe(1);
    expect(s.inputs[2]?.[4]).toBe(0); // a single possible count normalises to 0
    expect(Array.from(s.targets[9] as Float32Array)).toEqual([0, 0, 0, 1]);
    expect(rows(Float32Array.from(s.targets.slice(3, 9).flatMap((r) => Array.from(r.subarray(0, 3)))), 3)).toEqual(
      [0, 1, 0, 1, 0, 1].map((i) => Array.from((s.inputs[i] as Float32Array).subarray(0, 3))),
    );
  });
});

describe('associative recall', () => {
  it('asks for the item after the query', () => {
    const s = associativeRecallTask.sample(new Random(5), { minItems: 4, maxItems: 4 });
    const query = s.info.query as number;
    const itemStart = (i: number) => i * 4 + 1;
    const answer = s.targets.slice(-3).map((r) => Array.from(r));
    const expected = [0, 1, 2].map((k) => Array.from((s.inputs[itemStart(query + 1) + k] as Float32Array).subarray(0, 6)));
    expect(answer).toEqual(expected);
    expect(s.scored.slice(-3)).toEqual([1, 1, 1]);
  });
});

describe('priority sort', () => {
  it('outputs the highest-priority vectors, highest first', () => {
    const s = prioritySortTask.sample(new Random(6), { inputCount: 5, outputCount: 3, width: 4 });
    const entries = s.inputs.slice(0, 5).map((r) => ({ bits: Array.from(r.subarray(0, 4)), priority: r[4] as number }));
    const expected = [...entries]
      .sort((a, b) => b.priority - a.priority)
      .slice(0, 3)
      .map((e) => e.bits);
    expect(s.targets.slice(-3).map((r) => Array.from(r))).toEqual(expected);
  });
});

describe('sequences from given vectors', () => {
  const bits = (...values: number[][]): Float32Array[] => values.map((v) => Float32Array.from(v));
  const asLists = (s: { inputs: Float32Array[]; targets: Float32Array[] }) => ({
    inputs: s.inputs.map((r) => Array.from(r)),
    targets: s.targets.map((r) => Array.from(r)),
  });

  it('builds exactly what the samplers build around the same random vectors', () => {
    // Each sampler draws its sizes, then its vectors, then calls the builder: replaying the draws
    // with the same seed gives the same vectors.
    const copy = copyTask.sample(new Random(5), { width: 3, minLength: 4, maxLength: 4 });
    expect(asLists(copySequence(copy.inputs.slice(0, 4).map((r) => r.slice(0, 3))))).toEqual(asLists(copy));
    const repeat = repeatCopyTask.sample(new Random(6), { width: 3 });
    const length = repeat.info.length as number;
    const rebuilt = repeatCopySequence(
      repeat.inputs.slice(0, length).map((r) => r.slice(0, 3)),
      repeat.info.repeats as number,
    );
    expect(asLists(rebuilt)).toEqual(asLists(repeat));
  });

  it('lays out a chosen copy, repeat copy and associative recall', () => {
    const copy = copySequence(bits([1, 0], [0, 1]));
    expect(copy.inputs.map((r) => Array.from(r))).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(copy.scored).toEqual([0, 0, 0, 1, 1]);
    const repeat = repeatCopySequence(bits([1, 1]), 3, { minRepeats: 1, maxRepeats: 5 });
    expect(repeat.inputs[1]?.[3]).toBeCloseTo(0); // 3 is the mean of 1..5
    expect(repeat.targets.map((r) => Array.from(r))).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [1, 1, 0],
      [1, 1, 0],
      [1, 1, 0],
      [0, 0, 1],
    ]);
    const recall = associativeRecallSequence([bits([1, 0]), bits([0, 1]), bits([1, 1])], 1);
    expect(recall.targets.filter((_, t) => recall.scored[t] === 1).map((r) => Array.from(r))).toEqual([[1, 1]]);
    expect(Array.from(recall.inputs[7] as Float32Array)).toEqual([0, 1, 0, 0]); // the query item
  });

  it('names what is wrong with the vectors, the count or the query', () => {
    expect(() => copySequence([])).toThrow(/copySequence: needs at least one vector/);
    expect(() => copySequence(bits([1, 0], [1]))).toThrow(/copySequence: vector 1 has 1 bits, vector 0 has 2/);
    expect(() => repeatCopySequence(bits([1]), 0)).toThrow(/repeatCopySequence.*repeats/);
    expect(() => associativeRecallSequence([bits([1]), bits([0])], 1)).toThrow(/query must be 0\.\.0/);
    expect(() => associativeRecallSequence([bits([1]), bits([0], [1])], 0)).toThrow(/item 1 has 2 vectors, item 0 has 1/);
  });
});

describe('curriculum', () => {
  it('raises the longest length only when the error is low, up to the ceiling', () => {
    expect(advanceCurriculum(2, 3, 20)).toBe(2);
    expect(advanceCurriculum(2, 0.1, 20)).toBe(4);
    expect(advanceCurriculum(20, 0.1, 20)).toBe(20);
    expect(curriculumOptions('copy', 6)).toEqual({ maxLength: 6 });
  });
});
