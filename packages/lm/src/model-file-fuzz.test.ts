/**
 * Fuzzes the language-model file loader with the hostile classes of `@engram/tensor/testing`: every
 * config field and every vocabulary word replaced by each hostile value, hostile tensor names added;
 * the same for every field of a checkpoint's training state. Each file either loads or is refused with an EngramError naming the problem; Object.prototype is
 * never touched. (Flipped bytes and cut files: lm.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random, SGD, parameterList } from '@engram/tensor';
import { fuzzMetadataEntry } from '@engram/tensor/testing';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { LmVocabulary, createLm, freshTrainingState, initialLmState, lmFromSafetensors, lmToSafetensors, loadLmCheckpoint, saveLmCheckpoint } from './index.js';

const vocabulary = new LmVocabulary(['<unk>', '<eos>', 'a', 'b', 'c']);
const config = { vocabularySize: vocabulary.size, embeddingSize: 4, hiddenSize: 4, layers: 2, dropout: 0, tied: false, initScale: 0.1 };
const model = createLm(config, new Random(1));
const good = lmToSafetensors(model, vocabulary);
const folder = mkdtempSync(join(tmpdir(), 'engram-lm-fuzz-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const load = (bytes: Uint8Array) => lmFromSafetensors(bytes, 'model.safetensors');

describe('language-model files, fuzzed', () => {
  for (const key of ['config', 'vocabulary'] as const)
    it(`a hostile value in any ${key} entry, with or without a hostile tensor name: loads, or one error naming it`, () =>
      fuzzMetadataEntry(fc, good, key, load));

  it("a hostile value in any field of a checkpoint's training state: resumes, or one error naming it", async () => {
    const path = join(folder, 'checkpoint.safetensors');
    const snapshot = { training: freshTrainingState(1), carried: initialLmState(model, 2), optimizer: new SGD(parameterList(model.params), 1) };
    await saveLmCheckpoint(path, model, vocabulary, snapshot);
    const hostile = join(folder, 'hostile.safetensors');
    await fuzzMetadataEntry(
      fc,
      new Uint8Array(readFileSync(path)),
      'training',
      (bytes) => {
        writeFileSync(hostile, bytes);
        return loadLmCheckpoint(hostile, 2);
      },
      { numRuns: 300, seed: 9 },
    );
  });
});
