/**
 * Fuzzes the MemN2N model-file loader with the hostile classes of `@engram/tensor/testing`: every
 * config field and every vocabulary word replaced by each hostile value, hostile tensor names added,
 * bytes flipped and files cut. Each file either loads or is refused with an EngramError naming the
 * problem; Object.prototype is never touched.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vocabulary, parseBabi } from '@engram/datasets';
import { Random } from '@engram/tensor';
import { fuzzFileBytes, fuzzMetadataEntry } from '@engram/tensor/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { LmVocabulary } from '@engram/lm';
import {
  createMemnet,
  defaultMemnetConfig,
  memnetFromSafetensors,
  memnetLmConfig,
  memnetLmFromSafetensors,
  memnetLmToSafetensors,
  saveMemnet,
} from './index.js';

const examples = parseBabi('1 Mary moved to the bathroom.\n2 Where is Mary?\tbathroom\t1\n', 'story.txt');
const vocabulary = Vocabulary.fromExamples(examples);
const folder = mkdtempSync(join(tmpdir(), 'engram-memnet-fuzz-'));
let good = new Uint8Array();
beforeAll(async () => {
  const path = join(folder, 'model.safetensors');
  await saveMemnet(path, createMemnet(defaultMemnetConfig(vocabulary.size, { embeddingSize: 4, memorySize: 3, sentenceLength: 6 }), new Random(1)), vocabulary);
  good = new Uint8Array(readFileSync(path));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const load = (bytes: Uint8Array) => memnetFromSafetensors(bytes, 'model.safetensors');

describe('MemN2N model files, fuzzed', () => {
  for (const key of ['config', 'vocabulary'] as const)
    it(`a hostile value in any ${key} entry, with or without a hostile tensor name: loads, or one error naming it`, () =>
      fuzzMetadataEntry(fc, good, key, load));

  it('flipped bytes and cut files: loads, or one EngramError', () => fuzzFileBytes(fc, good, load));

  it('the language model: a hostile value in any config or vocabulary entry, with or without a hostile tensor name', async () => {
    const words = new LmVocabulary(['<unk>', '<eos>', 'a', 'b']);
    const lm = memnetLmToSafetensors(createMemnet(memnetLmConfig(words.size, { hops: 2, memorySize: 3, embeddingSize: 4 }), new Random(1)), words);
    for (const key of ['config', 'vocabulary'] as const)
      await fuzzMetadataEntry(fc, lm, key, (bytes) => memnetLmFromSafetensors(bytes, 'model.safetensors'), { numRuns: 300, seed: 9 });
  });
});
